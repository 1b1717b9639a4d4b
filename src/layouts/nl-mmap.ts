/**
 * Memory-mapped netlink: `struct nl_mmap_hdr` and `struct nl_mmap_req` (include/uapi/linux/netlink.h;
 * the kernel ring existed in Linux 3.10–4.5). Behaviour as written out in the project's
 * docs/netlink-ring.md: §1.1 (ABI), §1.2 (geometry checks, in the kernel's order), §1.4 (addressing).
 *
 * Frames are ring slots whose status word is `nm_status`; the generic {@link Ring} drives them with
 * no netlink-specific branch. RX: VALID and COPY frames are user space's; user space hands a frame
 * back with UNUSED, or parks one it keeps with SKIP (the kernel's in-ring allocator steps over SKIP
 * frames, so later messages still land). TX: user space fills UNUSED frames and hands them over
 * with VALID.
 * @packageDocumentation
 */
import {
  INT_MAX,
  NL_MMAP_HDRLEN,
  NL_MMAP_MSG_ALIGNMENT,
  NL_MMAP_STATUS_COPY,
  NL_MMAP_STATUS_SKIP,
  NL_MMAP_STATUS_UNUSED,
  NL_MMAP_STATUS_VALID,
} from '../constants';
import type { RingGeometry } from './types';
import type { SlotLayout } from './types';

/** Field offsets of `struct nl_mmap_hdr` (six u32). */
export const NL_MMAP_HDR = {
  nm_status: 0,
  nm_len: 4,
  nm_group: 8,
  nm_pid: 12,
  nm_uid: 16,
  nm_gid: 20,
} as const;

const F = NL_MMAP_HDR;

/** Field offsets of `struct nl_mmap_req` (four u32), and its size. */
export const NL_MMAP_REQ = { nm_block_size: 0, nm_block_nr: 4, nm_frame_size: 8, nm_frame_nr: 12 } as const;
export const NL_MMAP_REQ_SIZE = 16;

/** The `nl_mmap_hdr` frame layout, for both rings. */
export const nlMmap: SlotLayout = {
  name: 'nl_mmap_hdr',
  statusOffset: F.nm_status,
  rxUserReady: (status) => status === NL_MMAP_STATUS_VALID || status === NL_MMAP_STATUS_COPY,
  rxKernelStatus: NL_MMAP_STATUS_UNUSED,
  rxHeldStatus: NL_MMAP_STATUS_SKIP,
  txUserReady: (status) => status === NL_MMAP_STATUS_UNUSED,
  txKernelStatus: NL_MMAP_STATUS_VALID,
};

/** Every field of a frame header, decoded. */
export interface NlMmapHeader {
  status: number;
  len: number;
  group: number;
  pid: number;
  uid: number;
  gid: number;
}

/** Decodes the header at `at` (the status with a plain load: use the ring for synchronisation). */
export function decodeNlMmapHeader(dv: DataView, at: number): NlMmapHeader {
  return {
    status: dv.getUint32(at + F.nm_status, true),
    len: dv.getUint32(at + F.nm_len, true),
    group: dv.getUint32(at + F.nm_group, true),
    pid: dv.getUint32(at + F.nm_pid, true),
    uid: dv.getUint32(at + F.nm_uid, true),
    gid: dv.getUint32(at + F.nm_gid, true),
  };
}

/**
 * Writes every field but the status (which goes through the ring, last, with release semantics).
 */
export function encodeNlMmapHeader(dv: DataView, at: number, h: Omit<NlMmapHeader, 'status'>): void {
  dv.setUint32(at + F.nm_len, h.len, true);
  dv.setUint32(at + F.nm_group, h.group, true);
  dv.setUint32(at + F.nm_pid, h.pid, true);
  dv.setUint32(at + F.nm_uid, h.uid, true);
  dv.setUint32(at + F.nm_gid, h.gid, true);
}

/** `struct nl_mmap_req` bytes for setsockopt. */
export function encodeNlMmapReq(g: RingGeometry): Uint8Array {
  const b = new Uint8Array(NL_MMAP_REQ_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(NL_MMAP_REQ.nm_block_size, g.blockSize, true);
  dv.setUint32(NL_MMAP_REQ.nm_block_nr, g.blockCount, true);
  dv.setUint32(NL_MMAP_REQ.nm_frame_size, g.frameSize, true);
  dv.setUint32(NL_MMAP_REQ.nm_frame_nr, g.frameCount, true);
  return b;
}

/** Bytes of message a frame holds: `frame_size - NL_MMAP_HDRLEN`. */
export function nlFramePayload(frameSize: number): number {
  return frameSize - NL_MMAP_HDRLEN;
}

/**
 * The geometry checks of setsockopt(NETLINK_RX_RING / NETLINK_TX_RING), in the kernel's order
 * (docs/netlink-ring.md §1.2 steps 6b–6g and 7). `blockCount` 0 is a teardown, valid only with `frameCount` 0.
 * The frames-per-block product is compared as the kernel does, in 32-bit unsigned arithmetic.
 * Returns the errno the kernel would answer (0 when accepted) and a sentence naming the rule.
 */
export function checkNlMmapReq(g: RingGeometry, pageSize: number): { errno: number; rule: string } {
  const EINVAL = 22;
  const u32 = (x: number) => x >>> 0;
  const blockSize = u32(g.blockSize);
  const blockCount = u32(g.blockCount);
  const frameSize = u32(g.frameSize);
  const frameCount = u32(g.frameCount);
  if (blockCount === 0) {
    if (frameCount !== 0) return { errno: EINVAL, rule: `a teardown (nm_block_nr 0) needs nm_frame_nr 0, got ${frameCount}` };
    return { errno: 0, rule: 'teardown' };
  }
  if (blockSize === 0 || blockSize > INT_MAX) {
    return { errno: EINVAL, rule: `nm_block_size ${blockSize} must be positive as a signed int (1..${INT_MAX})` };
  }
  if (blockSize % pageSize !== 0) return { errno: EINVAL, rule: `nm_block_size ${blockSize} must be a multiple of the page size (${pageSize})` };
  if (frameSize < NL_MMAP_HDRLEN) return { errno: EINVAL, rule: `nm_frame_size ${frameSize} must be at least NL_MMAP_HDRLEN (${NL_MMAP_HDRLEN})` };
  if (frameSize % NL_MMAP_MSG_ALIGNMENT !== 0) {
    return { errno: EINVAL, rule: `nm_frame_size ${frameSize} must be a multiple of NL_MMAP_MSG_ALIGNMENT (${NL_MMAP_MSG_ALIGNMENT})` };
  }
  const fpb = Math.floor(blockSize / frameSize);
  if (fpb === 0) return { errno: EINVAL, rule: `nm_frame_size ${frameSize} is larger than nm_block_size ${blockSize}` };
  if (u32(Math.imul(fpb, blockCount)) !== frameCount) {
    return {
      errno: EINVAL,
      rule: `nm_frame_nr ${frameCount} must equal frames per block (${blockSize} / ${frameSize} = ${fpb}) × nm_block_nr (${blockCount}), computed in 32 bits (${u32(Math.imul(fpb, blockCount))})`,
    };
  }
  return { errno: 0, rule: 'ok' };
}

/**
 * Validates a netlink ring geometry before any kernel call: the kernel's rules ({@link checkNlMmapReq})
 * as a RangeError naming the rule, plus a TypeError for non-integers. A teardown is not a geometry.
 * @throws TypeError / RangeError
 */
export function validateNlMmapGeometry(g: RingGeometry, pageSize: number): void {
  for (const k of ['blockSize', 'blockCount', 'frameSize', 'frameCount'] as const) {
    const v = g[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new TypeError(`${k} must be an integer from 0 to 2^32-1, got ${typeof v === 'number' ? v : typeof v}`);
    }
  }
  if (g.blockCount === 0) throw new RangeError('blockCount (nm_block_nr) 0 tears a ring down; a ring needs at least one block');
  const { errno, rule } = checkNlMmapReq(g, pageSize);
  if (errno !== 0) throw new RangeError(rule);
}
