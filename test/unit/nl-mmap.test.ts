// nl_mmap_hdr on the generic Ring<Hdr>, against hand-built bytes and against the kernel simulator.
import { NL_MMAP_HDRLEN, NL_MMAP_STATUS_COPY, NL_MMAP_STATUS_SKIP, NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_VALID } from '../../src/constants';
import {
  checkNlMmapReq,
  decodeNlMmapHeader,
  encodeNlMmapHeader,
  encodeNlMmapReq,
  NL_MMAP_HDR,
  nlMmap,
  validateNlMmapGeometry,
} from '../../src/layouts/nl-mmap';
import { frameOffsets } from '../../src/ring/addressing';
import { Ring } from '../../src/ring/ring';
import { NetlinkRingKernel } from '../../src/testing/netlink-ring-kernel';

describe('nl_mmap_hdr layout', () => {
  it('matches the uapi: six u32, NL_MMAP_HDRLEN 24', () => {
    expect(NL_MMAP_HDR).toEqual({ nm_status: 0, nm_len: 4, nm_group: 8, nm_pid: 12, nm_uid: 16, nm_gid: 20 });
    expect(NL_MMAP_HDRLEN).toBe(24);
  });
  it('decodes hand-built bytes and encodes the same bytes back', () => {
    const bytes = Uint8Array.from([2, 0, 0, 0, 36, 0, 0, 0, 5, 0, 0, 0, 0x39, 0x30, 0, 0, 0xe8, 0x03, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const h = decodeNlMmapHeader(new DataView(bytes.buffer), 0);
    expect(h).toEqual({ status: NL_MMAP_STATUS_VALID, len: 36, group: 5, pid: 12345, uid: 1000, gid: 4294967295 });
    const out = new Uint8Array(24);
    out[0] = 2;
    encodeNlMmapHeader(new DataView(out.buffer), 0, h);
    expect(Array.from(out)).toEqual(Array.from(bytes));
    expect(Array.from(encodeNlMmapReq({ blockSize: 4096, blockCount: 2, frameSize: 2048, frameCount: 4 }))).toEqual([
      0, 16, 0, 0, 2, 0, 0, 0, 0, 8, 0, 0, 4, 0, 0, 0,
    ]);
  });
  it('readiness per direction', () => {
    expect([0, 1, 2, 3, 4].map((s) => nlMmap.rxUserReady(s))).toEqual([false, false, true, true, false]);
    expect([0, 1, 2, 3, 4].map((s) => nlMmap.txUserReady!(s))).toEqual([true, false, false, false, false]);
    expect([nlMmap.rxKernelStatus, nlMmap.rxHeldStatus, nlMmap.txKernelStatus]).toEqual([NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_SKIP, NL_MMAP_STATUS_VALID]);
  });
});

describe('netlink ring geometry (docs/netlink-ring.md §1.2, in the kernel order)', () => {
  const page = 4096;
  it.each([
    [{ blockSize: 0, blockCount: 1, frameSize: 2048, frameCount: 0 }, /nm_block_size 0 must be positive as a signed int/],
    [{ blockSize: 6000, blockCount: 1, frameSize: 2048, frameCount: 2 }, /nm_block_size 6000 must be a multiple of the page size \(4096\)/],
    [{ blockSize: 4096, blockCount: 1, frameSize: 16, frameCount: 256 }, /nm_frame_size 16 must be at least NL_MMAP_HDRLEN \(24\)/],
    [{ blockSize: 4096, blockCount: 1, frameSize: 2046, frameCount: 2 }, /nm_frame_size 2046 must be a multiple of NL_MMAP_MSG_ALIGNMENT \(4\)/],
    [{ blockSize: 4096, blockCount: 1, frameSize: 8192, frameCount: 0 }, /nm_frame_size 8192 is larger than nm_block_size 4096/],
    [
      { blockSize: 4096, blockCount: 3, frameSize: 1500, frameCount: 9 },
      /nm_frame_nr 9 must equal frames per block \(4096 \/ 1500 = 2\) × nm_block_nr \(3\), computed in 32 bits \(6\)/,
    ],
  ])('rejects %o', (geo, msg) => {
    expect(() => validateNlMmapGeometry(geo, page)).toThrow(RangeError);
    expect(() => validateNlMmapGeometry(geo, page)).toThrow(msg);
    expect(checkNlMmapReq(geo, page).errno).toBe(22);
  });
  it('a teardown is valid only with frame_nr 0, and is not a geometry', () => {
    expect(checkNlMmapReq({ blockSize: 0, blockCount: 0, frameSize: 0, frameCount: 0 }, page).errno).toBe(0);
    expect(checkNlMmapReq({ blockSize: 0, blockCount: 0, frameSize: 0, frameCount: 1 }, page).errno).toBe(22);
    expect(() => validateNlMmapGeometry({ blockSize: 0, blockCount: 0, frameSize: 0, frameCount: 0 }, page)).toThrow(/tears a ring down/);
  });
  it('frames use the block formula: block 4096, frame 1500 puts frame 2 at 4096', () => {
    expect(Array.from(frameOffsets({ blockSize: 4096, blockCount: 2, frameSize: 1500, frameCount: 4 }))).toEqual([0, 1500, 4096, 5596]);
  });
});

describe('Ring<nl_mmap_hdr> consuming the simulated kernel ring', () => {
  function setup() {
    const k = new NetlinkRingKernel();
    const geometry = { blockSize: 4096, blockCount: 2, frameSize: 2048, frameCount: 4 };
    expect(k.setsockopt('rx', geometry)).toBe(0);
    const mem = k.mmap(8192) as ArrayBuffer;
    const ring = new Ring(mem, frameOffsets(geometry), nlMmap);
    const msg = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
    return { k, ring, msg, idx: new Uint32Array(4), st: new Uint32Array(4) };
  }
  it('takes VALID and COPY frames in order and stops at RESERVED (wait at k even when k+1 is VALID)', () => {
    const { k, ring, msg, idx, st } = setup();
    k.sendInRing(msg(40)); // 0 VALID
    k.sendCopy(msg(40)); // 1 COPY
    const r = k.reserve(40).reservation!; // 2 RESERVED
    k.sendInRing(msg(40)); // 3 VALID
    expect(ring.takeRx(4, idx, st)).toBe(2);
    expect(Array.from(st.subarray(0, 2))).toEqual([NL_MMAP_STATUS_VALID, NL_MMAP_STATUS_COPY]);
    expect(ring.takeRx(4, idx, st)).toBe(0); // frame 2 still RESERVED
    k.deliver(r, msg(40));
    expect(ring.takeRx(4, idx, st)).toBe(2);
    expect(Array.from(idx.subarray(0, 2))).toEqual([2, 3]);
  });
  it('a parked (held) frame becomes SKIP, the kernel steps over it, release makes it UNUSED', () => {
    const { k, ring, msg, idx } = setup();
    k.sendInRing(msg(40)); // frame 0
    ring.takeRx(4, idx);
    ring.parkRx(0);
    expect(k.rxStatus(0)).toBe(NL_MMAP_STATUS_SKIP);
    for (let i = 0; i < 3; i++) k.sendInRing(msg(40)); // frames 1, 2, 3
    expect(ring.takeRx(4, idx)).toBe(3);
    for (const i of [1, 2, 3]) ring.releaseRx(i);
    expect(k.sendInRing(msg(40))).toBe('ring'); // head wraps to 0 (SKIP), steps over it to 1
    expect([k.rxStatus(0), k.rxStatus(1)]).toEqual([NL_MMAP_STATUS_SKIP, NL_MMAP_STATUS_VALID]);
    ring.releaseRx(0);
    expect(k.rxStatus(0)).toBe(NL_MMAP_STATUS_UNUSED);
  });
});
