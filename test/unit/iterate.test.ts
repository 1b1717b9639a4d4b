// iterate(): an Observable as an async iterator, teardown included.
import { interval, Observable, of, throwError, concat } from 'rxjs';
import { iterate } from '../../src/iterate';

describe('iterate', () => {
  it('yields every value in order, then ends; values that come faster than the loop wait', async () => {
    const got: number[] = [];
    for await (const v of iterate(of(1, 2, 3))) got.push(v);
    expect(got).toEqual([1, 2, 3]);
  });

  it("throws the Observable's error after the values before it", async () => {
    const boom = new Error('boom');
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const v of iterate(
          concat(
            of(1, 2),
            throwError(() => boom),
          ),
        ))
          got.push(v);
      })(),
    ).rejects.toBe(boom);
    expect(got).toEqual([1, 2]);
  });

  it('leaving the loop early unsubscribes (the source is torn down)', async () => {
    let tornDown = false;
    const source = new Observable<number>((s) => {
      let i = 0;
      const t = setInterval(() => s.next(i++), 1);
      return () => {
        clearInterval(t);
        tornDown = true;
      };
    });
    const got: number[] = [];
    for await (const v of iterate(source)) {
      got.push(v);
      if (got.length === 3) break;
    }
    expect(got).toEqual([0, 1, 2]);
    expect(tornDown).toBe(true);
  });

  it('an AbortSignal ends the iteration with its reason, and unsubscribes', async () => {
    const ac = new AbortController();
    const reason = new Error('enough');
    const got: number[] = [];
    setTimeout(() => ac.abort(reason), 20);
    await expect(
      (async () => {
        for await (const v of iterate(interval(2), { signal: ac.signal })) got.push(v);
      })(),
    ).rejects.toBe(reason);
    expect(got.length).toBeGreaterThan(0);
    await expect(iterate(of(1), { signal: AbortSignal.abort(reason) }).next()).rejects.toBe(reason);
  });

  it('bad arguments are TypeErrors', async () => {
    await expect(iterate(null as unknown as Observable<number>).next()).rejects.toThrow(TypeError);
    await expect(iterate(of(1), { signal: 'x' as unknown as AbortSignal }).next()).rejects.toThrow(TypeError);
  });
});
