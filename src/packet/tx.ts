/**
 * {@link PacketWriter}: the AF_PACKET TX ring's batched writer (PACKET_TX_RING), on the same
 * {@link RingWriter} the netlink TX ring uses.
 *
 * Fill, then kick: `write()` copies a frame into the next free slot and marks it
 * TP_STATUS_SEND_REQUEST (a release store, no syscall); one `send(fd, NULL, 0)` hands every
 * submitted frame to `tpacket_snd()`, which sends them in ring order from its own head. A batch is
 * kicked when it reaches `batch` frames, and a partial one at the end of the current microtask.
 *
 * What a slot's status means (net/packet/af_packet.c, `tpacket_snd()` and `tpacket_destruct_skb()`
 * at v6.18): SEND_REQUEST is submitted and not yet taken; SENDING is taken, in flight; AVAILABLE
 * is free again (the driver released the skb, or PACKET_LOSS skipped a malformed frame);
 * WRONG_FORMAT is refused (without PACKET_LOSS: the kernel's head stays on it, so the ring cannot
 * go on and the writer fails).
 *
 * Back-pressure: `write()` returns false when the slot at the head is not free; waiting is on
 * EPOLLOUT through the socket's poll handle, one JavaScript wake-up per kernel wake-up, never a
 * timer or a spin.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { Observable } from 'rxjs/internal/Observable';
import { GuardedObservable, guarded } from '../guarded';
import { Subject } from 'rxjs/internal/Subject';
import { ETH_P_8021AD, ETH_P_8021Q, TP_STATUS_AVAILABLE, TP_STATUS_SEND_REQUEST, TP_STATUS_WRONG_FORMAT } from '../constants';
import { errnoText, RingError } from '../errors';
import type { SlotLayout, TxFrameLayout } from '../layouts/types';
import { Ring } from '../ring/ring';
import { RingWriter } from '../ring/writer';
import { describe, int } from '../validate';
import { armCancel, CancelOptions, cancelOptionsError } from '../cancel';

const { EINVAL, EMSGSIZE, ENETDOWN, ENOBUFS } = osConstants.errno;

/** Running totals of a {@link PacketWriter}. */
export interface TxStats {
  /** Frames written into the ring. */
  written: number;
  /** Frames the kernel took and sent (handed to the device's queue). */
  sent: number;
  /** Frames the kernel refused (TP_STATUS_WRONG_FORMAT, or skipped with PACKET_LOSS). */
  wrongFormat: number;
  /** `send()` calls made (kicks), retries included. */
  kicks: number;
}

/** A frame the kernel refused. */
export interface WrongFormatReport {
  /** Which write it was: 0 for the writer's first frame, counting every frame written. */
  sequence: number;
  /** Ring slot index, or -1 when the kernel skipped frames (PACKET_LOSS) that kring could not single out. */
  frame: number;
  /** The frame's length in bytes (with frame -1: the bytes skipped). */
  length: number;
  /** Why, in words. */
  reason: string;
  /** The kernel's errno: EMSGSIZE (too long for the device) or EINVAL (too short, or a bad offset). */
  errno: number;
  /** Whether the kernel skipped the frame and went on (PACKET_LOSS) rather than stopping. */
  skipped: boolean;
}

/** Progress of a {@link PacketWriter.sink}. */
export interface TxProgress {
  /** Frames of the source written into the ring so far. */
  written: number;
  /** Frames of the source the kernel has taken so far. */
  sent: number;
  /** Frames received from the source and waiting for a free slot. */
  queued: number;
}

/** Cancels a wait of the writer ({@link CancelOptions}). */
export type TxWaitOptions = CancelOptions;

/**
 * The kernel refused a frame without PACKET_LOSS (TP_STATUS_WRONG_FORMAT): its head stays on that
 * frame, so the ring cannot go on and the writer has failed. A {@link RingError} with the report.
 */
export class WrongFormatError extends RingError {
  /** What was refused. */
  readonly report: WrongFormatReport;
  constructor(report: WrongFormatReport) {
    super(report.errno, 'send', 'PACKET_TX_RING', `frame ${report.frame} (write #${report.sequence}, ${report.length} bytes) was refused: ${report.reason}`);
    this.name = 'WrongFormatError';
    this.report = report;
  }
}

/** What the writer needs from its socket. @internal */
export interface TxHost {
  /** `send(fd, NULL, 0, flags)`: bytes the kernel took, -1 when it could take nothing now. */
  kick(): number;
  /** Whether the socket should wake the writer on EPOLLOUT. */
  setWaiting(on: boolean): void;
  /** The device's limits, for naming why a frame was refused. */
  readonly mtu: number;
  /** The link-layer header length the kernel requires (ETH_HLEN on Ethernet). */
  readonly linkHeader: number;
  /** Whether PACKET_LOSS is set: refused frames are skipped, not fatal. */
  readonly packetLoss: boolean;
}

/** Geometry and placement of the TX ring. @internal */
export interface TxRingSpec {
  ring: Ring<SlotLayout & TxFrameLayout>;
  mapping: ArrayBuffer;
  /** Where a frame's data starts, from the frame (the layout's default, or the PACKET_TX_HAS_OFF offset). */
  dataOffset: number;
  /** Whether the data offset is written into each frame (PACKET_TX_HAS_OFF). */
  hasOffset: boolean;
  frameSize: number;
  batch: number;
}

type Waiter = { ready: () => boolean; resolve: () => void; reject: (e: unknown) => void; disarm: () => void };

/**
 * The TX side of a {@link PacketSocket} opened with `tx`. Single-threaded like the socket: every
 * method runs on the thread that opened it.
 */
export class PacketWriter {
  /** Bytes a frame can hold (a longer write is a RangeError). The device may take fewer: see {@link WrongFormatReport}. */
  readonly capacity: number;
  /** Frames in the ring. */
  readonly frames: number;
  /** Frames per kick. */
  readonly batchSize: number;
  #ring: Ring<SlotLayout & TxFrameLayout>;
  #rw: RingWriter<SlotLayout & TxFrameLayout>;
  #host: TxHost;
  #bytes: Uint8Array;
  #slotOffsets: Float64Array;
  #dataOffset: number;
  #lens: Uint32Array;
  #seqs: Float64Array;
  #submitted = 0;
  #taken = 0;
  /** The slot of frame #taken: #taken % frames, kept without a division. */
  #takenSlot = 0;
  /** Bytes of the frames written and not taken yet: what a kick that takes them all returns. */
  #unsentBytes = 0;
  #stats: TxStats = { written: 0, sent: 0, wrongFormat: 0, kicks: 0 };
  #flushQueued = false;
  #failure: Error | null = null;
  #waiters: Waiter[] = [];
  #reports = new Subject<WrongFormatReport>();

  /** @internal */
  constructor(spec: TxRingSpec, host: TxHost) {
    this.#ring = spec.ring;
    this.#host = host;
    this.frames = spec.ring.size;
    this.batchSize = spec.batch;
    this.capacity = spec.frameSize - spec.dataOffset;
    this.#bytes = new Uint8Array(spec.mapping);
    this.#slotOffsets = spec.ring.slotOffsets;
    this.#dataOffset = spec.dataOffset;
    this.#lens = new Uint32Array(this.frames);
    this.#seqs = new Float64Array(this.frames);
    const layout = spec.ring.layout;
    const offset = spec.dataOffset;
    this.#rw = new RingWriter({
      ring: spec.ring,
      buffer: spec.mapping,
      payloadOffset: offset,
      capacity: this.capacity,
      writeLength: spec.hasOffset
        ? (dv, at, len) => {
            layout.setTxLen(dv, at, len);
            layout.setTxOffset(dv, at, offset);
          }
        : layout.setTxLen,
      kick: () => this.#kick(),
    });
  }

  /**
   * Copies `data` (one link-layer frame, from the Ethernet header) into the next free slot and
   * submits it. No syscall: the batch is kicked when it reaches {@link batchSize}, or at the end
   * of the current microtask. False when no slot is free: await {@link writable}, then write again.
   * @throws TypeError / RangeError for a bad argument or a frame longer than {@link capacity}
   * @throws the writer's failure once it has failed (a refused frame without PACKET_LOSS, a lost interface)
   */
  write(data: Uint8Array): boolean;
  /**
   * Fills the next free slot in place: `fill` gets a `length`-byte view of the slot (valid during
   * the call only) and writes the frame into it. If `fill` throws, nothing is submitted.
   */
  write(length: number, fill: (frame: Uint8Array) => void): boolean;
  write(a: Uint8Array | number, fill?: (frame: Uint8Array) => void): boolean {
    let length: number;
    if (typeof a === 'number') {
      length = a;
      if (!(Number.isInteger(a) && a >= 1 && a <= this.capacity)) int('length', a, 1, this.capacity, ` (the TX frame's capacity)`);
      if (typeof fill !== 'function') throw new TypeError(`write(length, fill) needs a fill function, got ${describe(fill)}`);
    } else if (a instanceof Uint8Array) {
      length = a.length;
      if (length === 0) throw new RangeError('a frame must not be empty');
    } else {
      throw new TypeError(`write() takes a Uint8Array or (length, fill), got ${describe(a)}`);
    }
    if (this.#failure) throw this.#failure;
    if (this.#submitted - this.#taken >= this.frames) this.#scanTaken();
    const slot = this.#ring.txHead;
    const ok = typeof a === 'number' ? this.#rw.tryWriteWith(length, fill!) : this.#rw.tryWrite(a);
    if (!ok) return false;
    this.#lens[slot] = length;
    this.#unsentBytes += length;
    this.#seqs[slot] = this.#submitted++;
    this.#stats.written++;
    if (this.#rw.pending >= this.batchSize) this.#rw.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#autoFlush);
    }
    return true;
  }

  /**
   * Kicks now: hands every submitted frame to the kernel (one syscall). Returns the frames the
   * kernel took with this call.
   * @throws the writer's failure (a {@link WrongFormatError}, or a {@link RingError} ENXIO or ENETDOWN for a lost interface);
   *   a RingError ENETDOWN when the interface is only down (not a failure: the frames wait, send again once it is up)
   */
  send(): number {
    if (this.#failure) throw this.#failure;
    return this.#rw.pending > 0 ? this.#rw.flush() : this.#submitted > this.#taken ? this.#kick() : 0;
  }

  /**
   * Resolves when the kernel has taken every frame written so far (kicking first). With
   * back-pressure in the kernel (a full socket send buffer) this waits for its wake-ups.
   */
  flush(options: TxWaitOptions = {}): Promise<void> {
    return this.#wait(options, () => {
      this.#scanTaken();
      return this.#taken === this.#submitted;
    });
  }

  /** Resolves when every frame of the ring is free again: everything written has left the device's queue. */
  drained(options: TxWaitOptions = {}): Promise<void> {
    return this.#wait(options, () => this.#allFree());
  }

  /** Resolves when the next {@link write} has a free slot. */
  writable(options: TxWaitOptions = {}): Promise<void> {
    return this.#wait(options, () => this.#ring.peekTx() >= 0);
  }

  /**
   * Writes every frame of `source` (pulled one at a time, so a generator is never run ahead of
   * the ring), waiting for free slots as needed, then waits for the kernel to take them. Returns
   * the number of frames written.
   */
  async writeAll(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options: TxWaitOptions = {}): Promise<number> {
    let n = 0;
    for await (const frame of source) {
      while (!this.write(frame)) await this.writable(options);
      n++;
    }
    await this.flush(options);
    return n;
  }

  /**
   * Consumes an Observable of frames without overrunning the ring: frames that arrive while the
   * ring is full wait in order (in memory) for free slots. Cold: subscribing subscribes to
   * `source$`; unsubscribing stops both. Emits progress once per wake-up that wrote something,
   * and a last time when the source has completed and the kernel has taken every frame; then
   * completes. Errors with the source's error or the writer's failure.
   */
  sink(source$: Observable<Uint8Array>): Observable<TxProgress> {
    return new GuardedObservable<TxProgress>((subscriber) => {
      const queue: Uint8Array[] = [];
      let head = 0;
      let written = 0;
      let sourceDone = false;
      let waiting = false;
      const stop = new AbortController();
      // Frames written before the sink began come first in the ring; the sink's count starts after them.
      const firstSeq = this.#submitted;
      const progress = (): TxProgress => {
        this.#scanTaken();
        return { written, sent: Math.min(written, Math.max(0, this.#taken - firstSeq)), queued: queue.length - head };
      };
      const fail = (e: unknown) => {
        stop.abort();
        subscriber.error(e);
      };
      const pump = (): void => {
        if (subscriber.closed || waiting) return;
        let wrote = 0;
        try {
          while (head < queue.length) {
            if (!this.write(queue[head])) break;
            queue[head++] = undefined as unknown as Uint8Array; // let the written frame go
            wrote++;
          }
        } catch (e) {
          fail(e);
          return;
        }
        written += wrote;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        if (wrote > 0) subscriber.next(progress());
        if (head < queue.length) {
          waiting = true;
          this.writable({ signal: stop.signal }).then(
            () => {
              waiting = false;
              pump();
            },
            (e) => {
              if (!stop.signal.aborted) fail(e);
            },
          );
        } else if (sourceDone) {
          waiting = true;
          this.flush({ signal: stop.signal }).then(
            () => {
              subscriber.next(progress());
              subscriber.complete();
            },
            (e) => {
              if (!stop.signal.aborted) fail(e);
            },
          );
        }
      };
      const inner = source$.subscribe({
        next: (frame) => {
          if (!(frame instanceof Uint8Array)) return fail(new TypeError(`sink() takes Uint8Array frames, got ${describe(frame)}`));
          queue.push(frame);
          if (!waiting && queue.length - head === 1) queueMicrotask(pump);
        },
        error: (e) => fail(e),
        complete: () => {
          sourceDone = true;
          if (!waiting) queueMicrotask(pump);
        },
      });
      return () => {
        stop.abort();
        inner.unsubscribe();
      };
    });
  }

  /**
   * Frames the kernel refused, as it happens: with PACKET_LOSS each skipped frame (the writer
   * goes on); without it the refused frame, after which the writer has failed and this errors
   * with the {@link WrongFormatError}. Hot; completes when the socket closes.
   */
  wrongFormat(): Observable<WrongFormatReport> {
    return guarded(this.#reports.asObservable());
  }

  /** Running totals. */
  stats(): TxStats {
    this.#scanTaken();
    return { ...this.#stats };
  }

  /** The socket woke the writer (EPOLLOUT, or an error event). @internal */
  _wake(): void {
    if (this.#failure) return;
    // Frames the kernel did not take (a full send buffer: tpacket_snd stopped at EAGAIN or the
    // qdisc refused one, leaving it SEND_REQUEST) are kicked again now that it has room.
    this.#scanTaken();
    if (this.#rw.pending === 0 && this.#submitted > this.#taken) {
      try {
        this.#kick();
      } catch {
        return; // the writer failed: waiters were rejected
      }
    }
    this.#settle();
  }

  /** The socket reported a fatal error (its interface is gone): the writer fails with it. @internal */
  _fail(e: Error): void {
    if (!this.#failure) this.#fail(e);
  }

  /** The socket closed: every wait rejects, writes throw, the reports complete. @internal */
  _close(reason: Error): void {
    const failed = this.#failure !== null;
    if (!failed) this.#failure = reason;
    for (const w of this.#waiters.splice(0)) {
      w.disarm();
      w.reject(reason);
    }
    this.#host.setWaiting(false);
    if (!failed) this.#reports.complete();
  }

  #autoFlush = (): void => {
    this.#flushQueued = false;
    if (this.#failure || this.#rw.pending === 0) return;
    try {
      this.#rw.flush();
    } catch {
      // The writer has failed: the failure is on every later call and on wrongFormat().
    }
  };

  // One kick; returns the frames the kernel took. A refused frame or a kernel failure fails the
  // writer (and throws); ENOBUFS (the qdisc dropped a frame, which the kernel leaves
  // SEND_REQUEST) is only back-pressure: the next wake-up kicks again.
  #kick(): number {
    this.#stats.kicks++;
    const before = this.#taken;
    let bytes: number;
    try {
      bytes = this.#host.kick();
    } catch (e) {
      if (e instanceof RingError && e.errno === ENOBUFS) {
        this.#scanTaken();
        this.#countSent(before, -1);
        this.#host.setWaiting(true);
        return this.#taken - before;
      }
      // The frames before the one that failed were sent.
      this.#scanTaken();
      this.#stats.sent += this.#taken - before;
      if (e instanceof RingError && e.errno === ENETDOWN) {
        // The interface is down, not gone (a gone one is ENXIO): tpacket_snd() checks IFF_UP before
        // it takes a frame, so the frames wait in the ring. Not the writer's end: what waits ends
        // with the error, and a send() once the interface is up again sends them.
        for (const w of this.#waiters.splice(0)) {
          w.disarm();
          w.reject(e);
        }
        this.#host.setWaiting(false);
        throw e;
      }
      throw this.#fail(e instanceof RingError && (e.errno === EINVAL || e.errno === EMSGSIZE) ? (this.#refused(e.errno) ?? e) : e);
    }
    if (bytes === this.#unsentBytes && bytes > 0) {
      // tpacket_snd() returns the bytes of the frames it sent: all of them, so every frame written
      // was taken, and no status needs loading to know it.
      this.#takeAll();
    } else {
      this.#scanTaken();
      this.#countSent(before, bytes);
    }
    if (this.#taken < this.#submitted) this.#host.setWaiting(true);
    return this.#taken - before;
  }

  // Every frame written was taken (and sent).
  #takeAll(): void {
    this.#stats.sent += this.#submitted - this.#taken;
    this.#taken = this.#submitted;
    this.#takenSlot = this.#ring.txHead;
    this.#unsentBytes = 0;
  }

  // Slots whose status left SEND_REQUEST were taken by the kernel, in ring order (it sends from its
  // own head, in order). A WRONG_FORMAT slot stops the walk: the kernel's head stays on it.
  #scanTaken(): void {
    const ring = this.#ring;
    let slot = this.#takenSlot;
    while (this.#taken < this.#submitted) {
      // Acquire load: pairs with __packet_set_status()'s release store in tpacket_snd()/tpacket_destruct_skb().
      const s = ring.status(slot);
      if (s === TP_STATUS_SEND_REQUEST || s & TP_STATUS_WRONG_FORMAT) break;
      this.#unsentBytes -= this.#lens[slot];
      this.#taken++;
      slot = slot + 1 === this.frames ? 0 : slot + 1;
    }
    this.#takenSlot = slot;
  }

  // The kick took frames [from, this.#taken) and reported `bytes` sent (-1: unknown). With
  // PACKET_LOSS a refused frame is skipped (AVAILABLE at once) and left out of the byte count:
  // the shortfall says how many bytes were skipped, and the device's rules say which frames.
  #countSent(from: number, bytes: number): void {
    const n = this.#taken - from;
    if (n === 0) return;
    if (bytes < 0 || !this.#host.packetLoss) {
      this.#stats.sent += n;
      return;
    }
    let expected = 0;
    for (let k = from; k < this.#taken; k++) expected += this.#lens[k % this.frames];
    const short = expected - bytes;
    if (short <= 0) {
      this.#stats.sent += n;
      return;
    }
    const suspects: WrongFormatReport[] = [];
    let sum = 0;
    for (let k = from; k < this.#taken; k++) {
      const slot = k % this.frames;
      const why = this.#whyRefused(slot);
      if (why) {
        suspects.push({ sequence: this.#seqs[slot], frame: slot, length: this.#lens[slot], reason: why.reason, errno: why.errno, skipped: true });
        sum += this.#lens[slot];
      }
    }
    const reports: WrongFormatReport[] =
      sum === short
        ? suspects
        : [
            {
              sequence: -1,
              frame: -1,
              length: short,
              reason: `the kernel skipped ${short} bytes of frames it refused (PACKET_LOSS)`,
              errno: EINVAL,
              skipped: true,
            },
          ];
    const skipped = sum === short ? suspects.length : 1;
    this.#stats.wrongFormat += skipped;
    this.#stats.sent += Math.max(0, n - skipped);
    for (const r of reports) this.#reports.next(r);
  }

  // Without PACKET_LOSS the kernel marked the frame at its head WRONG_FORMAT and returned the error.
  #refused(errno: number): WrongFormatError | null {
    if (this.#taken === this.#submitted) return null;
    const slot = this.#taken % this.frames;
    if (!(this.#ring.status(slot) & TP_STATUS_WRONG_FORMAT)) return null;
    const why = this.#whyRefused(slot);
    const report: WrongFormatReport = {
      sequence: this.#seqs[slot],
      frame: slot,
      length: this.#lens[slot],
      reason: why?.reason ?? errnoText(errno),
      errno,
      skipped: false,
    };
    this.#stats.wrongFormat++;
    this.#reports.next(report);
    return new WrongFormatError(report);
  }

  // The kernel's checks on a TX frame (tpacket_snd, tpacket_fill_skb): at least the link-layer
  // header (dev_validate_header), at most MTU + header (+ 4 when it carries an 802.1Q/802.1ad tag).
  #whyRefused(slot: number): { reason: string; errno: number } | null {
    const len = this.#lens[slot];
    const { mtu, linkHeader } = this.#host;
    if (len < linkHeader) return { reason: `${len} bytes is shorter than the ${linkHeader}-byte link-layer header`, errno: EINVAL };
    const at = this.#slotOffsets[slot] + this.#dataOffset;
    const type = len >= 14 ? (this.#bytes[at + 12] << 8) | this.#bytes[at + 13] : 0;
    const max = mtu + linkHeader + (type === ETH_P_8021Q || type === ETH_P_8021AD ? 4 : 0);
    if (len > max) return { reason: `${len} bytes is longer than the device takes (MTU ${mtu} + ${max - mtu} bytes of link-layer header)`, errno: EMSGSIZE };
    return null;
  }

  #fail(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    this.#failure = err;
    for (const w of this.#waiters.splice(0)) {
      w.disarm();
      w.reject(err);
    }
    this.#host.setWaiting(false);
    this.#reports.error(err);
    return err;
  }

  #allFree(): boolean {
    const ring = this.#ring;
    for (let i = 0; i < this.frames; i++) if (ring.status(i) !== TP_STATUS_AVAILABLE) return false;
    return true;
  }

  // A wait: kicks what is submitted, resolves at once when `ready`, else on the wake-up that makes
  // it so. Cancellable; the socket closing rejects it.
  #wait(options: TxWaitOptions, ready: () => boolean): Promise<void> {
    const bad = cancelOptionsError(options);
    if (bad) return Promise.reject(bad);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    try {
      this.send();
    } catch (e) {
      return Promise.reject(e);
    }
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const disarm = armCancel(options, 'the TX ring did not get there', (reason) => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        if (this.#waiters.length === 0) this.#host.setWaiting(false);
        reject(reason);
      });
      const w: Waiter = { ready, resolve, reject, disarm };
      this.#waiters.push(w);
      this.#host.setWaiting(true);
    });
  }

  // Resolves the waits that are now satisfied; stops asking for EPOLLOUT when none is left and
  // the kernel has taken everything.
  #settle(): void {
    for (let i = 0; i < this.#waiters.length;) {
      const w = this.#waiters[i];
      if (w.ready()) {
        this.#waiters.splice(i, 1);
        w.disarm();
        w.resolve();
      } else i++;
    }
    if (this.#waiters.length === 0 && this.#taken === this.#submitted) this.#host.setWaiting(false);
  }
}
