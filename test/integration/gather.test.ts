// krGather (native/gather.cc): the copy frames() makes of a run of frames, into pooled stores.
// Exact bytes against the test's own, its misuse, and the pool's promises (a live store is never
// reused; collected ones come back; a terminated worker's come back) in a child process.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { GATHER_CHUNK_BYTES, native } from '../../src/native';
import { thrown } from '../helpers/thrown';

const source = new ArrayBuffer(3 * GATHER_CHUNK_BYTES);
const bytes = new Uint8Array(source);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 13 + (i >>> 9)) & 0xff;

describe('krGather', () => {
  it('concatenates the spans, byte-exact, in order', () => {
    const starts = Float64Array.of(100, 7, 5000, 5000, 131000);
    const lens = Uint32Array.of(60, 1, 1500, 0, 72);
    const want = Buffer.concat([...starts].map((s, i) => Buffer.from(source, s, lens[i])));
    const got = native.krGather(source, starts, lens);
    expect(got.byteLength).toBe(60 + 1 + 1500 + 0 + 72);
    expect(Buffer.from(got).equals(want)).toBe(true);
  });
  it('copies a run larger than a pooled chunk into a store of its own size', () => {
    const got = native.krGather(source, Float64Array.of(10, 20), Uint32Array.of(GATHER_CHUNK_BYTES, 40000));
    expect(got.byteLength).toBe(GATHER_CHUNK_BYTES + 40000);
    expect(Buffer.from(got).equals(Buffer.concat([Buffer.from(source, 10, GATHER_CHUNK_BYTES), Buffer.from(source, 20, 40000)]))).toBe(true);
  });
  it('an empty run is an empty store', () => {
    expect(native.krGather(source, new Float64Array(0), new Uint32Array(0)).byteLength).toBe(0);
  });
  it('a span outside the source, or arrays of different lengths, is a RangeError', () => {
    const outside = { name: 'RangeError', message: 'krGather: a span lies outside the source' };
    expect(thrown(() => native.krGather(source, Float64Array.of(source.byteLength - 10), Uint32Array.of(11)))).toEqual(outside);
    expect(thrown(() => native.krGather(source, Float64Array.of(-1), Uint32Array.of(1)))).toEqual(outside);
    expect(thrown(() => native.krGather(source, Float64Array.of(NaN), Uint32Array.of(1)))).toEqual(outside);
    expect(thrown(() => native.krGather(source, Float64Array.of(1.5), Uint32Array.of(1)))).toEqual(outside);
    expect(thrown(() => native.krGather(source, Float64Array.of(0, 1), Uint32Array.of(1)))).toEqual({
      name: 'RangeError',
      message: 'krGather: starts and lengths differ in length',
    });
    // The last byte of the source is inside.
    expect(new Uint8Array(native.krGather(source, Float64Array.of(source.byteLength - 1), Uint32Array.of(1)))[0]).toBe(bytes[bytes.length - 1]);
  });
  it('wrong argument types are TypeErrors; a detached source (a closed ring) too', () => {
    const types = { name: 'TypeError', message: 'krGather: starts must be a Float64Array and lengths a Uint32Array' };
    expect(thrown(() => native.krGather(source, new Float32Array(1) as unknown as Float64Array, Uint32Array.of(1)))).toEqual(types);
    expect(thrown(() => native.krGather(source, Float64Array.of(0), new Int32Array(1) as unknown as Uint32Array))).toEqual(types);
    expect(thrown(() => native.krGather(new Uint8Array(4) as unknown as ArrayBuffer, Float64Array.of(0), Uint32Array.of(1))).name).toBe('TypeError');
    const gone = new ArrayBuffer(64);
    structuredClone(gone, { transfer: [gone] });
    expect(thrown(() => native.krGather(gone, Float64Array.of(0), Uint32Array.of(1)))).toEqual({
      name: 'TypeError',
      message: 'krGather: the source was detached (the ring is closed)',
    });
  });
  it('pooled stores: a live one keeps its bytes through churn, collected ones and a terminated worker’s come back, unneeded ones are unmapped', () => {
    const out = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', join(__dirname, '..', 'fixtures', 'gather-pool.js')], { encoding: 'utf8', timeout: 60_000 }),
    );
    expect(out).toEqual({
      keptLength: 40 * 1500,
      churnWrong: 0,
      keptIntact: true,
      allBackButKept: true,
      slabsAfterChurn: expect.any(Number),
      workerHeld: 64,
      afterWorker: 0,
      burstSlabs: expect.any(Number),
      slabsAfterFirstInterval: expect.any(Number),
      slabsAfterSecondInterval: expect.any(Number),
    });
    expect(out.burstSlabs).toBeGreaterThanOrEqual(50);
    expect(out.slabsAfterFirstInterval).toBe(out.burstSlabs);
    // 16 MiB kept (16 slabs), plus the slab of the kept store and one partly used.
    expect(out.slabsAfterSecondInterval).toBeLessThanOrEqual(18);
    // 4,000 stores were made; the pool kept only what was live between collections (200 at a time).
    expect(out.slabsAfterChurn).toBeLessThanOrEqual(Math.ceil(201 / 16) + 1);
  });
});
