// The netlink ring simulator against docs/netlink-ring.md §6 (behaviours 1–28) and §8 (trimmed dumps).
import {
  NL_MMAP_HDRLEN,
  NL_MMAP_STATUS_COPY as COPY,
  NL_MMAP_STATUS_RESERVED as RESERVED,
  NL_MMAP_STATUS_SKIP as SKIP,
  NL_MMAP_STATUS_UNUSED as UNUSED,
  NL_MMAP_STATUS_VALID as VALID,
} from '../../src/constants';
import { decodeNlMmapHeader } from '../../src/layouts/nl-mmap';
import { NLM_F_MULTI, NLMSG_DONE } from '../../src/constants';
import { NetlinkRingKernel, NLMSG_GOODSIZE, SIM_ERRNO as E } from '../../src/testing/netlink-ring-kernel';

/** A netlink message: nlmsghdr (len, type, flags, seq, pid) then `payload` bytes of a pattern. */
function nlmsg(type: number, payload: number, seq = 1, flags = 0): Uint8Array {
  const b = new Uint8Array(16 + payload);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, b.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  for (let i = 16; i < b.length; i++) b[i] = (seq + i) & 0xff;
  return b;
}
const done = () => {
  const m = nlmsg(NLMSG_DONE, 4, 99, NLM_F_MULTI);
  new DataView(m.buffer).setInt32(16, 0, true);
  return m;
};
const g = (blockSize: number, blockCount: number, frameSize: number, frameCount: number) => ({ blockSize, blockCount, frameSize, frameCount });
/** A kernel with an RX ring of `frames` 2048-byte frames (2 per page-sized... 4096-byte block). */
function withRx(frames = 8, frameSize = 2048, opts = {}) {
  const k = new NetlinkRingKernel(opts);
  const perBlock = Math.floor(4096 / frameSize);
  expect(k.setsockopt('rx', g(4096, frames / perBlock, frameSize, frames))).toBe(0);
  const mem = k.mmap(k.memory.byteLength) as ArrayBuffer;
  const dv = new DataView(mem);
  const hdr = (i: number) => decodeNlMmapHeader(dv, k.rxFrame(i));
  const set = (i: number, status: number) => Atomics.store(new Int32Array(mem), k.rxFrame(i) >>> 2, status);
  const statuses = () => Array.from({ length: frames }, (_, i) => k.rxStatus(i));
  return { k, mem, dv, hdr, set, statuses };
}

describe('netlink ring simulator: setup (docs/netlink-ring.md §1)', () => {
  it("1. block_nr 0 and frame_nr 0 returns 0 even with no ring, and purges that ring's queue", () => {
    const k = new NetlinkRingKernel();
    expect(k.setsockopt('rx', g(0, 0, 0, 0))).toBe(0);
    k.sendCopy(nlmsg(16, 10));
    expect(k.queued).toBe(1);
    expect(k.setsockopt('rx', g(0, 0, 0, 0))).toBe(0);
    expect(k.queued).toBe(0);
  });
  it('2. block_nr 0 with frame_nr != 0 is EINVAL', () => {
    expect(new NetlinkRingKernel().setsockopt('rx', g(4096, 0, 2048, 2))).toBe(-E.EINVAL);
  });
  it.each([
    ['not a page multiple', 5000],
    ['zero', 0],
    ['>= 2^31', 2 ** 31],
  ])('3. block_size %s is EINVAL', (_n, bs) => {
    expect(new NetlinkRingKernel().setsockopt('rx', g(bs, 1, 2048, Math.floor(bs / 2048)))).toBe(-E.EINVAL);
  });
  it.each([
    ['< 24', 20, 204],
    ['not a multiple of 4', 2046, 2],
    ['> block_size', 8192, 0],
  ])('4. frame_size %s is EINVAL', (_n, fs, nr) => {
    expect(new NetlinkRingKernel().setsockopt('rx', g(4096, 1, fs, nr))).toBe(-E.EINVAL);
  });
  it('5. frame_nr must equal (block_size / frame_size) × block_nr in u32 arithmetic', () => {
    const k = new NetlinkRingKernel();
    expect(k.setsockopt('rx', g(4096, 2, 2048, 5))).toBe(-E.EINVAL);
    // 2 frames per block × 2^31 blocks wraps to 0 in 32 bits: the check passes with frame_nr 0 and
    // the allocation fails (ENOMEM); frame_nr 2^32 - 1 does not match the wrapped product (EINVAL).
    expect(k.setsockopt('rx', g(4096, 2 ** 31, 2048, 0))).toBe(-E.ENOMEM);
    expect(k.setsockopt('rx', g(4096, 2 ** 31, 2048, 2 ** 32 - 1))).toBe(-E.EINVAL);
  });
  it('6. a second RX request is EBUSY while a TX request still succeeds', () => {
    const k = new NetlinkRingKernel();
    expect(k.setsockopt('rx', g(4096, 1, 2048, 2))).toBe(0);
    expect(k.setsockopt('rx', g(4096, 1, 2048, 2))).toBe(-E.EBUSY);
    expect(k.setsockopt('tx', g(8192, 1, 4096, 2))).toBe(0);
  });
  it('7. any live mapping makes every ring setsockopt EBUSY, until munmap', () => {
    const k = new NetlinkRingKernel();
    k.setsockopt('rx', g(4096, 1, 2048, 2));
    expect(k.mmap(4096)).toBeInstanceOf(ArrayBuffer);
    expect(k.setsockopt('tx', g(4096, 1, 2048, 2))).toBe(-E.EBUSY);
    expect(k.setsockopt('rx', g(0, 0, 0, 0))).toBe(-E.EBUSY);
    k.munmap();
    expect(k.setsockopt('rx', g(0, 0, 0, 0))).toBe(0);
  });
  it('8. mmap: nonzero offset, wrong length or no ring is EINVAL; RX at 0, TX after it (TX at 0 alone)', () => {
    const k = new NetlinkRingKernel();
    expect(k.mmap(4096)).toBe(-E.EINVAL);
    k.setsockopt('tx', g(4096, 1, 2048, 2));
    expect(k.txFrame(0)).toBe(0);
    k.setsockopt('rx', g(8192, 1, 2048, 4));
    expect(k.mmap(8192 + 4096, 4096)).toBe(-E.EINVAL);
    expect(k.mmap(8192)).toBe(-E.EINVAL);
    expect(k.mmap(8192 + 4096)).toBeInstanceOf(ArrayBuffer);
    expect([k.rxFrame(0), k.rxFrame(3), k.txFrame(0), k.txFrame(1)]).toEqual([0, 6144, 8192, 10240]);
  });
  it('9. block 4096 and frame 1500: frame 2 is at 4096 (not 3000), and indices wrap to 0', () => {
    const k2 = new NetlinkRingKernel();
    expect(k2.setsockopt('rx', g(4096, 2, 1500, 4))).toBe(0);
    expect([0, 1, 2, 3].map((i) => k2.rxFrame(i))).toEqual([0, 1500, 4096, 5596]);
    k2.mmap(8192);
    for (let i = 0; i < 5; i++) {
      const r = k2.reserve(10).reservation!;
      k2.deliver(r, nlmsg(1, 0));
      if (i < 4) Atomics.store(new Int32Array(k2.memory), k2.rxFrame(r.frame) >>> 2, UNUSED);
    }
    expect(k2.rxHead).toBe(1); // 5 allocations on 4 frames: 0 1 2 3 0
  });
});

describe('netlink ring simulator: RX (docs/netlink-ring.md §2)', () => {
  it('10. a fitting in-ring message: head frame RESERVED then VALID with nm_len, group, creds; head advances by one', () => {
    const { k, hdr } = withRx();
    const { reservation } = k.reserve(40);
    expect(k.rxStatus(0)).toBe(RESERVED);
    expect(k.rxHead).toBe(1);
    k.deliver(reservation!, nlmsg(16, 24), { group: 3, pid: 42, uid: 1000, gid: 100 });
    expect(hdr(0)).toEqual({ status: VALID, len: 40, group: 3, pid: 42, uid: 1000, gid: 100 });
  });
  it('11. SKIP frames at head are stepped over by an in-ring message', () => {
    const { k, set, statuses } = withRx();
    set(0, SKIP);
    set(1, SKIP);
    expect(k.sendInRing(nlmsg(16, 4))).toBe('ring');
    expect(statuses().slice(0, 3)).toEqual([SKIP, SKIP, VALID]);
  });
  it('12. the same SKIP frames make a COPY-path message an overrun', () => {
    const { k, set } = withRx();
    set(0, SKIP);
    expect(k.sendCopy(nlmsg(16, 4))).toBe('dropped');
    expect(k.drops).toBe(1);
  });
  it('13. a message larger than frame_size - 24 from an in-ring producer becomes COPY with the full length; recv returns it', () => {
    const { k, hdr } = withRx();
    const big = nlmsg(16, 3000);
    expect(k.sendInRing(big, { pid: 7 })).toBe('copy');
    expect(hdr(0)).toMatchObject({ status: COPY, len: 3016, pid: 7 });
    const r = k.recv(65536) as { data: Uint8Array };
    expect(Buffer.compare(r.data, big)).toBe(0);
  });
  it('14. two COPY frames, then two recv(): messages come back in frame order', () => {
    const { k } = withRx();
    const a = nlmsg(16, 3000, 1);
    const b = nlmsg(16, 3000, 2);
    k.sendCopy(a);
    k.sendCopy(b);
    expect(Buffer.compare((k.recv(65536) as { data: Uint8Array }).data, a)).toBe(0);
    expect(Buffer.compare((k.recv(65536) as { data: Uint8Array }).data, b)).toBe(0);
  });
  it.each([
    ['VALID', VALID],
    ['RESERVED', RESERVED],
    ['COPY', COPY],
  ])('15. a %s head frame (ring full) drops the message, once ENOBUFS, POLLERR, ring unchanged', (_n, st) => {
    for (const noEnobufs of [false, true]) {
      const { k, set, statuses } = withRx(2, 2048, { noEnobufs });
      set(0, st);
      set(1, st);
      const before = statuses();
      expect(k.sendInRing(nlmsg(16, 4))).toBe('dropped');
      expect(k.sendInRing(nlmsg(16, 4))).toBe('dropped');
      expect(k.drops).toBe(2);
      expect(k.skErr).toBe(noEnobufs ? 0 : E.ENOBUFS);
      expect(k.poll().err).toBe(!noEnobufs);
      expect(statuses()).toEqual(before);
    }
  });
  it('16. after an overrun the next recv() fails with ENOBUFS, the following returns the queued COPY message', () => {
    const { k, set } = withRx(4);
    const m = nlmsg(16, 3000);
    k.sendCopy(m);
    set(1, VALID);
    k.sendCopy(nlmsg(16, 3000)); // head (1) is busy: overrun
    expect(k.recv(65536)).toBe(-E.ENOBUFS);
    expect(Buffer.compare((k.recv(65536) as { data: Uint8Array }).data, m)).toBe(0);
  });
  it('17. congestion: COPY-path messages are dropped, in-ring ones still arrive; an empty queue after recv() accepts again', () => {
    const { k, set } = withRx(8);
    k.sendCopy(nlmsg(16, 3000)); // frame 0 COPY, queued
    set(1, VALID);
    k.sendCopy(nlmsg(16, 3000)); // overrun: congested
    set(1, UNUSED);
    expect(k.congested).toBe(true);
    expect(k.sendCopy(nlmsg(16, 100))).toBe('dropped');
    expect(k.sendInRing(nlmsg(16, 100))).toBe('ring');
    expect(k.recv(65536)).toBe(-E.ENOBUFS);
    k.recv(65536); // empties the queue
    expect(k.congested).toBe(false);
    expect(k.sendCopy(nlmsg(16, 100))).toBe('copy');
  });
  it('18. a reserved message dropped by a socket filter leaves VALID with nm_len 0 and the old header fields', () => {
    const { k, set, hdr } = withRx(2);
    k.sendInRing(nlmsg(16, 4), { group: 5, pid: 9, uid: 8, gid: 7 });
    set(0, UNUSED);
    k.sendInRing(nlmsg(16, 4)); // frame 1
    set(1, UNUSED);
    const { reservation } = k.reserve(20); // frame 0 again
    k.dropReserved(reservation!);
    expect(hdr(0)).toEqual({ status: VALID, len: 0, group: 5, pid: 9, uid: 8, gid: 7 });
  });
  it('19. VALID at k+1 with RESERVED at k: poll() says POLLIN while the consumer must wait at k', () => {
    const { k, statuses } = withRx(4);
    const a = k.reserve(20).reservation!;
    const b = k.reserve(20).reservation!;
    k.deliver(b, nlmsg(16, 4));
    expect(statuses().slice(0, 2)).toEqual([RESERVED, VALID]);
    expect(k.poll().in).toBe(true);
    k.deliver(a, nlmsg(16, 4));
  });
  it('20. only SKIP, RESERVED or UNUSED frames and an empty queue: no POLLIN', () => {
    const { k, set } = withRx(4);
    set(0, SKIP);
    k.reserve(20);
    expect(k.poll()).toEqual({ in: false, out: true, err: false });
  });
  it('21. a released frame behind head is reused only after head wraps around to it', () => {
    const { k, set } = withRx(4);
    k.sendInRing(nlmsg(16, 4)); // frame 0
    k.sendInRing(nlmsg(16, 4)); // frame 1
    set(0, UNUSED); // released behind head (2)
    expect(k.sendInRing(nlmsg(16, 4))).toBe('ring');
    expect(k.rxHead).toBe(3);
    expect(k.rxStatus(0)).toBe(UNUSED);
    k.sendInRing(nlmsg(16, 4)); // frame 3
    expect(k.sendInRing(nlmsg(16, 4))).toBe('ring'); // wraps to 0
    expect(k.rxStatus(0)).toBe(VALID);
  });
});

describe('netlink ring simulator: TX (docs/netlink-ring.md §3)', () => {
  function withTx() {
    const k = new NetlinkRingKernel();
    k.setsockopt('tx', g(4096, 2, 2048, 4));
    const mem = k.mmap(8192) as ArrayBuffer;
    const dv = new DataView(mem);
    const put = (i: number, msg: Uint8Array | null, len = msg?.length ?? 0) => {
      const at = k.txFrame(i);
      if (msg) new Uint8Array(mem, at + NL_MMAP_HDRLEN, msg.length).set(msg);
      dv.setUint32(at + 4, len, true);
      Atomics.store(new Int32Array(mem), at >>> 2, VALID);
    };
    return { k, put };
  }
  it('22. VALID, VALID, UNUSED, VALID: two datagrams, both UNUSED, their total returned, the fourth left VALID', () => {
    const { k, put } = withTx();
    const sent: Uint8Array[] = [];
    put(0, nlmsg(16, 4));
    put(1, nlmsg(16, 8));
    put(3, nlmsg(16, 12));
    expect(k.sendTx((d) => (sent.push(d), 0))).toBe(20 + 24);
    expect(sent.map((d) => d.length)).toEqual([20, 24]);
    expect([0, 1, 2, 3].map((i) => k.txStatus(i))).toEqual([UNUSED, UNUSED, UNUSED, VALID]);
  });
  it('23. UNUSED at the TX head returns 0 and changes nothing', () => {
    const { k } = withTx();
    expect(k.sendTx()).toBe(0);
    expect(k.txHead).toBe(0);
  });
  it('24. nm_len > frame_size - 24 at the head is EINVAL and the frame stays VALID', () => {
    const { k, put } = withTx();
    put(0, null, 2048 - 24 + 1);
    expect(k.sendTx()).toBe(-E.EINVAL);
    expect(k.txStatus(0)).toBe(VALID);
    expect(k.sendTx()).toBe(-E.EINVAL); // and it blocks every later call (docs/netlink-ring.md §5.2)
  });
  it('25. an unknown destination: the first frame becomes UNUSED, its message is lost, ECONNREFUSED; later VALID frames stay', () => {
    const { k, put } = withTx();
    put(0, nlmsg(16, 4));
    put(1, nlmsg(16, 4));
    expect(k.sendTx(() => -E.ECONNREFUSED)).toBe(-E.ECONNREFUSED);
    expect([k.txStatus(0), k.txStatus(1)]).toEqual([UNUSED, VALID]);
  });
});

describe('netlink ring simulator: dumps (docs/netlink-ring.md §4)', () => {
  const records = (n: number, size = 200) => Array.from({ length: n }, (_, i) => nlmsg(24, size - 16, i + 1, NLM_F_MULTI));
  // 4096-byte frames: a payload of 4072 holds an NLMSG_GOODSIZE chunk, so dumps stay in the ring
  // (filling the whole payload: 20 records of 200 bytes).
  it('26. the first chunk comes with the request; more only in poll() while head and the off-by-one half-ring frame are UNUSED; DONE in its own frame', () => {
    const { k, set, statuses, hdr } = withRx(8, 4096);
    k.startDump(records(100), done());
    expect(statuses()).toEqual([VALID, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED]);
    expect(hdr(0).len).toBe(4000);
    // frame_max 7, half 3: head 1 checks 4, head 2 checks 5, head 3 checks 6, head 4 checks 7,
    // head 5 checks 8 - 7 = 1 (the kernel's off-by-one; 8 - 8 = 0 would be right): VALID, stop.
    k.poll();
    expect(statuses()).toEqual([VALID, VALID, VALID, VALID, VALID, UNUSED, UNUSED, UNUSED]);
    expect(k.dumping).toBe(true); // 100 records sent; NLMSG_DONE needs one more chunk call
    for (let i = 0; i < 5; i++) set(i, UNUSED);
    k.poll();
    expect(k.dumping).toBe(false);
    expect(hdr(5)).toMatchObject({ status: VALID, len: 20 }); // NLMSG_DONE, alone in its frame
    expect(statuses()[6]).toBe(UNUSED);
  });
  it('26b. a consumer that never polls or receives stalls the dump after the first chunk', () => {
    const { k, statuses } = withRx(8, 4096);
    k.startDump(records(100), done());
    expect(statuses().filter((s) => s === VALID).length).toBe(1);
    expect(k.dumping).toBe(true);
  });
  it('27. after a recv() with a 16 KiB buffer, dump chunks (now 16 KiB) arrive as COPY frames', () => {
    const { k, statuses, hdr } = withRx(8, 4096);
    expect(k.recv(16384)).toBe(-E.EAGAIN); // nothing queued, but max_recvmsg_len is now 16384
    expect(k.maxRecvmsgLen).toBe(16384);
    k.startDump(records(100), done());
    expect(statuses()[0]).toBe(COPY);
    expect(hdr(0).len).toBe(16200); // 81 records of 200 bytes fit a 16 KiB allocation
    expect((k.recv(16384) as { len: number }).len).toBe(16200);
  });
  it('28. a full ring: poll() produces no chunk and raises no error; recv() raises ENOBUFS with the dump still resumable', () => {
    const { k, set, statuses } = withRx(2, 4096);
    k.sendCopy(nlmsg(16, 100)); // frame 0: COPY
    k.startDump(records(100), done()); // frame 1: first chunk; the ring is now full
    expect(statuses()).toEqual([COPY, VALID]);
    expect(k.poll()).toEqual({ in: true, out: true, err: false });
    expect(k.drops).toBe(0);
    // recv (a small buffer: max_recvmsg_len stays below NLMSG_GOODSIZE) returns the COPY message and
    // tries the next chunk into the full ring (frame 0 is still COPY until released): ENOBUFS.
    expect((k.recv(2048) as { len: number }).len).toBe(116);
    expect(k.drops).toBe(1);
    expect(k.skErr).toBe(E.ENOBUFS);
    expect(k.dumping).toBe(true);
    set(0, UNUSED);
    set(1, UNUSED);
    k.poll(); // resumes: frame_max 1, half 0, so each poll step checks only the head
    expect(statuses()).toEqual([VALID, VALID]);
  });
});

describe('4.3/4.4 trimmed dumps (docs/netlink-ring.md §8)', () => {
  it.each([
    [false, NL_MMAP_HDRLEN],
    [true, 16384 - NLMSG_GOODSIZE],
  ])('trimmedDumps %s: an in-ring chunk starts at %i', (trimmedDumps, offset) => {
    const k = new NetlinkRingKernel({ trimmedDumps });
    expect(k.setsockopt('rx', g(16384, 2, 16384, 2))).toBe(0);
    const mem = k.mmap(32768) as ArrayBuffer;
    const recs = Array.from({ length: 5 }, (_, i) => nlmsg(24, 184, i + 1, NLM_F_MULTI));
    k.startDump(recs, done());
    const h = decodeNlMmapHeader(new DataView(mem), 0);
    expect(h).toMatchObject({ status: VALID, len: 1000 });
    const first = new DataView(mem, offset, 16);
    expect([first.getUint32(0, true), first.getUint32(8, true)]).toEqual([200, 1]); // nlmsg_len, seq of record 1
  });
});

describe('3.10 differences', () => {
  it('SKIP frames are never skipped by the in-ring allocator', () => {
    const { k, set } = withRx(4, 2048, { version: '3.10' });
    set(0, SKIP);
    expect(k.sendInRing(nlmsg(16, 4))).toBe('dropped');
  });
  it('POLLIN comes from the frame before head being in use', () => {
    const { k, set } = withRx(4, 2048, { version: '3.10' });
    k.sendInRing(nlmsg(16, 4));
    expect(k.poll().in).toBe(true);
    set(0, SKIP); // 4.5 would not count SKIP; 3.10 counts anything not UNUSED
    expect(k.poll().in).toBe(true);
  });
  it('a kernel without the ring answers ENOPROTOOPT, one without CAP_NET_ADMIN EPERM', () => {
    expect(new NetlinkRingKernel({ unsupported: true }).setsockopt('rx', g(4096, 1, 2048, 2))).toBe(-E.ENOPROTOOPT);
    expect(new NetlinkRingKernel({ noCapNetAdmin: true }).setsockopt('rx', g(4096, 1, 2048, 2))).toBe(-E.EPERM);
  });
});
