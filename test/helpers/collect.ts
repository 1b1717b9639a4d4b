import type { Observable, Subscription } from 'rxjs';
import { sleep } from './traffic';

/**
 * Subscribes, runs `send`, and collects until `n` values arrived (or `timeoutMs` passed), then waits
 * `settleMs` more so that extra values would be seen, and unsubscribes.
 */
export async function collect<T>(obs: Observable<T>, n: number, send: () => void, timeoutMs = 5000, settleMs = 100): Promise<T[]> {
  const got: T[] = [];
  let failure: unknown = null;
  const sub: Subscription = obs.subscribe({ next: (v) => got.push(v), error: (e) => (failure = e) });
  try {
    await sleep(10);
    send();
    const deadline = Date.now() + timeoutMs;
    while (got.length < n && Date.now() < deadline && !failure) await sleep(5);
    await sleep(settleMs);
  } finally {
    sub.unsubscribe();
  }
  if (failure) throw failure;
  return got;
}

/** Wall clock in ns, for timestamp windows. */
export const nowNs = () => BigInt(Date.now()) * 1_000_000n;
