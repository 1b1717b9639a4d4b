/**
 * TPACKET_V3: blocks (`struct tpacket_block_desc`) of variable-size frames (`struct tpacket3_hdr`),
 * include/uapi/linux/if_packet.h.
 *
 * The ring's slots are blocks: a block's `block_status` is the only word shared with the kernel
 * for synchronisation. Frames inside a block are plain memory once the block is ours, so their
 * `tp_status` (flags only, never TP_STATUS_USER) is read without atomics. Frames are walked with
 * {@link v3FirstFrame} and {@link v3NextFrame} rather than bent into a per-frame slot interface.
 * @packageDocumentation
 */
import { TPACKET3_HDR_SIZE, TPACKET3_HDRLEN, TPACKET_ALIGN, TPACKET_V3, TP_STATUS_KERNEL, TP_STATUS_USER, V3_ALIGNMENT } from '../constants';
import { TPACKET_SLOT_STATUS } from './tpacket-v1';
import type { PacketFrameLayout, SlotLayout, TxFrameLayout } from './types';

/** Field offsets of `struct tpacket_block_desc` (with its `struct tpacket_hdr_v1 bh1`). */
export const TPACKET_BLOCK_DESC = {
  version: 0,
  offset_to_priv: 4,
  block_status: 8,
  num_pkts: 12,
  offset_to_first_pkt: 16,
  blk_len: 20,
  seq_num: 24, // __aligned_u64
  ts_first_pkt_sec: 32,
  ts_first_pkt_nsec: 36,
  ts_last_pkt_sec: 40,
  ts_last_pkt_nsec: 44,
} as const;

/** Field offsets of `struct tpacket3_hdr`. */
export const TPACKET3_HDR = {
  tp_next_offset: 0,
  tp_sec: 4,
  tp_nsec: 8,
  tp_snaplen: 12,
  tp_len: 16,
  tp_status: 20,
  tp_mac: 24,
  tp_net: 26,
  tp_rxhash: 28, // hv1
  tp_vlan_tci: 32,
  tp_vlan_tpid: 36,
} as const;

const B = TPACKET_BLOCK_DESC;
const F = TPACKET3_HDR;

/** The V3 block layout: each block is a ring slot whose status word is `block_status`. */
export const tpacketV3Block: SlotLayout = {
  name: 'tpacket_block_desc',
  statusOffset: B.block_status,
  rxUserReady: (status) => (status & TP_STATUS_USER) !== 0,
  rxKernelStatus: TP_STATUS_KERNEL,
};

/** The V3 per-frame layout. */
export const tpacketV3: PacketFrameLayout = {
  version: TPACKET_V3,
  hdrLen: TPACKET3_HDRLEN,
  sockaddrOffset: TPACKET_ALIGN(TPACKET3_HDR_SIZE),
  status: (dv, at) => dv.getUint32(at + F.tp_status, true),
  len: (dv, at) => dv.getUint32(at + F.tp_len, true),
  snaplen: (dv, at) => dv.getUint32(at + F.tp_snaplen, true),
  mac: (dv, at) => dv.getUint16(at + F.tp_mac, true),
  net: (dv, at) => dv.getUint16(at + F.tp_net, true),
  sec: (dv, at) => dv.getUint32(at + F.tp_sec, true),
  nsec: (dv, at) => dv.getUint32(at + F.tp_nsec, true),
  vlanTci: (dv, at) => dv.getUint32(at + F.tp_vlan_tci, true),
  vlanTpid: (dv, at) => dv.getUint16(at + F.tp_vlan_tpid, true),
  rxhash: (dv, at) => dv.getUint32(at + F.tp_rxhash, true),
};

/**
 * The V3 TX frame (Linux 4.11): the TX ring has no blocks, only fixed-size `tpacket3_hdr` frames
 * that are ring slots like V2's, whose status word is the frame's `tp_status` with V1's meanings
 * (`tpacket_snd()` and `tpacket_destruct_skb()` go through `__packet_set_status()` for every
 * version). `tp_next_offset` must be 0: the kernel refuses variable-size slots.
 */
export const tpacketV3TxFrame: SlotLayout & TxFrameLayout = {
  name: 'tpacket3_hdr',
  statusOffset: F.tp_status,
  ...TPACKET_SLOT_STATUS,
  txDataOffset: TPACKET_ALIGN(TPACKET3_HDR_SIZE),
  setTxLen: (dv, at, len) => {
    dv.setUint32(at + F.tp_next_offset, 0, true);
    dv.setUint32(at + F.tp_len, len, true);
  },
  setTxOffset: (dv, at, offset) => {
    dv.setUint16(at + F.tp_mac, offset, true);
    dv.setUint16(at + F.tp_net, offset, true);
  },
};

/** `num_pkts` of the block at `block`. */
export function v3NumPackets(dv: DataView, block: number): number {
  return dv.getUint32(block + B.num_pkts, true);
}

/** `seq_num` of the block at `block` (u64; exact below 2^53 blocks). */
export function v3SequenceNumber(dv: DataView, block: number): number {
  return Number(dv.getBigUint64(block + B.seq_num, true));
}

/** Offset in the mapping of the first frame of the block at `block`. */
export function v3FirstFrame(dv: DataView, block: number): number {
  return block + dv.getUint32(block + B.offset_to_first_pkt, true);
}

/** Offset of the frame after the one at `frame` (`tp_next_offset`; 0 on the last frame). */
export function v3NextFrame(dv: DataView, frame: number): number {
  return frame + dv.getUint32(frame + F.tp_next_offset, true);
}

/**
 * The block walk's description, handed once to the native walk (`WalkPlan`, native/walk.cc),
 * which knows no tpacket field: each frame's `tp_next_offset` leads to the next (0 on the last;
 * frames are V3_ALIGNMENT-aligned and a whole `tpacket3_hdr` plus its sockaddr_ll, TPACKET3_HDRLEN,
 * must fit before the block's end, else the walk stops there: damage never makes it read outside
 * the block), and from each it reads `tp_len` (word0), `tp_snaplen` (word1) and `tp_mac` (half,
 * added to the frame's offset: where its captured bytes start).
 * @internal
 */
export const V3_WALK = {
  next: F.tp_next_offset,
  word0: F.tp_len,
  word1: F.tp_snaplen,
  half: F.tp_mac,
  hdrLen: TPACKET3_HDRLEN,
  align: V3_ALIGNMENT,
} as const;
