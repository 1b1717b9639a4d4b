/**
 * The emulated netlink RX ring (docs/netlink-ring.md §7): the kernel's NETLINK_RX_RING frame protocol, played by
 * kring over an ordinary netlink socket on kernels that no longer have the ring (Linux ≥ 4.6).
 *
 * kring owns the ring memory. {@link EmulatedRxRing.fill} is the "kernel": one native recvmmsg per
 * wake-up puts datagrams into free frames exactly where the kernel's in-ring allocator would (from
 * its head, stepping over SKIP frames, stopping at the first frame that is not UNUSED), so consumer
 * code reads the same statuses as on a 4.5 kernel: a datagram that fits becomes VALID; one larger
 * than a frame spills, is kept whole in a FIFO and its frame becomes COPY (read it with
 * {@link EmulatedRxRing.recvCopy}, as kernel-mode consumers call recv). When no frame is free, nothing
 * is read: datagrams wait in the socket buffer (back-pressure, not loss).
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import {
  MSG_TRUNC,
  NL_MMAP_HDRLEN,
  NL_MMAP_STATUS_COPY,
  NL_MMAP_STATUS_RESERVED,
  NL_MMAP_STATUS_SKIP,
  NL_MMAP_STATUS_UNUSED,
  NL_MMAP_STATUS_VALID,
} from '../constants';
import { encodeNlMmapHeader, nlMmap } from '../layouts/nl-mmap';
import { RingError } from '../errors';
import { NativeRecvPlan, native, RECV_META_WORDS } from '../native';
import { netlinkRecvInfo, recvInfo } from './recv-info';
import type { RingGeometry } from '../layouts/types';
import { Ring } from '../ring/ring';
import { nlRingMemory } from './ring-memory';

const { ENOBUFS, EMSGSIZE } = osConstants.errno;

/** Options of {@link EmulatedRxRing}. */
export interface EmulatedRxOptions {
  /** Frames filled per native call (per wake-up); default 64, at most 1024. */
  batch?: number;
  /** Bytes a datagram may spill past its frame before it is truncated; default 64 KiB. */
  spillBytes?: number;
  /** Page size for the geometry rules; default 4096. */
  pageSize?: number;
}

// Where one recvmmsg's datagrams go and what it reports: the frames it reserved, their payload
// offsets, the spill area behind each, the per-message metadata. The synchronous fill uses the
// whole arrays; the fills a read-ahead keeps outstanding use one part each.
interface FillArea {
  frames: Uint32Array;
  offsets: Float64Array;
  spill: Uint8Array;
  meta: Uint32Array;
  /** The same memory as `meta`, for reading the raw address and control messages in it. */
  metaView: DataView;
}

/**
 * Fills a read-ahead keeps outstanding, each on its own part of the batch: one being received
 * while the others wait their turn. Four quarters let the receive thread run up to three quarters
 * of the batch ahead of the consumer (two halves: one half), enough that the consumer's first,
 * not yet optimised, batches do not leave the receive thread waiting (docs/benchmarks.md).
 */
const READ_AHEAD_DEPTH = 4;

/** The emulated kernel side of an RX ring, over a netlink socket's fd. */
export class EmulatedRxRing {
  /** The ring memory (frames laid out with the block formula). */
  readonly buffer: ArrayBuffer;
  /** The consumer's view: the same generic ring, the `nl_mmap_hdr` layout. */
  readonly ring: Ring<typeof nlMmap>;
  /** Frame payload capacity: frame_size - NL_MMAP_HDRLEN. */
  readonly capacity: number;
  #fd: number;
  #dv: DataView;
  #head = 0;
  #batch: number;
  #spillBytes: number;
  #info = recvInfo();
  #whole: FillArea;
  #wholePlan: NativeRecvPlan | null = null;
  #parts: FillArea[];
  #fifo: Uint8Array[] = [];
  #pendingError = 0;
  // Read-ahead fills outstanding, and the frame after the last one they reserved.
  #outstanding = 0;
  #claimFrom = 0;
  #nextPart = 0;
  #short = false;
  #failure: Error | null = null;
  // After close(): what runs once the last outstanding fill is back and the memory is unmapped.
  #closing: (() => void) | null = null;
  #closed = false;
  // A produce() or readAhead() that came while a fill was in flight: that fill may have read before
  // the data came, so its completion wakes the consumer even when it filled nothing.
  #missed = false;
  #drained = false;
  #spillMap: ArrayBuffer | null;

  /**
   * @param fd a netlink socket with NETLINK_PKTINFO and SO_PASSCRED set (for nm_group and the
   *   credentials); kring owns it and reads it only through {@link fill}
   * @throws TypeError / RangeError for a geometry the kernel would refuse
   */
  constructor(fd: number, geometry: RingGeometry, options: EmulatedRxOptions = {}) {
    const batch = options.batch ?? 64;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new RangeError(`batch must be 1..1024, got ${batch}`);
    const spill = options.spillBytes ?? 65536;
    if (!Number.isInteger(spill) || spill < 0) throw new RangeError(`spillBytes must be a non-negative integer, got ${spill}`);
    const mem = nlRingMemory(geometry, options.pageSize ?? 4096, 'NETLINK_RX_RING');
    this.#fd = fd;
    this.buffer = mem.buffer;
    this.#dv = mem.dv;
    this.ring = mem.ring;
    this.capacity = mem.capacity;
    this.#batch = Math.min(batch, this.ring.size);
    this.#spillBytes = spill;
    const b = this.#batch;
    // The spill area (the overflow of datagrams larger than a frame: rare) is a mapping of its own,
    // not a JavaScript buffer: its pages cost nothing until written, and close() unmaps it at once.
    // As an ArrayBuffer of a megabyte or more, zeroed by calloc from malloc's heap once glibc's
    // dynamic mmap threshold has risen, every socket touched all of it, and freed only at a later
    // GC into a heap glibc does not give back: RSS grew by about 300 KiB per socket opened
    // (test/soak).
    try {
      this.#spillMap = b * spill > 0 ? native.krMmap(-1, b * spill, 'NETLINK_RX_RING spill') : null;
    } catch (e) {
      native.krMunmap(mem.buffer, 'NETLINK_RX_RING'); // the spill area could not be mapped: undo the ring
      throw e;
    }
    const meta = new Uint32Array(b * RECV_META_WORDS);
    this.#whole = {
      frames: new Uint32Array(b),
      offsets: new Float64Array(b),
      spill: this.#spillMap ? new Uint8Array(this.#spillMap) : new Uint8Array(0),
      meta,
      metaView: new DataView(meta.buffer),
    };
    const part = (k: number, n: number): FillArea => ({
      frames: this.#whole.frames.subarray(k * n, (k + 1) * n),
      offsets: this.#whole.offsets.subarray(k * n, (k + 1) * n),
      spill: this.#whole.spill.subarray(k * n * spill, (k + 1) * n * spill),
      meta: this.#whole.meta.subarray(k * n * RECV_META_WORDS, (k + 1) * n * RECV_META_WORDS),
      metaView: new DataView(this.#whole.meta.buffer, k * n * RECV_META_WORDS * 4, n * RECV_META_WORDS * 4),
    });
    const parts = Math.min(READ_AHEAD_DEPTH, b);
    this.#parts = Array.from({ length: parts }, (_, k) => part(k, Math.floor(b / parts)));
  }

  /** The emulated kernel's head: the next frame it hands out. */
  get head(): number {
    return this.#head;
  }
  /** Datagrams waiting behind COPY frames. */
  get queued(): number {
    return this.#fifo.length;
  }
  /** A pending error (ENOBUFS after a socket overrun, EMSGSIZE after a truncation), or 0. */
  get pendingError(): number {
    return this.#pendingError;
  }

  /**
   * Whether the last {@link fill} found the socket's queue empty (it received fewer datagrams than
   * frames it had), nothing is queued behind COPY frames and no read-ahead is outstanding: the
   * consumer can wait for the next poll wake-up instead of filling again to meet EAGAIN.
   */
  get drained(): boolean {
    return this.#drained && this.#fifo.length === 0 && this.#outstanding === 0;
  }

  /** Whether a {@link fillAsync} is outstanding (its frames are RESERVED until it completes). */
  get busy(): boolean {
    return this.#outstanding > 0;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Ends the ring: nothing is filled or delivered after this. The memory is detached (stale views
   * throw) and unmapped, then `then` runs (the owner closes the fd there): at once, or, with fills
   * outstanding, when the last of them is back, so the receive thread never writes into unmapped
   * memory or reads a closed (or reused) fd number. Idempotent.
   */
  close(then: () => void = () => {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = then;
    if (this.#outstanding === 0) this.#release();
  }

  #release(): void {
    const then = this.#closing!;
    this.#closing = null;
    native.krMunmap(this.buffer, 'NETLINK_RX_RING');
    if (this.#spillMap) native.krMunmap(this.#spillMap, 'NETLINK_RX_RING spill');
    then();
  }

  /**
   * Fills free frames from the socket: one recvmmsg. Returns the number of frames filled (0 when
   * nothing was queued, no frame is free, a {@link fillAsync} is in flight or the ring is closed).
   * @throws RingError when the socket fails other than EAGAIN/ENOBUFS (or a fillAsync failed)
   */
  fill(): number {
    if (this.#failure) {
      const e = this.#failure;
      this.#failure = null;
      throw e;
    }
    if (this.#outstanding > 0 || this.#closed) return 0;
    const a = this.#whole;
    // Not marked RESERVED: nothing runs between here and #settle but the native receive, so no
    // reader can see the frames in between (a read-ahead's frames are marked: the consumer runs
    // while its receive is in flight). The frames the receive does not fill stay UNUSED untouched.
    const n = this.#reserve(a, this.#head, this.#batch, false);
    if (n === 0) {
      // No free frame: what the socket holds was not asked for, so it is not known to be empty.
      this.#drained = false;
      return 0;
    }
    // One N-API crossing per fill: the fill area's arrays were handed over once (RecvPlan).
    const plan = (this.#wholePlan ??= new native.RecvPlan(this.#recvArgs(a)));
    let got = 0;
    try {
      got = plan.recv(n);
    } catch (e) {
      if (!(e instanceof RingError) || e.errno !== ENOBUFS) throw e;
      // The socket overran: report it once (as the kernel ring does through sk_err) and read on at
      // once. The kernel marks an overrun socket congested and drops everything more until its
      // queue is drained, so stopping here would stall the stream.
      this.#pendingError = ENOBUFS;
      got = recvAgain(() => plan.recv(n));
    }
    // Fewer than asked: the socket's queue was empty then. Its next datagram is a new edge for the
    // (edge-triggered) poll handle, so the consumer need not ask again until that wake-up.
    this.#drained = got < n;
    return this.#settle(a, got, got);
  }

  /**
   * The same fill, received on kring's receive thread: the emulated kernel then runs beside the
   * consumer, as the real one does. For a dump that is most of the cost, because netlink_recvmsg
   * builds the next chunks in the receiver's context; reading the chunks already here overlaps it.
   * Up to four are outstanding, each taking at most a quarter of the batch, so the receive thread
   * goes from one straight to the next. Their frames are RESERVED until `done` runs (on the
   * JavaScript thread, in ring order, after they became VALID or COPY). A fill queued behind one
   * that comes back short is not run (its frames would follow a gap of free frames). A failure
   * is kept and thrown by the next {@link fill}. Returns false, without calling `done`, when four
   * are outstanding already, a failure is pending, no frame is free or the ring is closed. After
   * {@link close}, `done` is not called.
   */
  fillAsync(done: (filled: number) => void): boolean {
    if (this.#outstanding >= this.#parts.length || this.#failure || this.#closed) return false;
    // Behind a fill that came back short, queue nothing until the ones outstanding are back: a
    // chained fill would not be run anyway.
    if (this.#short && this.#outstanding > 0) return false;
    this.#short = false;
    const chained = this.#outstanding > 0;
    // The parts take turns: the one an outstanding fill uses is never the next one.
    const a = this.#parts[this.#nextPart];
    const n = this.#reserve(a, chained ? this.#claimFrom : this.#head, a.frames.length, true);
    if (n === 0) return false;
    this.#nextPart = (this.#nextPart + 1) % this.#parts.length;
    this.#outstanding++;
    this.#claimFrom = a.frames[n - 1] + 1 === this.ring.size ? 0 : a.frames[n - 1] + 1;
    native.krRecvmmsgStart({
      ...this.#recvArgs(a),
      count: n,
      chained,
      done: (error, got, overran) => {
        this.#outstanding--;
        if (this.#closed) {
          if (this.#outstanding === 0) this.#release();
          return;
        }
        if (got < n || error) this.#short = true;
        if (overran) this.#pendingError = ENOBUFS;
        if (error) this.#failure = error;
        done(this.#settle(a, got, n));
      },
    });
    return true;
  }

  /**
   * The consumer's produce step (NetlinkRingBackend.produce): one {@link fill}, or, while read-ahead
   * fills are outstanding (their completion wakes the consumer), a note that a wake-up came.
   * @throws RingError as {@link fill}
   */
  produce(): void {
    if (this.#outstanding > 0) this.#missed = true;
    else this.fill();
  }

  /**
   * Keeps the producer filling ahead, beside the consumer: queues {@link fillAsync} up to the
   * read-ahead depth. `wake` runs (on the JavaScript thread) when a fill brought frames, or when a
   * wake-up was missed while one was in flight; a fill that brought nothing and missed nothing
   * does not wake, so an idle socket waits for its next poll wake-up instead of spinning.
   * Does nothing after {@link close}.
   */
  readAhead(wake: () => void): void {
    if (this.#closed) return;
    if (this.#outstanding > 0) this.#missed = true;
    const done = (filled: number): void => {
      const again = filled > 0 || this.#missed;
      this.#missed = false;
      if (again) wake();
    };
    while (this.fillAsync(done));
  }

  // One recvmmsg's arguments, but the count: datagrams into the frames `a` reserved (their payload offsets).
  #recvArgs(a: FillArea) {
    return {
      fd: this.#fd,
      buffer: this.buffer,
      offsets: a.offsets,
      capacity: this.capacity,
      spill: a.spill,
      spillSize: this.#spillBytes,
      meta: a.meta,
      op: 'NETLINK_RX_RING',
    };
  }

  // Takes up to `limit` frames the kernel's allocator would use next, from `from`, and (`mark`)
  // marks them RESERVED, as the kernel does while it builds a message in a frame. Returns how many.
  #reserve(a: FillArea, from: number, limit: number, mark: boolean): number {
    const n = this.#claim(a.frames, from, limit);
    for (let i = 0; i < n; i++) {
      const f = a.frames[i];
      if (mark) this.ring.setStatus(f, NL_MMAP_STATUS_RESERVED);
      a.offsets[i] = this.ring.slotOffsets[f] + NL_MMAP_HDRLEN;
    }
    return n;
  }

  // `filled` of the `reserved` frames received datagrams: they become VALID or COPY; the rest go
  // back to UNUSED, as the kernel never reserved them.
  #settle(a: FillArea, filled: number, reserved: number): number {
    for (let i = 0; i < filled; i++) this.#complete(a, i);
    for (let i = filled; i < reserved; i++) this.ring.setStatus(a.frames[i], NL_MMAP_STATUS_UNUSED);
    return filled;
  }

  /**
   * The next whole datagram behind a COPY frame, in frame order, with recv-like semantics: a
   * pending error is answered first, once (as sock_error() does); EAGAIN when none is queued.
   */
  recvCopy(): Uint8Array | { errno: number } {
    if (this.#pendingError) {
      const errno = this.#pendingError;
      this.#pendingError = 0;
      return { errno };
    }
    return this.#fifo.shift() ?? { errno: 11 };
  }

  // The frames the kernel's allocator would use next: from head, step over SKIP, take UNUSED,
  // stop at anything else or after one lap. The emulated head moves as frames are filled.
  #claim(out: Uint32Array, from: number, limit: number): number {
    const ring = this.ring;
    let i = from;
    let n = 0;
    for (let seen = 0; seen < ring.size && n < limit; seen++) {
      const s = ring.status(i);
      if (s === NL_MMAP_STATUS_UNUSED) out[n++] = i;
      else if (s !== NL_MMAP_STATUS_SKIP) break;
      i = i + 1 === ring.size ? 0 : i + 1;
    }
    return n;
  }

  // Datagram i arrived: header fields, then the status (Ring.setStatus; the consumer reads it on this thread).
  #complete(a: FillArea, i: number): void {
    const m = netlinkRecvInfo(a.metaView, i, this.#info);
    const f = a.frames[i];
    const at = this.ring.slotOffsets[f];
    const len = m.len;
    encodeNlMmapHeader(this.#dv, at, m);
    let status = NL_MMAP_STATUS_VALID;
    if (len > this.capacity) {
      // Spilled: keep the datagram whole for recvCopy, as the kernel queues a COPY message.
      const spilled = Math.min(len - this.capacity, this.#spillBytes);
      const whole = new Uint8Array(this.capacity + spilled);
      whole.set(new Uint8Array(this.buffer, at + NL_MMAP_HDRLEN, this.capacity));
      whole.set(a.spill.subarray(i * this.#spillBytes, i * this.#spillBytes + spilled), this.capacity);
      this.#fifo.push(whole);
      if (m.flags & MSG_TRUNC && len > this.capacity + this.#spillBytes) this.#pendingError = EMSGSIZE;
      status = NL_MMAP_STATUS_COPY;
    }
    this.ring.setStatus(f, status);
    this.#head = f + 1 === this.ring.size ? 0 : f + 1;
  }
}

// A read right after an overrun: a second ENOBUFS in a row reads nothing this time.
function recvAgain(recv: () => number): number {
  try {
    return recv();
  } catch (e) {
    if (e instanceof RingError && e.errno === ENOBUFS) return 0;
    throw e;
  }
}
