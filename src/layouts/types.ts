/**
 * The small interfaces every header layout implements.
 *
 * {@link SlotLayout} is all the generic {@link Ring} knows about a header: where its status word
 * is and which values mean "yours" and "mine" in each direction (the kernel selftest's
 * `__v2_rx_user_ready` style). TPACKET V1/V2 frames, V3 blocks and `nl_mmap_hdr` frames are all
 * slots. {@link PacketFrameLayout} adds the per-packet fields the AF_PACKET headers share.
 * @packageDocumentation
 */

/** What the generic ring needs to know about a slot header. */
export interface SlotLayout {
  /** The uapi struct name, for messages (`'tpacket2_hdr'`). */
  readonly name: string;
  /** Byte offset of the 32-bit status word from the start of the slot (a multiple of 4). */
  readonly statusOffset: number;
  /** RX: the kernel has handed this slot to user space. */
  rxUserReady(status: number): boolean;
  /** RX: the status value that hands a slot back to the kernel. */
  readonly rxKernelStatus: number;
  /**
   * RX: the status a slot user space keeps is parked with, so the kernel steps over it
   * (NL_MMAP_STATUS_SKIP). Absent when the kernel has no such state (TPACKET: a held slot simply
   * stays TP_STATUS_USER).
   */
  readonly rxHeldStatus?: number;
  /** TX: user space may fill this slot (the kernel is done with it). Absent for RX-only layouts. */
  txUserReady?(status: number): boolean;
  /** TX: the status value that hands a filled slot to the kernel for sending. */
  readonly txKernelStatus?: number;
}

/**
 * Per-packet header fields common to `tpacket_hdr`, `tpacket2_hdr` and `tpacket3_hdr`. Every
 * getter takes the mapping's DataView and the byte offset of the header; none allocates.
 */
export interface PacketFrameLayout {
  /** `TPACKET_V1`, `TPACKET_V2` or `TPACKET_V3`. */
  readonly version: number;
  /** `TPACKETx_HDRLEN`: the header and the sockaddr_ll after it (the kernel's `tp_hdrlen`). */
  readonly hdrLen: number;
  /** Where the sockaddr_ll starts, from the header: `TPACKET_ALIGN(sizeof(hdr))`. */
  readonly sockaddrOffset: number;
  /** The per-frame status word (for V1/V2 also the slot's sync word; read it through the ring). */
  status(dv: DataView, at: number): number;
  /** `tp_len`: the packet's length on the wire. */
  len(dv: DataView, at: number): number;
  /** `tp_snaplen`: bytes captured into the ring. */
  snaplen(dv: DataView, at: number): number;
  /** `tp_mac`: offset of the link-layer header from the frame header. */
  mac(dv: DataView, at: number): number;
  /** `tp_net`: offset of the network header from the frame header. */
  net(dv: DataView, at: number): number;
  /** `tp_sec` */
  sec(dv: DataView, at: number): number;
  /** `tp_nsec`; V1 has only `tp_usec`, returned here multiplied by 1000. */
  nsec(dv: DataView, at: number): number;
  /** `tp_vlan_tci` (valid when TP_STATUS_VLAN_VALID is set); always 0 on V1. */
  vlanTci(dv: DataView, at: number): number;
  /** `tp_vlan_tpid` (valid when TP_STATUS_VLAN_TPID_VALID is set); always 0 on V1. */
  vlanTpid(dv: DataView, at: number): number;
  /** `hv1.tp_rxhash` (V3 with TP_FT_REQ_FILL_RXHASH); always 0 on V1/V2. */
  rxhash(dv: DataView, at: number): number;
}

/**
 * What user space writes in an AF_PACKET TX frame header before handing the frame over
 * (`tpacket_parse_header()` in net/packet/af_packet.c reads `tp_len`, and with PACKET_TX_HAS_OFF
 * the data offset from `tp_mac` (SOCK_RAW) or `tp_net` (SOCK_DGRAM)). The status word is the
 * ring's, through {@link SlotLayout}.
 */
export interface TxFrameLayout {
  /** Where the kernel takes the data from without PACKET_TX_HAS_OFF: `tp_hdrlen - sizeof(struct sockaddr_ll)`. */
  readonly txDataOffset: number;
  /** Writes `tp_len` (and clears what must be zero: V3's `tp_next_offset`). */
  setTxLen(dv: DataView, at: number, len: number): void;
  /** Writes the data offset (PACKET_TX_HAS_OFF) into `tp_mac` and `tp_net`. */
  setTxOffset(dv: DataView, at: number, offset: number): void;
}

/** Every field of an AF_PACKET frame header, decoded into an object (tests and tools). */
export interface TpacketHeader {
  status: number;
  len: number;
  snaplen: number;
  mac: number;
  net: number;
  sec: number;
  nsec: number;
  vlanTci: number;
  vlanTpid: number;
  rxhash: number;
  /** V3 only: `tp_next_offset`. */
  nextOffset: number;
}

/** Decodes every field of a frame header through a layout's getters. */
export function decodeTpacketHeader(layout: PacketFrameLayout, dv: DataView, at: number, nextOffset = 0): TpacketHeader {
  return {
    status: layout.status(dv, at) >>> 0,
    len: layout.len(dv, at),
    snaplen: layout.snaplen(dv, at),
    mac: layout.mac(dv, at),
    net: layout.net(dv, at),
    sec: layout.sec(dv, at),
    nsec: layout.nsec(dv, at),
    vlanTci: layout.vlanTci(dv, at),
    vlanTpid: layout.vlanTpid(dv, at),
    rxhash: layout.rxhash(dv, at),
    nextOffset,
  };
}

/**
 * A ring's geometry, as the uapi requests it: `struct tpacket_req` (and the common part of
 * `struct tpacket_req3`) for AF_PACKET, `struct nl_mmap_req` for netlink, which have the same four
 * fields in the same order.
 */
export interface RingGeometry {
  /** `tp_block_size`: bytes per block, a multiple of the page size. */
  blockSize: number;
  /** `tp_block_nr`: number of blocks. */
  blockCount: number;
  /** `tp_frame_size`: bytes per frame slot (V1/V2); V3 uses it only for validation. */
  frameSize: number;
  /** `tp_frame_nr`: must equal frames-per-block × blockCount. */
  frameCount: number;
}
