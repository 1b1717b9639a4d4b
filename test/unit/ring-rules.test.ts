import { BLK_PLUS_PRIV, TPACKET_V1, TPACKET_V2, TPACKET_V3 } from '../../src/constants';
import { frameOffset, frameOffsets } from '../../src/ring/addressing';
import { frameBytes, planRing, validateGeometry } from '../../src/packet/ring-rules';
import type { RingGeometry } from '../../src/layouts/types';

const page = 4096;
const ok: RingGeometry = { blockSize: 4096, blockCount: 4, frameSize: 2048, frameCount: 8 };

describe('validateGeometry: each kernel rule rejects with its message', () => {
  const cases: [string, RingGeometry, number, RegExp][] = [
    ['tp_block_nr = 0', { ...ok, blockCount: 0 }, TPACKET_V2, /blockCount \(tp_block_nr\) is 0: it must be at least 1 \(0 asks the kernel to free the ring\)/],
    ['tp_block_size <= 0', { ...ok, blockSize: 0 }, TPACKET_V2, /blockSize \(tp_block_size\) is 0: the kernel requires it to be positive as a signed int/],
    [
      'tp_block_size > INT_MAX',
      { ...ok, blockSize: 2 ** 31 },
      TPACKET_V2,
      /is 2147483648: the kernel requires it to be positive as a signed int \(1\.\.2147483647\)/,
    ],
    ['block not page aligned', { ...ok, blockSize: 5000 }, TPACKET_V2, /blockSize \(tp_block_size\) 5000 must be a multiple of the page size \(4096\)/],
    [
      'frame smaller than tp_hdrlen',
      { ...ok, frameSize: 48, frameCount: 4 * 85 },
      TPACKET_V2,
      /frameSize \(tp_frame_size\) 48 must be at least the header length plus reserve \(tp_hdrlen 52 \+ 0 = 52\)/,
    ],
    [
      'frame not TPACKET_ALIGNMENT',
      { ...ok, frameSize: 2040, frameCount: 8 },
      TPACKET_V2,
      /frameSize \(tp_frame_size\) 2040 must be a multiple of TPACKET_ALIGNMENT \(16\)/,
    ],
    [
      'frame larger than block',
      { ...ok, frameSize: 8192, frameCount: 0 },
      TPACKET_V2,
      /frameSize 8192 is larger than blockSize 4096: a block must hold at least one frame/,
    ],
    [
      'frame count mismatch',
      { ...ok, frameCount: 9 },
      TPACKET_V2,
      /frameCount \(tp_frame_nr\) 9 must equal frames per block \(4096 \/ 2048 = 2\) × blockCount \(4\) = 8/,
    ],
    [
      'frames_per_block overflow',
      { blockSize: 2 ** 30, blockCount: 2 ** 27, frameSize: 64, frameCount: 0 },
      TPACKET_V2,
      /^16777216 frames per block × 134217728 blocks overflows the kernel's 32-bit frame count$/,
    ],
  ];
  it.each(cases)('%s', (_name, g, version, message) => {
    expect(() => validateGeometry(g, { version, pageSize: page })).toThrow(RangeError);
    expect(() => validateGeometry(g, { version, pageSize: page })).toThrow(message);
  });
  it('V3: the block must hold BLK_PLUS_PRIV(priv) plus one frame', () => {
    const g = { blockSize: 4096, blockCount: 2, frameSize: 2048, frameCount: 4 };
    expect(() => validateGeometry(g, { version: TPACKET_V3, pageSize: page, sizeofPriv: 4096 - 48 - 60 })).toThrow(
      /TPACKET_V3 blockSize 4096 must hold the block header and private area \(BLK_PLUS_PRIV\(3988\) = 4040\) plus one minimal frame \(68\)/,
    );
    expect(validateGeometry(g, { version: TPACKET_V3, pageSize: page, sizeofPriv: 0 })).toBe(2);
    expect(BLK_PLUS_PRIV(3988)).toBe(4040);
  });
  it('reserve raises the minimal frame', () => {
    expect(() => validateGeometry({ ...ok, frameSize: 64, frameCount: 4 * 64 }, { version: TPACKET_V1, pageSize: page, reserve: 16 })).toThrow(
      /at least the header length plus reserve \(tp_hdrlen 52 \+ 16 = 68\)/,
    );
  });
  it('non-integers are TypeErrors', () => {
    expect(() => validateGeometry({ ...ok, blockSize: 4096.5 }, { version: TPACKET_V2, pageSize: page })).toThrow(TypeError);
    expect(() => validateGeometry({ ...ok, frameCount: '8' as unknown as number }, { version: TPACKET_V2, pageSize: page })).toThrow(
      'frameCount must be an integer, got string',
    );
  });
  it('accepts a valid geometry and returns frames per block', () => {
    expect(validateGeometry(ok, { version: TPACKET_V2, pageSize: page })).toBe(2);
  });
});

describe('frame addressing', () => {
  it('leaves a gap at the end of each block when the block is not a multiple of the frame', () => {
    // 4096 / 1500-byte... frames must be 16-aligned: 1504 → 2 frames per block, 1088-byte gap.
    const g = { blockSize: 4096, blockCount: 3, frameSize: 1504, frameCount: 6 };
    expect(validateGeometry(g, { version: TPACKET_V2, pageSize: page })).toBe(2);
    expect(Array.from(frameOffsets(g))).toEqual([0, 1504, 4096, 5600, 8192, 9696]);
    expect(frameOffset(g, 3)).toBe(4096 + 1504);
    // the gap: [3008, 4096) of block 0 is never a frame
    for (const off of frameOffsets(g)) expect(off % 4096).toBeLessThanOrEqual(4096 - 1504);
  });
  it('packs frames with no gap when the block is a multiple of the frame', () => {
    const g = { blockSize: 8192, blockCount: 2, frameSize: 2048, frameCount: 8 };
    expect(Array.from(frameOffsets(g))).toEqual([0, 2048, 4096, 6144, 8192, 10240, 12288, 14336]);
  });
});

describe('planRing', () => {
  it('sizes frames from snaplen the way tpacket_rcv places them', () => {
    // V2 raw: netoff = TPACKET_ALIGN(52 + 16) = 80, macoff = 66, so 66 + 1514 rounded up to 16.
    expect(frameBytes(TPACKET_V2, 1514)).toBe(1584);
    expect(frameBytes(TPACKET_V3, 64)).toBe(152); // netoff 96, macoff 82, 82 + 64 = 146 → 8-aligned 152 (V3_ALIGNMENT)
  });
  it.each([TPACKET_V1, TPACKET_V2, TPACKET_V3])('version %i: bytes → a geometry the kernel accepts, at least as large as asked', (v) => {
    for (const bufferBytes of [4096, 65536, 1 << 20, 8 << 20, 64 << 20]) {
      for (const snaplen of [64, 1514, 9000, 65535]) {
        const g = planRing(v, { snaplen, bufferBytes }, page);
        expect(() => validateGeometry(g, { version: v, pageSize: page })).not.toThrow();
        expect(g.frameSize).toBeGreaterThanOrEqual(frameBytes(v, snaplen));
        expect(g.frameSize % 16).toBe(0);
        expect(g.blockSize * g.blockCount).toBeGreaterThanOrEqual(Math.min(bufferBytes, g.blockSize));
      }
    }
  });
  it('milliseconds of line rate: 100 kpps × 50 ms of 64-byte frames on V3', () => {
    const g = planRing(TPACKET_V3, { snaplen: 64, lineRatePps: 100_000, milliseconds: 50 }, page);
    // 5000 frames × 152 bytes = 760,000 bytes
    expect(g.blockSize * g.blockCount).toBeGreaterThanOrEqual(760_000);
    expect(g.blockSize * g.blockCount).toBeLessThan(760_000 + 2 * g.blockSize);
    expect(g.blockCount).toBeGreaterThanOrEqual(2);
  });
  it('V3: the default 4 MiB ring is 16 blocks of 256 KiB, so at a low rate it holds 16 block timeouts of traffic', () => {
    expect(planRing(TPACKET_V3, { snaplen: 1514, bufferBytes: 4 << 20 }, page)).toMatchObject({ blockSize: 256 << 10, blockCount: 16 });
    expect(planRing(TPACKET_V3, { snaplen: 1514, bufferBytes: 64 << 20 }, page)).toMatchObject({ blockSize: 1 << 20, blockCount: 64 });
  });
  it('V3 sized in milliseconds with its block timeout: one block per timeout of the pause, even when the bytes would need fewer', () => {
    // 100 kpps × 50 ms is 760,000 bytes; a 2 ms timeout needs 25 blocks: 16 would be the bytes' plan.
    const g = planRing(TPACKET_V3, { snaplen: 64, lineRatePps: 100_000, milliseconds: 50, blockTimeoutMs: 2 }, page);
    expect(g.blockCount).toBeGreaterThanOrEqual(25);
    expect(g.blockSize * g.blockCount).toBeGreaterThanOrEqual(760_000);
    // 1 kpps for a second: 152,000 bytes, but 500 timeouts of 2 ms: 500 one-page blocks.
    expect(planRing(TPACKET_V3, { snaplen: 64, lineRatePps: 1000, milliseconds: 1000, blockTimeoutMs: 2 }, page)).toMatchObject({
      blockSize: page,
      blockCount: 500,
    });
    // Without the timeout (or 0: the kernel's choice), bytes only.
    expect(planRing(TPACKET_V3, { snaplen: 64, lineRatePps: 1000, milliseconds: 1000 }, page).blockCount).toBeLessThan(500);
  });
  it('milliseconds on V2 gives at least that many frame slots', () => {
    const g = planRing(TPACKET_V2, { snaplen: 1514, lineRatePps: 10_000, milliseconds: 100 }, page);
    expect(g.frameCount).toBeGreaterThanOrEqual(1000);
  });
  it('rejects nonsense inputs', () => {
    expect(() => planRing(TPACKET_V3, { snaplen: 0, bufferBytes: 4096 }, page)).toThrow(RangeError);
    expect(() => planRing(TPACKET_V3, { snaplen: 64, lineRatePps: 0, milliseconds: 5 }, page)).toThrow(RangeError);
    expect(() => planRing(TPACKET_V3, { snaplen: 64.5, bufferBytes: 4096 }, page)).toThrow(TypeError);
  });
});
