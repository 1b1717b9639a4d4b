// Ring<Hdr> over plain memory, with the test playing the kernel's side of the status word.
import { TP_STATUS_COPY, TP_STATUS_KERNEL, TP_STATUS_USER } from '../../src/constants';
import { tpacketV2 } from '../../src/layouts/tpacket-v2';
import { tpacketV3Block } from '../../src/layouts/tpacket-v3';
import { frameOffsets } from '../../src/ring/addressing';
import { Ring } from '../../src/ring/ring';

function v2Ring(frames: number) {
  const g = { blockSize: 4096, blockCount: frames / 2, frameSize: 2048, frameCount: frames };
  const buf = new ArrayBuffer(g.blockSize * g.blockCount);
  const dv = new DataView(buf);
  const ring = new Ring(buf, frameOffsets(g), tpacketV2);
  const kernelFill = (i: number, flags = 0) => dv.setUint32(i * 2048, TP_STATUS_USER | flags, true);
  const statusOf = (i: number) => dv.getUint32(i * 2048, true);
  return { ring, kernelFill, statusOf };
}

describe('Ring<Hdr>', () => {
  it('takes consecutive user-ready slots from the head and stops at a kernel-owned one', () => {
    const { ring, kernelFill } = v2Ring(8);
    kernelFill(0);
    kernelFill(1, TP_STATUS_COPY);
    kernelFill(3); // not contiguous: 2 is still the kernel's
    const idx = new Uint32Array(8);
    const st = new Uint32Array(8);
    expect(ring.takeRx(8, idx, st)).toBe(2);
    expect(Array.from(idx.subarray(0, 2))).toEqual([0, 1]);
    expect(Array.from(st.subarray(0, 2))).toEqual([TP_STATUS_USER, TP_STATUS_USER | TP_STATUS_COPY]);
    expect(ring.head).toBe(2);
    expect(ring.heldCount).toBe(2);
    expect(ring.takeRx(8, idx)).toBe(0);
  });

  it('release hands the slot back with TP_STATUS_KERNEL, once', () => {
    const { ring, kernelFill, statusOf } = v2Ring(4);
    kernelFill(0);
    const idx = new Uint32Array(4);
    ring.takeRx(4, idx);
    ring.releaseRx(0);
    expect(statusOf(0)).toBe(TP_STATUS_KERNEL);
    expect(ring.heldCount).toBe(0);
    kernelFill(0); // the kernel reuses it...
    ring.releaseRx(0); // ...and a stale second release must not steal it back
    expect(statusOf(0)).toBe(TP_STATUS_USER);
  });

  it('out-of-order release: later slots keep flowing while an earlier one is held', () => {
    const { ring, kernelFill, statusOf } = v2Ring(4);
    const idx = new Uint32Array(4);
    kernelFill(0);
    kernelFill(1);
    expect(ring.takeRx(1, idx)).toBe(1); // hold slot 0
    expect(ring.takeRx(1, idx)).toBe(1);
    expect(idx[0]).toBe(1);
    ring.releaseRx(1); // release 1 before 0
    expect(statusOf(1)).toBe(TP_STATUS_KERNEL);
    expect(statusOf(0)).toBe(TP_STATUS_USER);
    kernelFill(2);
    kernelFill(3);
    expect(ring.takeRx(4, idx)).toBe(2);
    expect(Array.from(idx.subarray(0, 2))).toEqual([2, 3]);
  });

  it('wraps around and never re-delivers a slot user space still holds', () => {
    const { ring, kernelFill } = v2Ring(4);
    const idx = new Uint32Array(4);
    for (let i = 0; i < 4; i++) kernelFill(i);
    expect(ring.takeRx(4, idx)).toBe(4);
    expect(ring.head).toBe(0);
    ring.releaseRx(1);
    ring.releaseRx(2);
    ring.releaseRx(3);
    // slot 0 is still held with status USER: the head must wait on it
    expect(ring.rxReady()).toBe(false);
    expect(ring.takeRx(4, idx)).toBe(0);
    ring.releaseRx(0);
    kernelFill(0);
    expect(ring.takeRx(4, idx)).toBe(1);
    expect(idx[0]).toBe(0);
  });

  it('drives V3 blocks with the same code (status word at block_status)', () => {
    const buf = new ArrayBuffer(3 * 4096);
    const dv = new DataView(buf);
    const ring = new Ring(buf, Float64Array.of(0, 4096, 8192), tpacketV3Block);
    dv.setUint32(4096 + 8, TP_STATUS_USER, true);
    const idx = new Uint32Array(1);
    expect(ring.takeRx(1, idx)).toBe(0); // block 0 first, in ring order
    dv.setUint32(0 + 8, TP_STATUS_USER, true);
    expect(ring.takeRx(1, idx)).toBe(1);
    expect(idx[0]).toBe(0);
    expect(ring.takeRx(3, idx)).toBe(1);
    expect(idx[0]).toBe(1);
    ring.releaseRx(0);
    expect(dv.getUint32(8, true)).toBe(TP_STATUS_KERNEL);
  });

  it.each(['kernel', 'same-thread'] as const)('every access throws once the mapping is detached (%s ordering)', (ordering) => {
    const buf = new ArrayBuffer(4096);
    const ring = new Ring(buf, Float64Array.of(0, 2048), tpacketV2, ordering);
    structuredClone(buf, { transfer: [buf] }); // detaches buf, as krMunmap does
    expect(() => ring.status(1)).toThrow(TypeError);
    expect(() => ring.setStatus(1, TP_STATUS_KERNEL)).toThrow(TypeError);
  });

  it("a 'same-thread' ring reads and writes the very status words the other side sees", () => {
    const buf = new ArrayBuffer(4096);
    const dv = new DataView(buf);
    const ring = new Ring(buf, Float64Array.of(0, 2048), tpacketV2, 'same-thread');
    dv.setUint32(2048, TP_STATUS_USER | TP_STATUS_COPY, true);
    expect([ring.status(0), ring.status(1)]).toEqual([0, TP_STATUS_USER | TP_STATUS_COPY]);
    const out = new Uint32Array(2);
    expect(ring.takeRx(2, out)).toBe(0); // slot 0 is the kernel's: the head waits
    dv.setUint32(0, TP_STATUS_USER, true);
    expect([ring.takeRx(2, out), ...out]).toEqual([2, 0, 1]);
    ring.releaseRx(1);
    expect([dv.getUint32(0, true), dv.getUint32(2048, true)]).toEqual([TP_STATUS_USER, TP_STATUS_KERNEL]);
  });
});
