/**
 * TPACKET_V1: `struct tpacket_hdr` (include/uapi/linux/if_packet.h).
 *
 * `tp_status` is an `unsigned long`, so this layout is the 64-bit one; kring refuses V1 on
 * 32-bit processes rather than misread it. Status values fit in the low 32 bits, which on a
 * little-endian machine are the first four bytes: the ring's 32-bit atomic access is exact.
 * @packageDocumentation
 */
import {
  TPACKET_ALIGN,
  TPACKET_HDR_SIZE,
  TPACKET_HDRLEN,
  TPACKET_V1,
  TP_STATUS_AVAILABLE,
  TP_STATUS_KERNEL,
  TP_STATUS_SEND_REQUEST,
  TP_STATUS_USER,
  TP_STATUS_WRONG_FORMAT,
} from '../constants';
import type { PacketFrameLayout, SlotLayout, TxFrameLayout } from './types';

/** Field offsets of `struct tpacket_hdr` on LP64. */
export const TPACKET_HDR = {
  tp_status: 0, // unsigned long
  tp_len: 8,
  tp_snaplen: 12,
  tp_mac: 16,
  tp_net: 18,
  tp_sec: 20,
  tp_usec: 24,
} as const;

const F = TPACKET_HDR;

/**
 * What `tp_status` means to each side in the fixed-frame rings: V1's, which V2 keeps
 * (__packet_get_status and __packet_set_status in net/packet/af_packet.c treat the two alike).
 */
export const TPACKET_SLOT_STATUS: Pick<SlotLayout, 'rxUserReady' | 'rxKernelStatus' | 'txUserReady' | 'txKernelStatus'> = {
  rxUserReady: (status) => (status & TP_STATUS_USER) !== 0,
  rxKernelStatus: TP_STATUS_KERNEL,
  // TX: TP_STATUS_AVAILABLE is free; TP_STATUS_WRONG_FORMAT is free too (the kernel gave the
  // frame back unsent; tpacket_snd() with PACKET_LOSS set), SEND_REQUEST and SENDING are the kernel's.
  txUserReady: (status) => (status & ~TP_STATUS_WRONG_FORMAT) === TP_STATUS_AVAILABLE,
  txKernelStatus: TP_STATUS_SEND_REQUEST,
};

/** The V1 frame layout: each frame is a ring slot whose status word is `tp_status`. */
export const tpacketV1: SlotLayout & PacketFrameLayout & TxFrameLayout = {
  name: 'tpacket_hdr',
  version: TPACKET_V1,
  hdrLen: TPACKET_HDRLEN,
  sockaddrOffset: TPACKET_ALIGN(TPACKET_HDR_SIZE),
  statusOffset: F.tp_status,
  ...TPACKET_SLOT_STATUS,
  status: (dv, at) => dv.getUint32(at + F.tp_status, true),
  len: (dv, at) => dv.getUint32(at + F.tp_len, true),
  snaplen: (dv, at) => dv.getUint32(at + F.tp_snaplen, true),
  mac: (dv, at) => dv.getUint16(at + F.tp_mac, true),
  net: (dv, at) => dv.getUint16(at + F.tp_net, true),
  sec: (dv, at) => dv.getUint32(at + F.tp_sec, true),
  nsec: (dv, at) => dv.getUint32(at + F.tp_usec, true) * 1000,
  vlanTci: () => 0,
  vlanTpid: () => 0,
  rxhash: () => 0,
  txDataOffset: TPACKET_ALIGN(TPACKET_HDR_SIZE),
  setTxLen: (dv, at, len) => dv.setUint32(at + F.tp_len, len, true),
  setTxOffset: (dv, at, offset) => {
    dv.setUint16(at + F.tp_mac, offset, true);
    dv.setUint16(at + F.tp_net, offset, true);
  },
};
