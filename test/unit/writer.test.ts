// RingWriter (fill then flush) on the simulated kernel's TX ring, the writer the emulated ring uses too.
import { NL_MMAP_HDRLEN, NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_VALID } from '../../src/constants';
import { NL_MMAP_HDR, nlMmap } from '../../src/layouts/nl-mmap';
import { frameOffsets } from '../../src/ring/addressing';
import { Ring } from '../../src/ring/ring';
import { RingWriter } from '../../src/ring/writer';
import { NetlinkRingKernel } from '../../src/testing/netlink-ring-kernel';

describe('RingWriter on the simulated kernel TX ring (the writer the emulated ring uses too)', () => {
  function setup() {
    const k = new NetlinkRingKernel();
    const geometry = { blockSize: 4096, blockCount: 2, frameSize: 2048, frameCount: 4 };
    expect(k.setsockopt('tx', geometry)).toBe(0);
    const mem = k.mmap(8192) as ArrayBuffer;
    const ring = new Ring(mem, frameOffsets(geometry), nlMmap);
    const sent: Uint8Array[] = [];
    const writer = new RingWriter({
      ring,
      buffer: mem,
      payloadOffset: NL_MMAP_HDRLEN,
      capacity: 2048 - NL_MMAP_HDRLEN,
      writeLength: (dv, at, len) => dv.setUint32(at + NL_MMAP_HDR.nm_len, len, true),
      kick: () => {
        const before = sent.length;
        const r = k.sendTx((d) => (sent.push(d), 0));
        expect(r).toBeGreaterThanOrEqual(0);
        return sent.length - before;
      },
    });
    return { k, ring, writer, sent };
  }
  const msg = (seq: number, n = 20) => Uint8Array.from({ length: n }, (_, i) => (seq * 31 + i) & 0xff);
  it('fills VALID frames in ring order and one kick sends them all, byte-exact', () => {
    const { k, writer, sent } = setup();
    for (let i = 0; i < 3; i++) expect(writer.tryWrite(msg(i, 20 + i))).toBe(true);
    expect([0, 1, 2, 3].map((i) => k.txStatus(i))).toEqual([NL_MMAP_STATUS_VALID, NL_MMAP_STATUS_VALID, NL_MMAP_STATUS_VALID, NL_MMAP_STATUS_UNUSED]);
    expect(writer.flush()).toBe(3);
    expect(sent.map((d) => Buffer.from(d).toString('hex'))).toEqual([0, 1, 2].map((i) => Buffer.from(msg(i, 20 + i)).toString('hex')));
    expect(k.txHead).toBe(3);
  });
  it('a full ring refuses writes until a flush frees it; writeAll flushes in between', async () => {
    const { writer, sent } = setup();
    for (let i = 0; i < 4; i++) writer.tryWrite(msg(i));
    expect(writer.tryWrite(msg(4))).toBe(false);
    expect(await writer.writeAll([msg(4), msg(5), msg(6), msg(7), msg(8)])).toBe(9);
    expect(sent.length).toBe(9);
    expect(sent.map((d) => d[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((s) => (s * 31) & 0xff));
  });
  it('refuses a payload larger than a frame before touching the ring', () => {
    const { writer, ring } = setup();
    expect(() => writer.tryWrite(new Uint8Array(2048))).toThrow(RangeError);
    expect(ring.txHead).toBe(0);
  });
  it('tryWriteWith fills the slot in place; a fill that throws leaves the slot free', () => {
    const { writer, ring, sent } = setup();
    expect(writer.tryWriteWith(5, (view) => view.set([1, 2, 3, 4, 5]))).toBe(true);
    expect(() =>
      writer.tryWriteWith(5, () => {
        throw new Error('fill failed');
      }),
    ).toThrow('fill failed');
    expect(ring.txHead).toBe(1);
    expect(writer.pending).toBe(1);
    expect(writer.tryWriteWith(3, (view) => view.set([9, 9, 9]))).toBe(true);
    expect(writer.flush()).toBe(2);
    expect(sent.map((d) => Buffer.from(d).toString('hex'))).toEqual(['0102030405', '090909']);
    expect(() => writer.tryWriteWith(2048, () => {})).toThrow(RangeError);
  });
});
