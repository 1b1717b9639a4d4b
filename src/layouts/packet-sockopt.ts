/**
 * The structs AF_PACKET socket options take and give (include/uapi/linux/if_packet.h, filter.h):
 * `struct tpacket_req` / `tpacket_req3` (PACKET_RX_RING), `struct tpacket_stats(_v3)`
 * (PACKET_STATISTICS), `struct packet_mreq` (PACKET_ADD_MEMBERSHIP) and `struct sock_filter`
 * (SO_ATTACH_FILTER), as named byte offsets with their encoders and decoders.
 * @packageDocumentation
 */
import { PACKET_MREQ_SIZE, SOCK_FILTER_SIZE, TPACKET_REQ3_SIZE, TPACKET_REQ_SIZE } from '../constants';
import type { RingGeometry } from './types';

/** `struct tpacket_req3` (its first four fields are `struct tpacket_req`). */
export const TPACKET_REQ3 = {
  tp_block_size: 0,
  tp_block_nr: 4,
  tp_frame_size: 8,
  tp_frame_nr: 12,
  tp_retire_blk_tov: 16,
  tp_sizeof_priv: 20,
  tp_feature_req_word: 24,
} as const;

/** `struct tpacket_stats_v3` (its first two fields are `struct tpacket_stats`). */
export const TPACKET_STATS_V3 = { tp_packets: 0, tp_drops: 4, tp_freeze_q_cnt: 8 } as const;

/** `struct packet_mreq` */
export const PACKET_MREQ = { mr_ifindex: 0, mr_type: 4, mr_alen: 6, mr_address: 8 } as const;

/** `struct sock_filter`: one classic BPF instruction. */
export const SOCK_FILTER = { code: 0, jt: 2, jf: 3, k: 4 } as const;

/** A classic BPF instruction: opcode, jump offsets if true and if false, constant. */
export type SockFilter = readonly [code: number, jt: number, jf: number, k: number];

const R = TPACKET_REQ3;

/** `struct tpacket_req` (V1/V2), or with `v3` the whole `struct tpacket_req3`. */
export function encodeTpacketReq(g: RingGeometry, v3?: { retireBlkTov: number; sizeofPriv: number; featureReqWord: number }): Uint8Array {
  const b = new Uint8Array(v3 ? TPACKET_REQ3_SIZE : TPACKET_REQ_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(R.tp_block_size, g.blockSize, true);
  dv.setUint32(R.tp_block_nr, g.blockCount, true);
  dv.setUint32(R.tp_frame_size, g.frameSize, true);
  dv.setUint32(R.tp_frame_nr, g.frameCount, true);
  if (v3) {
    dv.setUint32(R.tp_retire_blk_tov, v3.retireBlkTov, true);
    dv.setUint32(R.tp_sizeof_priv, v3.sizeofPriv, true);
    dv.setUint32(R.tp_feature_req_word, v3.featureReqWord, true);
  }
  return b;
}

/** `struct tpacket_stats_v3` as getsockopt wrote it (`freezeQueueCount` 0 for `tpacket_stats`). */
export function decodeTpacketStats(b: Uint8Array): { packets: number; drops: number; freezeQueueCount: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    packets: dv.getUint32(TPACKET_STATS_V3.tp_packets, true),
    drops: dv.getUint32(TPACKET_STATS_V3.tp_drops, true),
    freezeQueueCount: b.byteLength > TPACKET_STATS_V3.tp_freeze_q_cnt ? dv.getUint32(TPACKET_STATS_V3.tp_freeze_q_cnt, true) : 0,
  };
}

/** `struct packet_mreq` for an interface and a membership type (PACKET_MR_*), no address. */
export function encodePacketMreq(ifindex: number, type: number): Uint8Array {
  const b = new Uint8Array(PACKET_MREQ_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(PACKET_MREQ.mr_ifindex, ifindex, true);
  dv.setUint16(PACKET_MREQ.mr_type, type, true);
  return b;
}

/** A classic BPF program as packed `struct sock_filter` entries, for SO_ATTACH_FILTER. */
export function encodeSockFilter(program: readonly SockFilter[]): Uint8Array {
  const b = new Uint8Array(program.length * SOCK_FILTER_SIZE);
  const dv = new DataView(b.buffer);
  program.forEach(([code, jt, jf, k], i) => {
    const at = i * SOCK_FILTER_SIZE;
    dv.setUint16(at + SOCK_FILTER.code, code, true);
    dv.setUint8(at + SOCK_FILTER.jt, jt);
    dv.setUint8(at + SOCK_FILTER.jf, jf);
    dv.setUint32(at + SOCK_FILTER.k, k >>> 0, true);
  });
  return b;
}
