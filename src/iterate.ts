/**
 * {@link iterate}: any of kring's Observables as an async iterator, for `for await` consumers.
 * @packageDocumentation
 */
import type { Observable } from 'rxjs/internal/Observable';

/**
 * Iterates an Observable: subscribes when the iteration starts, yields every value in order (values
 * that arrive faster than the loop takes them wait in memory), ends when the Observable completes,
 * throws its error. Leaving the loop early (`break`, `return`, a throw) unsubscribes, which for
 * kring's cold Observables stops the dump or the reading and closes what they opened. `signal`
 * aborts: the iteration throws the signal's reason and unsubscribes.
 *
 * For batches of zero-copy views (`PacketSocket.batches()`), prefer the socket's own async
 * iterator: it keeps a batch's lease until the next step, which this generic one cannot.
 * @throws TypeError when `source` is not an Observable or `signal` not an AbortSignal
 */
export async function* iterate<T>(source: Observable<T>, options: { signal?: AbortSignal } = {}): AsyncGenerator<T, void, undefined> {
  if (source === null || typeof source !== 'object' || typeof (source as { subscribe?: unknown }).subscribe !== 'function') {
    throw new TypeError('iterate() takes an Observable');
  }
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  signal?.throwIfAborted();
  const queue: T[] = [];
  let head = 0;
  let done = false;
  let failed = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onAbort = () => {
    failed = true;
    failure = signal!.reason;
    poke();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const sub = source.subscribe({
    next: (v) => {
      queue.push(v);
      poke();
    },
    error: (e) => {
      failed = true;
      failure = e;
      poke();
    },
    complete: () => {
      done = true;
      poke();
    },
  });
  try {
    for (;;) {
      if (failed && (signal?.aborted || head === queue.length)) throw failure;
      if (head < queue.length) {
        const v = queue[head];
        queue[head++] = undefined as T; // let a yielded value go
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        yield v;
        continue;
      }
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    sub.unsubscribe();
  }
}
