/**
 * Cancellation, one way everywhere: every wait of the library takes `{ signal?, timeoutMs? }`,
 * checked the same, armed the same (an abort fails the wait with the signal's reason, a timeout
 * with an Error whose code is `'ERR_KRING_TIMEOUT'`), and disarmed when the wait ends otherwise.
 * @packageDocumentation
 */
import { describe } from './validate';

/** What every cancellable wait takes. */
export interface CancelOptions {
  /** Aborting fails the wait with the signal's reason. */
  signal?: AbortSignal;
  /** Fails the wait after this many milliseconds with an Error whose code is `'ERR_KRING_TIMEOUT'`. */
  timeoutMs?: number;
}

/** The error a timed-out wait fails with: `code` `'ERR_KRING_TIMEOUT'`. @internal */
export function timeoutError(message: string): Error & { code: 'ERR_KRING_TIMEOUT' } {
  return Object.assign(new Error(message), { code: 'ERR_KRING_TIMEOUT' as const });
}

/**
 * The TypeError/RangeError for bad cancel options (null when they are good): `signal` an
 * AbortSignal, `timeoutMs` a number from 1 to 2^31-1 (setTimeout's limit).
 * @internal
 */
export function cancelOptionsError(o: unknown): TypeError | RangeError | null {
  if (o === null || typeof o !== 'object') return new TypeError(`options must be an object, got ${describe(o)}`);
  const { signal, timeoutMs } = o as CancelOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) return new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 0x7fffffff)) {
    return new RangeError(`timeoutMs must be a number of milliseconds from 1 to 2^31-1, got ${describe(timeoutMs)}`);
  }
  return null;
}

/** {@link cancelOptionsError}, thrown. @internal */
export function checkCancelOptions(o: unknown): void {
  const bad = cancelOptionsError(o);
  if (bad) throw bad;
}

/**
 * Arms a wait's cancellation: `fail` is called once, with the signal's reason on abort (also when
 * the signal is already aborted, on the next microtask) or with {@link timeoutError}(`timeoutText`
 * + " within N ms") after `timeoutMs`. Returns the disarm function (idempotent), which the wait
 * calls when it ends any other way.
 * @internal
 */
export function armCancel(o: CancelOptions, timeoutText: string, fail: (reason: unknown) => void): () => void {
  const { signal, timeoutMs } = o;
  let armed = true;
  const disarm = () => {
    if (!armed) return;
    armed = false;
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const fire = (reason: unknown) => {
    if (!armed) return;
    disarm();
    fail(reason);
  };
  const onAbort = () => fire(signal!.reason);
  const timer = timeoutMs === undefined ? null : setTimeout(() => fire(timeoutError(`${timeoutText} within ${timeoutMs} ms`)), timeoutMs);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) queueMicrotask(onAbort);
  return disarm;
}

/**
 * `promise`, cancellable: rejects with the abort reason or a timeout first if they come first
 * (then calls `onCancel`, which undoes what the wait started when it can). Bad options reject.
 * @internal
 */
export function cancellable<T>(promise: () => Promise<T>, o: CancelOptions, timeoutText: string, onCancel?: () => void): Promise<T> {
  const bad = cancelOptionsError(o);
  if (bad) return Promise.reject(bad);
  if (o.signal?.aborted) return Promise.reject(o.signal.reason);
  return new Promise<T>((resolve, reject) => {
    const disarm = armCancel(o, timeoutText, (reason) => {
      reject(reason);
      onCancel?.();
    });
    let p: Promise<T>;
    try {
      p = promise();
    } catch (e) {
      disarm();
      return reject(e);
    }
    p.then(
      (v) => {
        disarm();
        resolve(v);
      },
      (e) => {
        disarm();
        reject(e);
      },
    );
  });
}
