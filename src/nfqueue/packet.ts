/**
 * {@link NfPacket}: one NFQNL_MSG_PACKET, decoded (include/uapi/linux/netfilter/nfnetlink_queue.h;
 * built by nfqnl_build_packet_message in net/netfilter/nfnetlink_queue.c).
 * @packageDocumentation
 */
import {
  NFQA_CAP_LEN,
  NFQA_CT,
  NFQA_CT_INFO,
  NFQA_GID,
  NFQA_HWADDR,
  NFQA_IFINDEX_INDEV,
  NFQA_IFINDEX_OUTDEV,
  NFQA_IFINDEX_PHYSINDEV,
  NFQA_IFINDEX_PHYSOUTDEV,
  NFQA_MARK,
  NFQA_PACKET_HDR,
  NFQA_PAYLOAD,
  NFQA_SECCTX,
  NFQA_SKB_CSUMNOTREADY,
  NFQA_SKB_GSO,
  NFQA_SKB_INFO,
  NFQA_TIMESTAMP,
  NFQA_UID,
} from '../constants';
import {
  NFGENMSG,
  NFGENMSG_SIZE,
  NFQNL_MSG_PACKET_HDR,
  NFQNL_MSG_PACKET_HDR_SIZE,
  NFQNL_MSG_PACKET_HW,
  NFQNL_MSG_PACKET_HW_SIZE,
  NFQNL_MSG_PACKET_TIMESTAMP,
  NFQNL_MSG_PACKET_TIMESTAMP_SIZE,
} from '../layouts/nfnetlink';
import { LeaseError } from '../errors';
import { AttrCursor, NetlinkParseError } from '../netlink/message';

/** A packet the kernel queued: its metadata, and its bytes from the network header on. */
export interface NfPacket {
  /** The queue it came from (nfgenmsg res_id). */
  readonly queue: number;
  /** The protocol family of the hook (NFPROTO_IPV4 2, NFPROTO_IPV6 10, …). */
  readonly family: number;
  /** The kernel's id for the verdict (per queue, in queue order). */
  readonly id: number;
  /** The link-layer protocol (ETH_P_*, host order), 0 when the skb has none. */
  readonly hwProtocol: number;
  /** The netfilter hook (NF_INET_PRE_ROUTING 0 … NF_INET_POST_ROUTING 4). */
  readonly hook: number;
  /** skb->mark (0 when the kernel sent none). */
  readonly mark: number;
  /** Interface indexes (0 when absent): in, out, and the bridge ports behind them. */
  readonly indev: number;
  readonly outdev: number;
  readonly physindev: number;
  readonly physoutdev: number;
  /** The skb's receive time, when it has one: seconds and microseconds since the epoch. */
  readonly timestamp: { readonly sec: number; readonly usec: number } | undefined;
  /** The source link-layer address, when the device has one. */
  readonly hwAddr: Uint8Array | undefined;
  /** The socket owner's uid and gid (flags.uidGid), when the packet has a socket. */
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** The bytes copied (up to the copy range); empty under copy 'meta'. */
  readonly payload: Uint8Array;
  /** The packet's whole length: NFQA_CAP_LEN when the copy was cut, else the payload's. */
  readonly origLen: number;
  /** Whether the copy holds less than the packet. */
  readonly truncated: boolean;
  /** A GSO packet (flags.gso), whole, larger than the MTU; its checksum may not be computed yet. */
  readonly gso: boolean;
  /** The checksum is not computed yet (NFQA_SKB_CSUMNOTREADY): do not validate it. */
  readonly csumNotReady: boolean;
  /** Conntrack (flags.conntrack): enum ip_conntrack_info, and the NFQA_CT attributes raw. */
  readonly ctInfo: number | undefined;
  readonly ct: Uint8Array | undefined;
  /** The security context (flags.secctx). */
  readonly secctx: string | undefined;
}

/** The lease of the packets of one in-place batch: `live` until the batch's callback returned. */
export interface PacketLease {
  live: boolean;
}

const EMPTY: Uint8Array = new Uint8Array(0);

// A decoded packet. Its byte fields are views of the ring under a lease (read in place) or copies
// (no lease); reading a view after its lease ended throws instead of reading reused memory.
class PacketRecord implements NfPacket {
  queue = 0;
  family = 0;
  id = -1;
  hwProtocol = 0;
  hook = 0;
  mark = 0;
  indev = 0;
  outdev = 0;
  physindev = 0;
  physoutdev = 0;
  timestamp: NfPacket['timestamp'] = undefined;
  uid: number | undefined = undefined;
  gid: number | undefined = undefined;
  origLen = 0;
  truncated = false;
  gso = false;
  csumNotReady = false;
  ctInfo: number | undefined = undefined;
  secctx: string | undefined = undefined;
  // The byte fields: copies (no lease), or where they lie in `#dv` (in place: each view is made on
  // first access, so a consumer that never reads one pays no typed-array allocation for it).
  #payload: Uint8Array | null = EMPTY;
  #hwAddr: Uint8Array | null | undefined = undefined;
  #ct: Uint8Array | null | undefined = undefined;
  #dv: DataView | null = null;
  #payloadAt = 0;
  #payloadLen = 0;
  #hwAt = 0;
  #hwLen = 0;
  #ctAt = 0;
  #ctLen = 0;
  #lease: PacketLease | null;
  constructor(lease: PacketLease | null) {
    this.#lease = lease;
  }
  /** @internal The byte fields as copies (no lease). */
  setCopies(payload: Uint8Array, hwAddr: Uint8Array | undefined, ct: Uint8Array | undefined): void {
    this.#payload = payload;
    this.#hwAddr = hwAddr;
    this.#ct = ct;
  }
  /** @internal The byte fields in place: offsets and lengths in `dv` (offset -1: absent); views made on first access. */
  setPlaces(dv: DataView, payloadAt: number, payloadLen: number, hwAt: number, hwLen: number, ctAt: number, ctLen: number): void {
    this.#dv = dv;
    if (payloadAt >= 0 && payloadLen > 0) {
      this.#payloadAt = payloadAt;
      this.#payloadLen = payloadLen;
      this.#payload = null;
    }
    if (hwAt >= 0) {
      this.#hwAt = hwAt;
      this.#hwLen = hwLen;
      this.#hwAddr = null;
    }
    if (ctAt >= 0) {
      this.#ctAt = ctAt;
      this.#ctLen = ctLen;
      this.#ct = null;
    }
  }
  get payload(): Uint8Array {
    this.#check();
    return (this.#payload ??= this.#view(this.#payloadAt, this.#payloadLen));
  }
  get hwAddr(): Uint8Array | undefined {
    this.#check();
    return this.#hwAddr === null ? (this.#hwAddr = this.#view(this.#hwAt, this.#hwLen)) : this.#hwAddr;
  }
  get ct(): Uint8Array | undefined {
    this.#check();
    return this.#ct === null ? (this.#ct = this.#view(this.#ctAt, this.#ctLen)) : this.#ct;
  }
  #view(at: number, n: number): Uint8Array {
    const b = this.#dv!.buffer;
    // First read after the queue closed inside the callback: the ring is detached, the view empty
    // (as a view made earlier now is).
    if (b.byteLength === 0) return EMPTY;
    return new Uint8Array(b, this.#dv!.byteOffset + at, n);
  }
  #check(): void {
    if (this.#lease !== null && !this.#lease.live) throw new LeaseError("an NfPacket's bytes from batches()");
  }
}

export function decodeNfPacket(dv: DataView, at: number, len: number, lease: PacketLease | null): NfPacket | NetlinkParseError {
  if (len < NFGENMSG_SIZE) return new NetlinkParseError(`a queue packet message needs ${NFGENMSG_SIZE} bytes of nfgenmsg, got ${len}`, at);
  const copy = lease === null;
  const p = new PacketRecord(lease);
  // Where the byte fields lie (-1: absent); copied at the end when there is no lease.
  let payloadAt = -1;
  let payloadLen = 0;
  let hwAt = -1;
  let hwLen = 0;
  let ctAt = -1;
  let ctLen = 0;
  p.queue = dv.getUint16(at + NFGENMSG.res_id, false);
  p.family = dv.getUint8(at + NFGENMSG.nfgen_family);
  let capLen = -1;
  const a = new AttrCursor(dv, at + NFGENMSG_SIZE, at + len);
  while (a.next()) {
    switch (a.type) {
      case NFQA_PACKET_HDR:
        if (a.dataLen < NFQNL_MSG_PACKET_HDR_SIZE) return new NetlinkParseError(`NFQA_PACKET_HDR of ${a.dataLen} bytes`, a.data);
        p.id = dv.getUint32(a.data + NFQNL_MSG_PACKET_HDR.packet_id, false);
        p.hwProtocol = dv.getUint16(a.data + NFQNL_MSG_PACKET_HDR.hw_protocol, false);
        p.hook = dv.getUint8(a.data + NFQNL_MSG_PACKET_HDR.hook);
        break;
      case NFQA_MARK:
        p.mark = a.be32() ?? 0;
        break;
      case NFQA_IFINDEX_INDEV:
        p.indev = a.be32() ?? 0;
        break;
      case NFQA_IFINDEX_OUTDEV:
        p.outdev = a.be32() ?? 0;
        break;
      case NFQA_IFINDEX_PHYSINDEV:
        p.physindev = a.be32() ?? 0;
        break;
      case NFQA_IFINDEX_PHYSOUTDEV:
        p.physoutdev = a.be32() ?? 0;
        break;
      case NFQA_TIMESTAMP:
        if (a.dataLen >= NFQNL_MSG_PACKET_TIMESTAMP_SIZE) {
          // Two 32-bit halves each, not getBigUint64: no BigInt per packet (seconds and
          // microseconds stay far below 2^53).
          p.timestamp = { sec: be64(dv, a.data + NFQNL_MSG_PACKET_TIMESTAMP.sec), usec: be64(dv, a.data + NFQNL_MSG_PACKET_TIMESTAMP.usec) };
        }
        break;
      case NFQA_HWADDR:
        if (a.dataLen >= NFQNL_MSG_PACKET_HW_SIZE) {
          hwLen = Math.min(dv.getUint16(a.data + NFQNL_MSG_PACKET_HW.hw_addrlen, false), 8);
          hwAt = a.data + NFQNL_MSG_PACKET_HW.hw_addr;
        }
        break;
      case NFQA_PAYLOAD:
        payloadAt = a.data;
        payloadLen = a.dataLen;
        break;
      case NFQA_CAP_LEN:
        capLen = a.be32() ?? -1;
        break;
      case NFQA_SKB_INFO: {
        const info = a.be32() ?? 0;
        p.gso = (info & NFQA_SKB_GSO) !== 0;
        p.csumNotReady = (info & NFQA_SKB_CSUMNOTREADY) !== 0;
        break;
      }
      case NFQA_UID:
        p.uid = a.be32();
        break;
      case NFQA_GID:
        p.gid = a.be32();
        break;
      case NFQA_CT:
        ctAt = a.data;
        ctLen = a.dataLen;
        break;
      case NFQA_CT_INFO:
        p.ctInfo = a.be32();
        break;
      case NFQA_SECCTX:
        p.secctx = a.string();
        break;
    }
  }
  if (a.error) return a.error;
  if (p.id < 0) return new NetlinkParseError('a queue packet message without NFQA_PACKET_HDR', at);
  if (payloadAt < 0) payloadLen = 0;
  if (copy) {
    p.setCopies(copyAt(dv, payloadAt, payloadLen) ?? EMPTY, copyAt(dv, hwAt, hwLen), copyAt(dv, ctAt, ctLen));
  } else p.setPlaces(dv, payloadAt, payloadLen, hwAt, hwLen, ctAt, ctLen);
  p.origLen = capLen >= 0 ? capLen : payloadLen;
  p.truncated = p.origLen > payloadLen;
  return p;
}

// The `n` bytes at `at` of `dv`, copied (undefined for offset -1: absent).
function copyAt(dv: DataView, at: number, n: number): Uint8Array | undefined {
  return at < 0 ? undefined : new Uint8Array(dv.buffer, dv.byteOffset + at, n).slice();
}

// A big-endian u64 as a number (exact below 2^53).
function be64(dv: DataView, at: number): number {
  return dv.getUint32(at, false) * 0x100000000 + dv.getUint32(at + 4, false);
}
