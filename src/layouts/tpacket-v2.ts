/**
 * TPACKET_V2: `struct tpacket2_hdr` (include/uapi/linux/if_packet.h). Fixed-size frames like V1,
 * nanosecond timestamps and VLAN fields.
 * @packageDocumentation
 */
import { TPACKET2_HDR_SIZE, TPACKET2_HDRLEN, TPACKET_ALIGN, TPACKET_V2 } from '../constants';
import { TPACKET_SLOT_STATUS } from './tpacket-v1';
import type { PacketFrameLayout, SlotLayout, TxFrameLayout } from './types';

/** Field offsets of `struct tpacket2_hdr`. */
export const TPACKET2_HDR = {
  tp_status: 0,
  tp_len: 4,
  tp_snaplen: 8,
  tp_mac: 12,
  tp_net: 14,
  tp_sec: 16,
  tp_nsec: 20,
  tp_vlan_tci: 24,
  tp_vlan_tpid: 26,
} as const;

const F = TPACKET2_HDR;

/** The V2 frame layout: each frame is a ring slot whose status word is `tp_status`. */
export const tpacketV2: SlotLayout & PacketFrameLayout & TxFrameLayout = {
  name: 'tpacket2_hdr',
  version: TPACKET_V2,
  hdrLen: TPACKET2_HDRLEN,
  sockaddrOffset: TPACKET_ALIGN(TPACKET2_HDR_SIZE),
  statusOffset: F.tp_status,
  ...TPACKET_SLOT_STATUS,
  status: (dv, at) => dv.getUint32(at + F.tp_status, true),
  len: (dv, at) => dv.getUint32(at + F.tp_len, true),
  snaplen: (dv, at) => dv.getUint32(at + F.tp_snaplen, true),
  mac: (dv, at) => dv.getUint16(at + F.tp_mac, true),
  net: (dv, at) => dv.getUint16(at + F.tp_net, true),
  sec: (dv, at) => dv.getUint32(at + F.tp_sec, true),
  nsec: (dv, at) => dv.getUint32(at + F.tp_nsec, true),
  vlanTci: (dv, at) => dv.getUint16(at + F.tp_vlan_tci, true),
  vlanTpid: (dv, at) => dv.getUint16(at + F.tp_vlan_tpid, true),
  rxhash: () => 0,
  txDataOffset: TPACKET_ALIGN(TPACKET2_HDR_SIZE),
  setTxLen: (dv, at, len) => dv.setUint32(at + F.tp_len, len, true),
  setTxOffset: (dv, at, offset) => {
    dv.setUint16(at + F.tp_mac, offset, true);
    dv.setUint16(at + F.tp_net, offset, true);
  },
};
