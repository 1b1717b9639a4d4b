import { armCancel, cancellable, cancelOptionsError } from '../../src/cancel';

describe('cancellation (src/cancel.ts)', () => {
  it('an abort fails the wait once with the reason; disarm after it is harmless', async () => {
    const ac = new AbortController();
    const reasons: unknown[] = [];
    const disarm = armCancel({ signal: ac.signal, timeoutMs: 20 }, 'x', (r) => reasons.push(r));
    const reason = new Error('stop');
    ac.abort(reason);
    await new Promise((r) => setTimeout(r, 40)); // the timer was cleared: no second call
    disarm();
    expect(reasons).toEqual([reason]);
  });

  it('a timeout fails with ERR_KRING_TIMEOUT and the text; an already aborted signal fails on the next microtask', async () => {
    const got: unknown[] = [];
    armCancel({ timeoutMs: 5 }, 'the thing did not happen', (r) => got.push(r));
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual([Object.assign(new Error('the thing did not happen within 5 ms'), { code: 'ERR_KRING_TIMEOUT' })]);
    expect((got[0] as { code: string }).code).toBe('ERR_KRING_TIMEOUT');
    const early: unknown[] = [];
    armCancel({ signal: AbortSignal.abort('r') }, 'x', (r) => early.push(r));
    expect(early).toEqual([]);
    await Promise.resolve();
    expect(early).toEqual(['r']);
  });

  it('disarmed before anything happens, nothing fires and the listener is gone', async () => {
    const ac = new AbortController();
    const got: unknown[] = [];
    armCancel({ signal: ac.signal, timeoutMs: 5 }, 'x', (r) => got.push(r))();
    ac.abort();
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([]);
  });

  it('cancellable: the first of result, abort and timeout wins; onCancel runs only on a cancel', async () => {
    let cancelled = 0;
    await expect(
      cancellable(
        () => Promise.resolve(7),
        { timeoutMs: 1000 },
        'x',
        () => cancelled++,
      ),
    ).resolves.toBe(7);
    await expect(
      cancellable(
        () => Promise.reject(new RangeError('no')),
        {},
        'x',
        () => cancelled++,
      ),
    ).rejects.toEqual(new RangeError('no'));
    expect(cancelled).toBe(0);
    const never = () => new Promise<never>(() => undefined);
    await expect(cancellable(never, { timeoutMs: 5 }, 'slow', () => cancelled++)).rejects.toMatchObject({
      code: 'ERR_KRING_TIMEOUT',
      message: 'slow within 5 ms',
    });
    const reason = new Error('r');
    const ac = new AbortController();
    const p = cancellable(never, { signal: ac.signal }, 'x', () => cancelled++);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(cancelled).toBe(2);
    let started = false;
    await expect(cancellable(() => ((started = true), Promise.resolve(1)), { signal: AbortSignal.abort(reason) }, 'x')).rejects.toBe(reason);
    expect(started).toBe(false);
  });

  it('bad options are TypeError/RangeError with the value named', () => {
    expect(cancelOptionsError(null)).toEqual(new TypeError('options must be an object, got null'));
    expect(cancelOptionsError({ signal: {} })).toEqual(new TypeError('signal must be an AbortSignal, got object'));
    expect(cancelOptionsError({ timeoutMs: 0 })).toEqual(new RangeError('timeoutMs must be a number of milliseconds from 1 to 2^31-1, got 0'));
    expect(cancelOptionsError({ timeoutMs: 2 ** 31 })).toBeInstanceOf(RangeError);
    expect(cancelOptionsError({ timeoutMs: NaN })).toBeInstanceOf(RangeError);
    expect(cancelOptionsError({ timeoutMs: 1, signal: new AbortController().signal })).toBeNull();
  });
});
