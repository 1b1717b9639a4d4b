/**
 * A simulator of the kernel's side of memory-mapped netlink (NETLINK_RX_RING / NETLINK_TX_RING),
 * following docs/netlink-ring.md: Linux 4.5 by default, with switches
 * for 3.10's differences and for 4.3/4.4's trimmed dump chunks. It is the only fake kernel in
 * kring's tests: the real ring was removed in Linux 4.6, so no CI machine has it.
 *
 * It owns the ring memory (one ArrayBuffer, RX ring first, TX after it, as mmap lays them out) and
 * plays producers (in-ring messages, COPY-path messages, dumps), poll(), recv() and the TX walk.
 * Calls answer like syscalls: 0 or a positive count, or a negative errno.
 *
 * Simplifications, all on the kernel-internal side: memory accounting charges a COPY message its
 * length (the kernel charges truesize); there is no wait queue (poll() is called, never slept in).
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import {
  NETLINK_MAX_RECVMSG_LEN,
  NLMSG_GOODSIZE,
  NL_MMAP_HDRLEN,
  NL_MMAP_STATUS_COPY,
  NL_MMAP_STATUS_RESERVED,
  NL_MMAP_STATUS_SKIP,
  NL_MMAP_STATUS_UNUSED,
  NL_MMAP_STATUS_VALID,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  PACKET_IGNORE_OUTGOING,
  PACKET_QDISC_BYPASS,
  SOL_NETLINK,
  SOL_PACKET,
} from '../constants';
import { checkNlMmapReq, NL_MMAP_HDR } from '../layouts/nl-mmap';
import { frameOffsets } from '../ring/addressing';
import { RingGeometry } from '../layouts/types';

const { EPERM, ENOENT, EAGAIN, ENOMEM, EBUSY, EINVAL, ENOPROTOOPT, ENOBUFS, ECONNREFUSED } = osConstants.errno;

/** The largest buffer length the kernel remembers from recvmsg (`max_recvmsg_len` cap). */
export const MAX_RECVMSG_LEN = NETLINK_MAX_RECVMSG_LEN;
export { NLMSG_GOODSIZE };

/**
 * A kernel that has the netlink ring, as the simulator plays it:
 * - `'3.10'`: the original ring (SKIP frames never stepped over, POLLIN from the frame before head);
 * - `'4.4'`: 4.5's ring rules with 4.3/4.4's trimmed dump chunks (docs/netlink-ring.md §8);
 * - `'4.5'`: the last kernel with the ring.
 * None of them has the socket options added later (NETLINK_EXT_ACK 4.12, NETLINK_GET_STRICT_CHK
 * 4.20, PACKET_IGNORE_OUTGOING 4.20): setting one answers ENOPROTOOPT. `'3.10'` also lacks
 * PACKET_QDISC_BYPASS (3.14). None sends from a TPACKET_V3 TX ring (4.11): the request answers EINVAL.
 */
export type KernelProfile = '3.10' | '4.4' | '4.5';

/** Socket options (level, name) newer than every kernel with the netlink ring, by uapi name. */
export const OPTIONS_AFTER_THE_RING = {
  NETLINK_EXT_ACK: [SOL_NETLINK, NETLINK_EXT_ACK],
  NETLINK_GET_STRICT_CHK: [SOL_NETLINK, NETLINK_GET_STRICT_CHK],
  PACKET_IGNORE_OUTGOING: [SOL_PACKET, PACKET_IGNORE_OUTGOING],
} as const;

/** Socket options newer than 3.10 that the later ring kernels (4.4, 4.5) have, by uapi name. */
export const OPTIONS_AFTER_3_10 = {
  PACKET_QDISC_BYPASS: [SOL_PACKET, PACKET_QDISC_BYPASS],
} as const;

/** Switches for the simulated kernel. */
export interface NetlinkRingKernelOptions {
  /**
   * A whole kernel ({@link KernelProfile}): sets `version` and `trimmedDumps`, and makes the
   * options newer than the ring answer ENOPROTOOPT ({@link NetlinkRingKernel.option}). Without a
   * profile the simulator plays the ring only (the socket's other options are the real kernel's).
   */
  profile?: KernelProfile;
  /** `'4.5'` (default) or `'3.10'` (SKIP frames never skipped; POLLIN from the frame before head). */
  version?: '4.5' | '3.10';
  /** 4.3/4.4: in-ring dump chunks start at `frame_size - alloc_size` instead of NL_MMAP_HDRLEN (docs/netlink-ring.md §8). */
  trimmedDumps?: boolean;
  /** A kernel without the ring (≥ 4.6): ring setsockopt answers ENOPROTOOPT. */
  unsupported?: boolean;
  /** The caller lacks CAP_NET_ADMIN: ring setsockopt answers EPERM. */
  noCapNetAdmin?: boolean;
  /** NETLINK_NO_ENOBUFS */
  noEnobufs?: boolean;
  /** `sk_rcvbuf` in bytes (default 212992). */
  rcvbuf?: number;
  /** Page size (default 4096). */
  pageSize?: number;
  /** Largest ring the simulated allocator grants before ENOMEM (default 1 GiB). */
  maxRingBytes?: number;
}

/** Sender credentials and destination group of a message. */
export interface MessageMeta {
  group?: number;
  pid?: number;
  uid?: number;
  gid?: number;
}

/** A frame the in-ring allocator reserved (RESERVED until delivered or dropped). */
export interface Reservation {
  readonly frame: number;
  readonly capacity: number;
}

interface RingState {
  geometry: RingGeometry;
  offsets: Float64Array;
  base: number;
  head: number;
  pending: number;
}

interface DumpState {
  records: Uint8Array[];
  next: number;
  done: Uint8Array;
  minAlloc: number;
}

/** The kernel's side of one netlink socket with memory-mapped rings. */
export class NetlinkRingKernel {
  readonly pageSize: number;
  /** `sk_drops`: overruns so far. */
  drops = 0;
  /** Pending socket error (`sk_err`), positive errno or 0. */
  skErr = 0;
  /** The CONGESTED bit. */
  congested = false;
  /** `max_recvmsg_len` */
  maxRecvmsgLen = 0;
  /** Live mappings of the rings. */
  mapped = 0;
  /** The kernel played, when a profile was given. */
  readonly profile: KernelProfile | undefined;
  #opt: Required<Omit<NetlinkRingKernelOptions, 'pageSize'>>;
  #rx: RingState | null = null;
  #tx: RingState | null = null;
  #memory = new ArrayBuffer(0);
  #dv = new DataView(this.#memory);
  #words = new Int32Array(this.#memory);
  #queue: Uint8Array[] = [];
  #rmem = 0;
  #dump: DumpState | null = null;

  constructor(options: NetlinkRingKernelOptions = {}) {
    this.pageSize = options.pageSize ?? 4096;
    const profile = options.profile;
    this.profile = profile;
    this.#opt = {
      profile: profile as KernelProfile,
      version: options.version ?? (profile === '3.10' ? '3.10' : '4.5'),
      trimmedDumps: options.trimmedDumps ?? profile === '4.4',
      unsupported: options.unsupported ?? false,
      noCapNetAdmin: options.noCapNetAdmin ?? false,
      noEnobufs: options.noEnobufs ?? false,
      rcvbuf: options.rcvbuf ?? 212992,
      maxRingBytes: options.maxRingBytes ?? 1 << 30,
    };
  }

  /** The ring memory as mmap shows it (RX first, TX after). Replaced when a ring is set up or torn down. */
  get memory(): ArrayBuffer {
    return this.#memory;
  }
  /** RX ring head (next frame the kernel hands out). */
  get rxHead(): number {
    return this.#rx?.head ?? 0;
  }
  /** TX ring head (next frame the kernel sends). */
  get txHead(): number {
    return this.#tx?.head ?? 0;
  }
  /** Messages queued behind COPY frames. */
  get queued(): number {
    return this.#queue.length;
  }
  /** Whether a dump is running. */
  get dumping(): boolean {
    return this.#dump !== null;
  }
  /** Byte offset in {@link memory} of RX frame `i`. */
  rxFrame(i: number): number {
    return this.#rx!.base + this.#rx!.offsets[i];
  }
  /** Byte offset in {@link memory} of TX frame `i`. */
  txFrame(i: number): number {
    return this.#tx!.base + this.#tx!.offsets[i];
  }
  /** Status of RX frame `i` (the kernel's read barrier, then the load). */
  rxStatus(i: number): number {
    return Atomics.load(this.#words, this.rxFrame(i) >>> 2);
  }
  /** Status of TX frame `i`. */
  txStatus(i: number): number {
    return Atomics.load(this.#words, this.txFrame(i) >>> 2);
  }

  // --- §1: setup -----------------------------------------------------------------------------

  /** setsockopt(SOL_NETLINK, NETLINK_RX_RING / NETLINK_TX_RING), docs/netlink-ring.md §1.2 in order. */
  setsockopt(which: 'rx' | 'tx', req: RingGeometry, optlen = 16): number {
    if (this.#opt.unsupported) return -ENOPROTOOPT;
    if (this.#opt.noCapNetAdmin) return -EPERM;
    if (optlen < 16) return -EINVAL;
    if (this.mapped > 0) return -EBUSY;
    const ring = which === 'rx' ? this.#rx : this.#tx;
    if (ring && ring.pending > 0) return -EBUSY;
    if (req.blockCount >>> 0 !== 0 && ring) return -EBUSY;
    const { errno } = checkNlMmapReq(req, this.pageSize);
    if (errno) return -errno;
    if (req.blockCount >>> 0 !== 0 && req.blockSize * req.blockCount > this.#opt.maxRingBytes) return -ENOMEM;
    const next: RingState | null = req.blockCount >>> 0 === 0 ? null : { geometry: { ...req }, offsets: frameOffsets(req), base: 0, head: 0, pending: 0 };
    const keep = which === 'rx' ? this.#tx : this.#rx;
    const keepBytes = keep ? this.#bytesOf(keep) : null;
    if (which === 'rx') this.#rx = next;
    else this.#tx = next;
    // Purge the queue that belongs to this ring: RX loses every unread COPY message.
    if (which === 'rx') {
      this.#queue = [];
      this.#rmem = 0;
    }
    this.#layout(keep, keepBytes);
    return 0;
  }

  /** mmap(length, offset): docs/netlink-ring.md §1.3. Returns the ring memory or a negative errno. */
  mmap(length: number, offset = 0): ArrayBuffer | number {
    if (offset !== 0) return -EINVAL;
    if (!this.#rx && !this.#tx) return -EINVAL;
    if (length !== this.#memory.byteLength) return -EINVAL;
    this.mapped++;
    return this.#memory;
  }

  /**
   * munmap of one mapping. Given the ArrayBuffer mmap returned, it is detached, as kring's native
   * munmap detaches a real mapping: a consumer that touches the ring after unmapping it throws here
   * as it would on a real kernel. The ring's contents stay the kernel's (moved to new memory).
   */
  munmap(mapping?: ArrayBuffer): void {
    if (this.mapped > 0) this.mapped--;
    if (mapping === undefined || mapping !== this.#memory || mapping.byteLength === 0) return;
    this.#memory = structuredClone(mapping, { transfer: [mapping] });
    this.#dv = new DataView(this.#memory);
    this.#words = new Int32Array(this.#memory);
  }

  /**
   * setsockopt of an option other than the ring's: -ENOPROTOOPT where the profile's kernel lacks
   * it ({@link OPTIONS_AFTER_THE_RING}), undefined where the real socket answers.
   */
  option(level: number, name: number): number | undefined {
    if (this.profile === undefined) return undefined;
    for (const [l, n] of Object.values(OPTIONS_AFTER_THE_RING)) if (l === level && n === name) return -ENOPROTOOPT;
    return undefined;
  }

  #bytesOf(r: RingState): Uint8Array {
    return new Uint8Array(this.#memory, r.base, r.geometry.blockSize * r.geometry.blockCount).slice();
  }

  // New memory with RX first, TX after; the ring that was not reconfigured keeps its contents.
  #layout(keep: RingState | null, keepBytes: Uint8Array | null): void {
    const rxBytes = this.#rx ? this.#rx.geometry.blockSize * this.#rx.geometry.blockCount : 0;
    const txBytes = this.#tx ? this.#tx.geometry.blockSize * this.#tx.geometry.blockCount : 0;
    if (this.#rx) this.#rx.base = 0;
    if (this.#tx) this.#tx.base = rxBytes;
    this.#memory = new ArrayBuffer(rxBytes + txBytes);
    this.#dv = new DataView(this.#memory);
    this.#words = new Int32Array(this.#memory);
    if (keep && keepBytes) new Uint8Array(this.#memory, keep.base, keepBytes.length).set(keepBytes);
  }

  // --- §2: RX --------------------------------------------------------------------------------

  #setRx(i: number, status: number): void {
    // Full barrier, then the status store (docs/netlink-ring.md §2.6): Atomics.store is sequentially consistent.
    Atomics.store(this.#words, this.rxFrame(i) >>> 2, status);
  }

  #writeHeader(at: number, len: number, meta: MessageMeta): void {
    const dv = this.#dv;
    dv.setUint32(at + NL_MMAP_HDR.nm_len, len, true);
    dv.setUint32(at + NL_MMAP_HDR.nm_group, meta.group ?? 0, true);
    dv.setUint32(at + NL_MMAP_HDR.nm_pid, meta.pid ?? 0, true);
    dv.setUint32(at + NL_MMAP_HDR.nm_uid, meta.uid ?? 0, true);
    dv.setUint32(at + NL_MMAP_HDR.nm_gid, meta.gid ?? 0, true);
  }

  /** Overrun (§2.5): count it; raise ENOBUFS once per congestion episode unless NETLINK_NO_ENOBUFS. */
  overrun(): void {
    this.drops++;
    if (!this.#opt.noEnobufs && !this.congested) {
      this.congested = true;
      this.skErr = ENOBUFS;
    }
  }

  /**
   * The in-ring allocator (§2.3 steps 1–4). `null` with `reason: 'fallback'` when the socket has no
   * RX ring or `size` does not fit a frame (the producer then takes the COPY path); `null` with
   * `reason: 'full'` when the head frame (after stepping over SKIP frames) is not UNUSED: an overrun.
   */
  reserve(size: number): { reservation: Reservation | null; reason: 'ok' | 'fallback' | 'full' } {
    const rx = this.#rx;
    if (!rx || size > rx.geometry.frameSize - NL_MMAP_HDRLEN) return { reservation: null, reason: 'fallback' };
    const n = rx.geometry.frameCount;
    // 4.5 steps over consecutive SKIP frames (at most one lap); 3.10's helper never did.
    if (this.#opt.version === '4.5') {
      for (let lap = 0; lap < n && this.rxStatus(rx.head) === NL_MMAP_STATUS_SKIP; lap++) rx.head = (rx.head + 1) % n;
    }
    if (this.rxStatus(rx.head) !== NL_MMAP_STATUS_UNUSED) {
      this.overrun();
      return { reservation: null, reason: 'full' };
    }
    const frame = rx.head;
    this.#setRx(frame, NL_MMAP_STATUS_RESERVED);
    rx.pending++;
    rx.head = (rx.head + 1) % n;
    return { reservation: { frame, capacity: rx.geometry.frameSize - NL_MMAP_HDRLEN }, reason: 'ok' };
  }

  /** Delivers a reserved message (§2.3 step 5): header, then VALID. `offset` places it in the frame (trimmed dumps). */
  deliver(r: Reservation, msg: Uint8Array, meta: MessageMeta = {}, offset = NL_MMAP_HDRLEN): void {
    const at = this.rxFrame(r.frame);
    new Uint8Array(this.#memory, at + offset, msg.length).set(msg);
    this.#writeHeader(at, msg.length, meta);
    this.#rx!.pending--;
    this.#setRx(r.frame, NL_MMAP_STATUS_VALID);
  }

  /** A reserved message freed undelivered (socket filter, producer error): VALID with nm_len 0, other fields stale. */
  dropReserved(r: Reservation): void {
    this.#dv.setUint32(this.rxFrame(r.frame) + NL_MMAP_HDR.nm_len, 0, true);
    this.#rx!.pending--;
    this.#setRx(r.frame, NL_MMAP_STATUS_VALID);
  }

  /**
   * A producer with ring support (dump chunk, ACK, nfqueue): in-ring when it fits, else the COPY
   * path. Returns where it went.
   */
  sendInRing(msg: Uint8Array, meta: MessageMeta = {}): 'ring' | 'copy' | 'dropped' {
    const { reservation, reason } = this.reserve(msg.length);
    if (reservation) {
      this.deliver(reservation, msg, meta);
      return 'ring';
    }
    return reason === 'full' ? 'dropped' : this.sendCopy(msg, meta);
  }

  /**
   * The COPY path (§2.4): every other message (multicast, notifications, user-space senders,
   * oversize ring producers). Admission (rmem, congestion), then the head frame itself must be
   * UNUSED: SKIP frames are not stepped over here.
   */
  sendCopy(msg: Uint8Array, meta: MessageMeta = {}): 'copy' | 'dropped' {
    if (this.#rmem > this.#opt.rcvbuf || this.congested) {
      this.overrun();
      return 'dropped';
    }
    const rx = this.#rx;
    if (!rx) {
      this.#queue.push(msg.slice());
      this.#rmem += msg.length;
      return 'copy';
    }
    if (this.rxStatus(rx.head) !== NL_MMAP_STATUS_UNUSED) {
      this.overrun();
      return 'dropped';
    }
    const frame = rx.head;
    rx.head = (rx.head + 1) % rx.geometry.frameCount;
    this.#queue.push(msg.slice());
    this.#rmem += msg.length;
    this.#writeHeader(this.rxFrame(frame), msg.length, meta);
    this.#setRx(frame, NL_MMAP_STATUS_COPY);
    return 'copy';
  }

  /** poll() (§2.7; 3.10's POLLIN rule with version '3.10'). */
  poll(): { in: boolean; out: boolean; err: boolean } {
    const rx = this.#rx;
    if (this.#dump && rx) {
      const max = rx.geometry.frameCount - 1;
      for (;;) {
        if (!this.#dump) break;
        let n = rx.head + Math.floor(max / 2);
        if (n > max) n -= max; // the kernel's off-by-one wrap (docs/netlink-ring.md §5.2)
        if (this.rxStatus(rx.head) !== NL_MMAP_STATUS_UNUSED || this.rxStatus(n) !== NL_MMAP_STATUS_UNUSED) break;
        const err = this.#dumpChunk();
        if (err) {
          this.#dumpError(err);
          break;
        }
      }
    }
    if (rx && this.#queue.length === 0) this.congested = false;
    const mask = { in: this.#queue.length > 0, out: true, err: this.skErr !== 0 };
    if (!mask.in && rx) {
      const n = rx.geometry.frameCount;
      if (this.#opt.version === '4.5') {
        for (let i = 0; i < n && !mask.in; i++) mask.in = this.rxStatus(i) === NL_MMAP_STATUS_VALID;
      } else {
        mask.in = this.rxStatus((rx.head + n - 1) % n) !== NL_MMAP_STATUS_UNUSED;
      }
    }
    return mask;
  }

  /**
   * recv() on the socket (§2.8): a pending error first (once), then the next COPY message. Records
   * the buffer length into max_recvmsg_len; may continue a dump afterwards.
   */
  recv(bufLen: number): { data: Uint8Array; len: number; truncated: boolean } | number {
    this.maxRecvmsgLen = Math.max(this.maxRecvmsgLen, Math.min(bufLen, MAX_RECVMSG_LEN));
    if (this.skErr) {
      const e = this.skErr;
      this.skErr = 0;
      return -e;
    }
    const msg = this.#queue.shift();
    if (!msg) return -EAGAIN;
    this.#rmem -= msg.length;
    if (this.#queue.length === 0) this.congested = false;
    if (this.#dump && this.#rmem <= this.#opt.rcvbuf / 2) {
      const err = this.#dumpChunk();
      if (err) this.#dumpError(err);
    }
    return { data: msg.subarray(0, Math.min(bufLen, msg.length)), len: msg.length, truncated: bufLen < msg.length };
  }

  // A dump step that failed in poll() or recv() (§5.2: 3.10 stored it negated, `sk_err = err`,
  // so SO_ERROR then reads -errno and the next recv() returns +errno as if it were a length).
  #dumpError(err: number): void {
    this.skErr = this.#opt.version === '3.10' ? -err : err;
  }

  /** getsockopt(SO_ERROR): reads and clears the pending error. */
  soError(): number {
    const e = this.skErr;
    this.skErr = 0;
    return e;
  }

  // --- §3: TX --------------------------------------------------------------------------------

  /**
   * sendto(fd, NULL, 0) on a socket with a TX ring (§3.2, 4.5's always-copying walk). `deliver`
   * plays the destination: it gets each datagram and answers 0 or a negative errno
   * (ECONNREFUSED for an unknown port id). Returns the total length sent, 0 when the head frame is
   * not VALID, or the error alone.
   */
  sendTx(deliver: (datagram: Uint8Array) => number = () => 0): number {
    const tx = this.#tx;
    if (!tx) return -EINVAL;
    let total = 0;
    for (;;) {
      const i = tx.head;
      if (this.txStatus(i) !== NL_MMAP_STATUS_VALID) return total;
      const at = this.txFrame(i);
      const len = this.#dv.getUint32(at + NL_MMAP_HDR.nm_len, true); // read once
      if (len > tx.geometry.frameSize - NL_MMAP_HDRLEN) return -EINVAL;
      const datagram = new Uint8Array(this.#memory, at + NL_MMAP_HDRLEN, len).slice();
      Atomics.store(this.#words, at >>> 2, NL_MMAP_STATUS_UNUSED);
      tx.head = (i + 1) % tx.geometry.frameCount;
      const err = deliver(datagram);
      if (err < 0) return err;
      total += len;
    }
  }

  // --- §4: dumps -----------------------------------------------------------------------------

  /**
   * Starts a dump of `records` (complete netlink messages) ended by `done` (NLMSG_DONE), and
   * produces its first chunk at once, as the kernel does inside the request's sendmsg.
   */
  startDump(records: Uint8Array[], done: Uint8Array, minAlloc = 0): number {
    this.#dump = { records, next: 0, done, minAlloc };
    const err = this.#dumpChunk();
    if (err) this.skErr = err;
    return err ? -err : 0;
  }

  // One chunk (netlink_dump): allocation size from max_recvmsg_len or NLMSG_GOODSIZE, in-ring when it
  // fits a frame (then the whole frame payload may be filled), else a normal buffer on the COPY
  // path. Returns 0 or a positive errno (ENOBUFS when the ring is full: the dump stays active).
  #dumpChunk(): number {
    const d = this.#dump!;
    const rx = this.#rx;
    const minAlloc = Math.max(d.minAlloc, NLMSG_GOODSIZE);
    const sizes = this.maxRecvmsgLen > minAlloc ? [this.maxRecvmsgLen, minAlloc] : [minAlloc];
    let reservation: Reservation | null = null;
    let allocSize = 0;
    let full = 0;
    for (const size of sizes) {
      const r = this.reserve(size);
      if (r.reservation) {
        reservation = r.reservation;
        allocSize = size;
        break;
      }
      if (r.reason === 'fallback') {
        allocSize = size;
        break;
      }
      full++;
    }
    if (full === sizes.length) return ENOBUFS;
    // In-ring chunks may fill the whole frame payload (4.5); trimmed ones (4.3/4.4) only their allocation.
    const capacity = reservation ? (this.#opt.trimmedDumps ? Math.min(allocSize, reservation.capacity) : reservation.capacity) : allocSize;
    const parts: Uint8Array[] = [];
    let used = 0;
    if (d.next < d.records.length) {
      while (d.next < d.records.length && used + d.records[d.next].length <= capacity) {
        parts.push(d.records[d.next]);
        used += d.records[d.next++].length;
      }
      if (parts.length === 0) parts.push(d.records[d.next++]); // an oversize record still goes (truncation is the kernel's problem)
    } else {
      parts.push(d.done);
      this.#dump = null;
    }
    const chunk = concat(parts);
    if (reservation) {
      // 4.3/4.4 trimmed the skb to the allocation size, which moved the chunk to the end of the
      // frame's alloc area (docs/netlink-ring.md §8).
      const offset = this.#opt.trimmedDumps ? rx!.geometry.frameSize - allocSize : NL_MMAP_HDRLEN;
      this.deliver(reservation, chunk, {}, Math.max(NL_MMAP_HDRLEN, offset));
    } else if (this.sendCopy(chunk) === 'dropped') {
      // A COPY-path chunk that meets a busy head is lost while the dump goes on (§4).
    }
    return 0;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Errno values the simulator answers with (negated), for tests. */
export const SIM_ERRNO = { EPERM, ENOENT, EAGAIN, ENOMEM, EBUSY, EINVAL, ENOPROTOOPT, ENOBUFS, ECONNREFUSED } as const;
