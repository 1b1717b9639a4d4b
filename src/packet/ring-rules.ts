/**
 * AF_PACKET's ring rules: `packet_set_ring()`'s validation (net/packet/af_packet.c at v6.18, in
 * the same order, so a geometry kring accepts is one the kernel accepts, and a rejected one fails
 * here with a sentence naming the rule instead of a bare EINVAL from setsockopt), the frame sizes
 * `tpacket_rcv()` uses, and a sizing calculator.
 * @packageDocumentation
 */
import {
  BLK_PLUS_PRIV,
  ETH_HLEN,
  INT_MAX,
  TPACKET2_HDRLEN,
  TPACKET3_HDRLEN,
  TPACKET_ALIGN,
  TPACKET_ALIGNMENT,
  TPACKET_HDRLEN,
  TPACKET_V1,
  TPACKET_V2,
  TPACKET_V3,
  UINT_MAX,
  V3_ALIGNMENT,
} from '../constants';
import type { RingGeometry } from '../layouts/types';
import { checkMappable } from '../ring/addressing';

/** The inputs to validation beyond the geometry itself. */
export interface GeometryContext {
  /** `TPACKET_V1`, `TPACKET_V2` or `TPACKET_V3`. */
  version: number;
  /** The system page size. */
  pageSize: number;
  /** `PACKET_RESERVE` headroom, default 0. */
  reserve?: number;
  /** V3 `tp_sizeof_priv`, default 0. */
  sizeofPriv?: number;
}

/** `tp_hdrlen` for a TPACKET version, as `packet_set_ring()` sets it. */
export function tpacketHdrLen(version: number): number {
  switch (version) {
    case TPACKET_V1:
      return TPACKET_HDRLEN;
    case TPACKET_V2:
      return TPACKET2_HDRLEN;
    case TPACKET_V3:
      return TPACKET3_HDRLEN;
    default:
      throw new RangeError(`unknown TPACKET version ${version}: expected TPACKET_V1 (0), TPACKET_V2 (1) or TPACKET_V3 (2)`);
  }
}

function requireInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

/**
 * Checks a geometry against the kernel's rules, in the kernel's order.
 * @returns frames per block (`tp_block_size / tp_frame_size`)
 * @throws TypeError when a field is not an integer
 * @throws RangeError naming the first rule broken and the numbers involved
 */
export function validateGeometry(g: RingGeometry, ctx: GeometryContext): number {
  const blockSize = requireInteger('blockSize', g.blockSize);
  const blockCount = requireInteger('blockCount', g.blockCount);
  const frameSize = requireInteger('frameSize', g.frameSize);
  const frameCount = requireInteger('frameCount', g.frameCount);
  const reserve = ctx.reserve ?? 0;
  const sizeofPriv = ctx.sizeofPriv ?? 0;
  const hdrLen = tpacketHdrLen(ctx.version);

  if (blockCount < 1 || blockCount > UINT_MAX) {
    throw new RangeError(`blockCount (tp_block_nr) is ${blockCount}: it must be at least 1 (0 asks the kernel to free the ring) and fit in 32 bits`);
  }
  if (blockSize <= 0 || blockSize > INT_MAX) {
    throw new RangeError(`blockSize (tp_block_size) is ${blockSize}: the kernel requires it to be positive as a signed int (1..${INT_MAX})`);
  }
  if (blockSize % ctx.pageSize !== 0) {
    throw new RangeError(`blockSize (tp_block_size) ${blockSize} must be a multiple of the page size (${ctx.pageSize})`);
  }
  const minFrame = hdrLen + reserve;
  if (ctx.version >= TPACKET_V3 && blockSize < BLK_PLUS_PRIV(sizeofPriv) + minFrame) {
    throw new RangeError(
      `TPACKET_V3 blockSize ${blockSize} must hold the block header and private area (BLK_PLUS_PRIV(${sizeofPriv}) = ${BLK_PLUS_PRIV(sizeofPriv)}) plus one minimal frame (${minFrame})`,
    );
  }
  if (frameSize < minFrame) {
    throw new RangeError(
      `frameSize (tp_frame_size) ${frameSize} must be at least the header length plus reserve (tp_hdrlen ${hdrLen} + ${reserve} = ${minFrame})`,
    );
  }
  if (frameSize % TPACKET_ALIGNMENT !== 0) {
    throw new RangeError(`frameSize (tp_frame_size) ${frameSize} must be a multiple of TPACKET_ALIGNMENT (${TPACKET_ALIGNMENT})`);
  }
  const framesPerBlock = Math.floor(blockSize / frameSize);
  if (framesPerBlock === 0) {
    throw new RangeError(`frameSize ${frameSize} is larger than blockSize ${blockSize}: a block must hold at least one frame`);
  }
  if (framesPerBlock > Math.floor(UINT_MAX / blockCount)) {
    throw new RangeError(`${framesPerBlock} frames per block × ${blockCount} blocks overflows the kernel's 32-bit frame count`);
  }
  if (framesPerBlock * blockCount !== frameCount) {
    throw new RangeError(
      `frameCount (tp_frame_nr) ${frameCount} must equal frames per block (${blockSize} / ${frameSize} = ${framesPerBlock}) × blockCount (${blockCount}) = ${framesPerBlock * blockCount}`,
    );
  }
  checkMappable(blockSize * blockCount);
  return framesPerBlock;
}

/**
 * Bytes a frame of `caplen` captured bytes occupies in a ring (`SOCK_RAW`): the kernel puts the
 * network header at `TPACKET_ALIGN(tp_hdrlen + 16)` plus reserve and the link header just before
 * it (tpacket_rcv's `netoff`/`macoff`). V1/V2 slots are TPACKET_ALIGNMENT multiples; V3 packs
 * frames at V3_ALIGNMENT.
 */
export function frameBytes(version: number, caplen: number, reserve = 0): number {
  const netoff = TPACKET_ALIGN(tpacketHdrLen(version) + 16) + reserve;
  const bytes = netoff - ETH_HLEN + caplen;
  return version === TPACKET_V3 ? (bytes + V3_ALIGNMENT - 1) & ~(V3_ALIGNMENT - 1) : TPACKET_ALIGN(bytes);
}

/** Sizing inputs: bytes, or milliseconds of traffic at a packet rate. */
export type RingSizing =
  | { snaplen: number; bufferBytes: number }
  | {
      snaplen: number;
      lineRatePps: number;
      milliseconds: number;
      averageFrameBytes?: number;
      /**
       * V3: the block timeout the ring will run with. A low-rate ring holds blockCount × timeout
       * of traffic (see {@link V3_MIN_BLOCKS}), so the plan has at least `milliseconds / timeout`
       * blocks: the pause it is sized for fits at any rate up to `lineRatePps`.
       */
      blockTimeoutMs?: number;
    };

const MAX_V3_BLOCK = 1 << 20;

/**
 * The V3 planner cuts a ring into at least this many blocks (blocks of at most 1 MiB). The kernel
 * retires the open block at every block timeout, however little it holds, so at a low rate each
 * block lasts one timeout and the ring holds only blockCount × timeout of traffic: the longest
 * pause (a GC, a busy event loop) a consumer survives without loss. 16 blocks × the 2 ms default
 * timeout is 32 ms; 8 blocks of twice the size held 16 ms, and lost frames in this project's own
 * tests whose sender shares the consumer's event loop.
 * @internal
 */
export const V3_MIN_BLOCKS = 16;

/**
 * Picks a geometry the kernel accepts. In the spirit of the buffer size calculators of capture
 * tools, but sized in what matters: either bytes, or milliseconds of traffic at a packet rate
 * (`lineRatePps × milliseconds` frames of `averageFrameBytes`, default `snaplen`).
 *
 * V1/V2: the frame slot holds one `snaplen` packet; blocks are the smallest page multiple that
 * holds a whole number of slots without waste beyond a page. V3: frames are packed, so the buffer
 * is what counts; blocks are at most 1 MiB (so a block timeout flushes little) and at least 8 per
 * ring (so the kernel fills one while user space reads others).
 * @throws TypeError / RangeError on non-positive or non-integer inputs
 */
export function planRing(version: number, sizing: RingSizing, pageSize: number): RingGeometry {
  const snaplen = requireInteger('snaplen', sizing.snaplen);
  if (snaplen < 1) throw new RangeError(`snaplen must be at least 1, got ${snaplen}`);
  let bufferBytes: number;
  // Sized in milliseconds with a V3 block timeout: enough blocks that a low rate, one block per
  // timeout, lasts as long.
  let timeoutBlocks = 0;
  if ('bufferBytes' in sizing) {
    bufferBytes = requireInteger('bufferBytes', sizing.bufferBytes);
  } else {
    const pps = requireInteger('lineRatePps', sizing.lineRatePps);
    const ms = requireInteger('milliseconds', sizing.milliseconds);
    if (pps < 1 || ms < 1) throw new RangeError(`lineRatePps and milliseconds must be at least 1, got ${pps} and ${ms}`);
    const avg = sizing.averageFrameBytes === undefined ? snaplen : requireInteger('averageFrameBytes', sizing.averageFrameBytes);
    const perFrame = frameBytes(version, Math.min(avg, snaplen));
    bufferBytes = Math.ceil((pps * ms) / 1000) * perFrame;
    const timeout = sizing.blockTimeoutMs === undefined ? 0 : requireInteger('blockTimeoutMs', sizing.blockTimeoutMs);
    if (timeout > 0) timeoutBlocks = Math.ceil(ms / timeout);
  }
  if (bufferBytes < 1) throw new RangeError(`bufferBytes must be at least 1, got ${bufferBytes}`);

  // tp_frame_size must be a TPACKET_ALIGNMENT multiple for every version.
  const frameSize = TPACKET_ALIGN(frameBytes(version, snaplen));
  if (version === TPACKET_V3) {
    // A block must hold one snaplen frame after the block header.
    const minBlock = roundUp(BLK_PLUS_PRIV(0) + frameSize, pageSize);
    const blocks = Math.max(V3_MIN_BLOCKS, timeoutBlocks);
    let blockSize = Math.max(minBlock, Math.min(MAX_V3_BLOCK, roundUp(Math.floor(bufferBytes / blocks), pageSize)));
    blockSize = Math.max(blockSize, pageSize);
    const blockCount = Math.max(2, Math.ceil(bufferBytes / blockSize), timeoutBlocks);
    const framesPerBlock = Math.floor(blockSize / frameSize);
    return { blockSize, blockCount, frameSize, frameCount: framesPerBlock * blockCount };
  }
  return planSlots(frameSize, bufferBytes, pageSize);
}

/**
 * A fixed-slot geometry (V1/V2 RX, every TX ring): about `bufferBytes` of `frameSize` slots, in
 * the page-multiple block (up to 16 pages) that wastes the fewest bytes per slot.
 * @param frameSize a TPACKET_ALIGNMENT multiple
 */
export function planSlots(frameSize: number, bufferBytes: number, pageSize: number): RingGeometry {
  const minPages = Math.ceil(frameSize / pageSize);
  let best = minPages * pageSize;
  let bestWaste = (best % frameSize) / Math.floor(best / frameSize);
  for (let pages = minPages + 1; pages <= Math.max(16, minPages); pages++) {
    const size = pages * pageSize;
    const waste = (size % frameSize) / Math.floor(size / frameSize);
    if (waste < bestWaste) {
      best = size;
      bestWaste = waste;
    }
  }
  const blockCount = Math.max(1, Math.ceil(bufferBytes / best));
  const framesPerBlock = Math.floor(best / frameSize);
  return { blockSize: best, blockCount, frameSize, frameCount: framesPerBlock * blockCount };
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}
