/**
 * {@link NetlinkSocket}: a netlink socket read and written through the netlink ring protocol, with
 * requests, dumps, multicast and loss reporting on top.
 * @packageDocumentation
 */
import '../dispose';
import { constants as osConstants } from 'node:os';
// Deep imports: the same classes the 'rxjs' entry re-exports, without loading every operator at
// start-up, which a short-lived CLI or dump pays on every run (docs/benchmarks.md).
import { Observable } from 'rxjs/internal/Observable';
import { GuardedObservable, guarded } from '../guarded';
import { Subject } from 'rxjs/internal/Subject';
import type { Subscriber } from 'rxjs/internal/Subscriber';
import {
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_DROP_MEMBERSHIP,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_ALIGN,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  SOL_NETLINK,
} from '../constants';
import { LeaseError } from '../errors';
import { NLMSGHDR as H } from '../layouts/netlink';
import { nlMmap } from '../layouts/nl-mmap';
import { native, NativePoller, POLL_READABLE } from '../native';
import { RingWriter } from '../ring/writer';
import { PollTarget } from '../poll-target';
import { choice, describe, int } from '../validate';
import { armCancel, CancelOptions, cancelOptionsError } from '../cancel';
import { DumpInterruptedError, DumpInterruptPolicy, DumpPort, DumpSink, runDump } from './dump';
import { KernelRingCalls } from './kernel-ring';
import { MessageCursor, NetlinkError, parseAck } from './message';
import { NetlinkFeatures, NetlinkSocketOptions, openSocketParts, SocketParts } from './open';
import { NetlinkFrame, NetlinkReader } from './reader';
import { NetlinkTrace } from './trace';
import { RingPair } from './ring-pair';

const { ENOBUFS, EPROTO } = osConstants.errno;

/** A received netlink message, copied out of the ring. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** `nlmsg_pid` of the message. */
  readonly pid: number;
  /** Multicast group it arrived on (nm_group), 0 for unicast. */
  readonly group: number;
  /** The whole message, header included. */
  readonly bytes: Buffer;
  /** The payload after the nlmsghdr (a view of `bytes`, made on access). */
  readonly payload: Buffer;
  /** Set by {@link NetlinkSocket.dump} under onInterrupted 'flag' on records after NLM_F_DUMP_INTR. */
  interrupted?: boolean;
}

// One allocation per record besides the bytes: the payload view is made only when asked for.
class ReceivedMessage implements NetlinkMessage {
  interrupted?: boolean;
  constructor(
    readonly type: number,
    readonly flags: number,
    readonly seq: number,
    readonly pid: number,
    readonly group: number,
    readonly bytes: Buffer,
  ) {}
  get payload(): Buffer {
    return this.bytes.subarray(NLMSG_HDRLEN);
  }
}

/** Cancellation of a socket's wait ({@link CancelOptions}): an abort or a timeout also forgets the reply. */
export type WaitOptions = CancelOptions;

/** The default timeout of {@link NetlinkSocket.request}: generous, so that only a reply that never comes hits it. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * What a pending {@link NetlinkSocket.request} rejects with when its socket closes first (or is
 * already closed): code `'ERR_KRING_CLOSED'`. Dump streams complete instead, as every stream of a
 * closed socket does.
 */
export class SocketClosedError extends Error {
  readonly code = 'ERR_KRING_CLOSED';
  constructor(what: string) {
    super(`the NetlinkSocket was closed before the ${what} was answered`);
    this.name = 'SocketClosedError';
  }
}

/** A loss the socket reported: the kernel dropped messages for it (ENOBUFS). */
export interface NetlinkLossEvent {
  kind: 'enobufs';
  /** Overruns reported at once (each ENOBUFS stands for one or more lost messages). */
  count: number;
  at: number;
}

/** One datagram of a dump read with {@link NetlinkSocket.dumpBatches}. */
export interface DumpBatch {
  /** Walks the datagram's records in place (NLMSG_DONE excluded); valid until the callback returns. */
  readonly cursor: MessageCursor;
  /**
   * The datagram carried NLM_F_DUMP_INTR, or the ring overran during the dump (only seen with
   * onInterrupted: 'flag').
   */
  readonly interrupted: boolean;
  /**
   * The kernel's ring overran during the dump (kernel mode only): a chunk may have been dropped,
   * so records may be missing. Set on this batch and every later one.
   */
  readonly overran: boolean;
}

/** Options of {@link NetlinkSocket.dump}. A dump has no timeout unless given one. */
export interface DumpOptions extends WaitOptions {
  /** NLM_F_DUMP_INTR policy; default 'retry'. */
  onInterrupted?: DumpInterruptPolicy;
  /** Retries under 'retry' (default 3). */
  retries?: number;
}

interface Pending {
  /** A dump: while one runs, the emulated ring reads ahead on kring's receive thread (RingPair.readAhead). */
  dump?: true;
  /** Takes each message of the replies, copied (requests). */
  onMessage?(m: NetlinkMessage): void;
  /** Settles the waiter with an error (abort, timeout, a failed send); the entry is already gone. */
  fail(e: unknown): void;
  /** The socket closed: a stream completes (as every stream of a closed socket does). Absent: fail. */
  closed?(): void;
  /**
   * The kernel ring overran while this dump ran: a dump chunk may have been dropped (the kernel's
   * COPY path drops what meets a busy head frame), so the dump counts as interrupted.
   */
  overran?(): void;
  /** Takes whole reply datagrams instead, in place (dumps, through the dump engine). */
  onDatagram?(data: Uint8Array): void;
}

const finalizer = new FinalizationRegistry<{ fd: number; poller: NativePoller }>((held) => {
  try {
    held.poller.close();
    native.krClose(held.fd, 'AF_NETLINK');
  } catch {
    // nothing to report to at collection time
  }
});

/**
 * A netlink socket. Every message it receives goes through its RX ring: the consumer code is the
 * ring protocol's ({@link NetlinkReader}), whichever ring runs. Requests and dumps are matched to
 * replies by sequence number and port id; multicast messages go to {@link messages}.
 */
export class NetlinkSocket implements Disposable {
  /** Which ring runs: 'kernel' (Linux 3.10–4.5 with CAP_NET_ADMIN) or 'emulated' (everywhere else). */
  readonly ringMode: 'kernel' | 'emulated';
  /** The socket's netlink port id (nl_pid), assigned by the kernel at bind. */
  readonly portId: number;
  /** Which newer socket options the kernel has (probed at open). */
  readonly features: NetlinkFeatures;
  /** Whether strict checking (kernel-side dump filtering) is in force: asked for, and present. */
  readonly strict: boolean;
  #fd: number;
  #protocol: number;
  #rings: RingPair;
  #writer: RingWriter<typeof nlMmap>;
  #reader: NetlinkReader;
  #poller: NativePoller;
  // What the poll callback reaches this socket through: this socket while it is polled.
  readonly #target = new PollTarget<NetlinkSocket>();
  #closed = false;
  #seq = 1;
  #pending = new Map<number, Pending>();
  #multicast = new Set<Subscriber<NetlinkMessage>>();
  #frameSubs = new Set<Subscriber<readonly NetlinkFrame[]>>();
  #held = new Set<number>();
  #losses = new Subject<NetlinkLossEvent>();
  #overruns = 0;
  #soon: NodeJS.Immediate | null = null;
  #dumps = 0;
  // The producer reading ahead's wake-up: frames came in beside the consumer (see RingPair.readAhead).
  #wake = (): void => this.dispatch();
  #trace: NetlinkTrace | null = null;
  #token = {};

  private constructor(p: SocketParts) {
    this.#fd = p.fd;
    this.#protocol = p.protocol;
    this.portId = p.portId;
    this.ringMode = p.mode;
    this.features = p.features;
    this.strict = p.strict;
    this.#rings = p.rings;
    this.#writer = p.rings.writer;
    this.#reader = new NetlinkReader(p.rings.backend, p.frameSize);
    this.#poller = new native.Poller(p.fd, 'AF_NETLINK', NetlinkSocket.#pollCallback(this.#target));
    if (p.trace !== null) {
      // Opened last: a file that cannot be opened fails open() (and _fromParts closes the socket).
      this.#trace = new NetlinkTrace(p.trace, p.protocol);
      this.#writer.observe((bytes) => this.#traced(bytes, 'out'));
    }
    finalizer.register(this, { fd: p.fd, poller: this.#poller }, this.#token);
  }

  // In a function of its own so the callback's closure holds only the PollTarget (see PacketSocket):
  // the socket is held while a reader waits (a request, a dump, a subscriber), and only then.
  static #pollCallback(target: PollTarget<NetlinkSocket>): () => void {
    return () => target.socket?.dispatch();
  }

  /**
   * Opens, binds (the kernel assigns the port id), sets the options and the ring up.
   * @throws TypeError / RangeError for invalid options, before any native call
   * @throws UnsupportedError for ring: 'kernel' where the kernel refuses its ring (see {@link NetlinkSocketOptions.ring})
   * @throws RingError for kernel failures
   */
  static open(o: NetlinkSocketOptions): NetlinkSocket {
    return NetlinkSocket._fromParts(openSocketParts(o));
  }

  /** @internal A socket over parts {@link openSocketParts} made; closes them if it cannot be made. */
  static _fromParts(parts: SocketParts): NetlinkSocket {
    try {
      return new NetlinkSocket(parts);
    } catch (e) {
      parts.rings.close(() => native.krClose(parts.fd, 'AF_NETLINK'));
      throw e;
    }
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Joins a multicast group (NETLINK_ADD_MEMBERSHIP). @throws RingError */
  join(group: number): void {
    native.krSetsockopt({ fd: this.#fd, level: SOL_NETLINK, name: NETLINK_ADD_MEMBERSHIP, value: group, op: 'NETLINK_ADD_MEMBERSHIP' });
  }

  /** Leaves a multicast group. @throws RingError */
  leave(group: number): void {
    native.krSetsockopt({ fd: this.#fd, level: SOL_NETLINK, name: NETLINK_DROP_MEMBERSHIP, value: group, op: 'NETLINK_DROP_MEMBERSHIP' });
  }

  /**
   * Messages no request or dump claimed, copied out of the ring: multicast events of the groups
   * joined, and replies to what {@link writer} sent. Cold: subscribing starts reading; several
   * subscribers each get every message. Completes on close.
   */
  messages(): Observable<NetlinkMessage> {
    return this.#stream(this.#multicast);
  }

  /**
   * The raw frames of each wake-up (VALID frames read in place, COPY frames whole), before kring
   * routes their messages. A frame is valid until the callback returns, unless {@link hold} keeps it
   * (parked as SKIP: later frames keep flowing), in which case {@link release} ends it. Cold;
   * completes on close.
   */
  frames(): Observable<readonly NetlinkFrame[]> {
    return this.#stream(this.#frameSubs);
  }

  // A cold stream fed by dispatch(): subscribing adds a reader (and starts polling), teardown is the
  // exact inverse; after close it completes at once.
  #stream<T>(subscribers: Set<Subscriber<T>>): Observable<T> {
    return new GuardedObservable<T>((sub) => {
      if (this.#closed) return sub.complete();
      subscribers.add(sub);
      this.#updatePolling();
      return () => {
        subscribers.delete(sub);
        this.#updatePolling();
      };
    });
  }

  /** Keeps a frame from {@link frames} past its callback (SKIP, so the ring goes on). @throws LeaseError once released */
  hold(frame: NetlinkFrame): void {
    if (this.#closed) throw new LeaseError('a NetlinkFrame');
    this.#reader.hold(frame);
    this.#held.add(frame.index);
  }

  /**
   * Ends a hold (or a frame early); frames may be released in any order. Idempotent, and a no-op
   * after close. Reading resumes on the next turn: the producer may have stopped at the held frame
   * (the kernel's COPY path and dump flow control do not step over it), and the kernel's poll() is
   * what lets a stalled dump go on.
   */
  release(frame: NetlinkFrame): void {
    if (this.#closed) return;
    this.#held.delete(frame.index);
    this.#reader.release(frame);
    this.#dispatchSoon();
  }

  /**
   * A fill-then-flush writer on the TX ring: `tryWrite(message)` puts a message in the next free
   * frame (no syscall), `flush()` sends every filled frame in one sendmmsg. Replies to what it sends
   * arrive on {@link messages} (nothing else claims them).
   */
  writer(): RingWriter<typeof nlMmap> {
    return this.#writer;
  }

  /** Overruns (ENOBUFS) as they are reported; the streams go on. Completes on close. */
  losses(): Observable<NetlinkLossEvent> {
    return guarded(this.#losses.asObservable());
  }

  /**
   * Sends a request (one netlink message, built with MessageBuilder) with NLM_F_REQUEST and
   * NLM_F_ACK added and a fresh sequence number, and resolves with the replies that came before the
   * ACK. Waits at most `timeoutMs` (default {@link DEFAULT_REQUEST_TIMEOUT_MS}); `signal` aborts.
   * @throws TypeError / RangeError (rejection, nothing sent) for a message that is not one whole
   *   netlink message (nlmsg_len outside 16..length), a dump request (use {@link dump}), or larger
   *   than a TX frame
   * @throws NetlinkError (rejection) when the kernel answers an error, with errno and extended ACK
   * @throws SocketClosedError (rejection) when the socket closes first
   */
  request(message: Uint8Array, options: WaitOptions = {}): Promise<NetlinkMessage[]> {
    return new Promise((resolve, reject) => {
      const bad = this.#checkMessage(message, 'request') ?? checkWait(options);
      if (bad) return reject(bad);
      if (isDumpRequest(message, this.#protocol))
        return reject(new RangeError('request() got a dump request (NLM_F_DUMP on a GET): use dump() or dumpBatches()'));
      const replies: NetlinkMessage[] = [];
      let seq = 0;
      const cancel = this.#cancellation(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, options.signal, () => seq, 'request');
      seq = this.#send(message, NLM_F_REQUEST | NLM_F_ACK, {
        onMessage: (m) => {
          if (m.type !== NLMSG_ERROR) return void replies.push(m);
          this.#finish(seq);
          cancel();
          const err = ackError(m);
          if (err) reject(err);
          else resolve(replies);
        },
        fail: (e) => {
          cancel();
          reject(e);
        },
      });
    });
  }

  /**
   * Sends a dump request (flags must include NLM_F_DUMP) and streams its records, each copied out
   * of the ring. NLMSG_DONE completes (its error code, if negative, errors with NetlinkError).
   * NLM_F_DUMP_INTR (and, in kernel mode, an overrun during the dump): 'error' errors with
   * DumpInterruptedError; 'flag' streams on and marks the records seen after it with
   * `interrupted`; 'retry' (default) holds the records until the dump completes clean, retrying up
   * to `retries` (default 3) times before erroring. No timeout unless `timeoutMs`; `signal` errors
   * the stream with its reason; close() completes it.
   */
  dump(message: Uint8Array, options: DumpOptions = {}): Observable<NetlinkMessage> {
    const policy = choice('onInterrupted', options.onInterrupted ?? 'retry', ['retry', 'error', 'flag'] as const);
    const retries = options.retries === undefined ? 3 : int('retries', options.retries, 0, 1000);
    return new GuardedObservable((sub) => {
      let held: NetlinkMessage[] = [];
      return this.dumpInto(
        message,
        { onInterrupted: policy, retries, signal: options.signal, timeoutMs: options.timeoutMs },
        {
          record: (m, interrupted) => {
            const bytes = Buffer.allocUnsafe(m.len);
            bytes.set(new Uint8Array(m.dv.buffer, m.dv.byteOffset + m.offset, m.len));
            const msg = new ReceivedMessage(m.type, m.flags, m.seq, m.pid, 0, bytes);
            if (interrupted) msg.interrupted = true;
            if (policy === 'retry') held.push(msg);
            else sub.next(msg);
          },
          discard: () => (held = []),
          complete: () => {
            for (const r of held) sub.next(r);
            sub.complete();
          },
          error: (e) => sub.error(e),
        },
      );
    });
  }

  /**
   * A dump read in batches: one emission per datagram (a kernel dump chunk, up to ~32 KiB of
   * records), as a {@link MessageCursor} over the records in place in the ring: no object per
   * record. The cursor is valid until the callback returns. NLMSG_DONE completes (a negative code
   * errors with NetlinkError); NLM_F_DUMP_INTR errors with DumpInterruptedError under 'error'
   * (default), or only marks the stream under 'flag' (see `interrupted` on the emitted batch;
   * records already emitted cannot be taken back, so there is no 'retry'). In kernel mode an
   * overrun during the dump sets `overran` (and errors under 'error').
   */
  dumpBatches(message: Uint8Array, options: { onInterrupted?: 'error' | 'flag' } & WaitOptions = {}): Observable<DumpBatch> {
    const policy = choice('onInterrupted', options.onInterrupted ?? 'error', ['error', 'flag'] as const);
    return new GuardedObservable<DumpBatch>((sub) => {
      let dv: DataView | null = null;
      return this.dumpInto(
        message,
        { onInterrupted: policy, retries: 0, signal: options.signal, timeoutMs: options.timeoutMs },
        {
          begin: (view) => (dv = view),
          record: () => undefined,
          end: (end, interrupted, overran) => {
            // An overrun is told with a batch, if need be an empty one (NLMSG_DONE alone).
            if (end > 0 || overran) sub.next({ cursor: new MessageCursor(dv!, 0, end), interrupted, overran });
          },
          complete: () => sub.complete(),
          error: (e) => sub.error(e),
        },
      );
    });
  }

  /**
   * Runs a dump into a sink through the dump engine (see `netlink/dump`): the request checked, the
   * policy applied once, the datagrams walked once. Returns the teardown. Timeouts and aborts end
   * it with the sink's `error`.
   * @internal
   */
  dumpInto(message: Uint8Array, options: { onInterrupted: DumpInterruptPolicy; retries: number } & WaitOptions, sink: DumpSink): () => void {
    const bad = this.#checkMessage(message, 'dump') ?? checkWait(options);
    if (bad) {
      sink.error(bad);
      return () => undefined;
    }
    let disarm = () => {};
    const done =
      <A extends unknown[]>(f: (...a: A) => void) =>
      (...a: A) => {
        disarm();
        f(...a);
      };
    const guarded: DumpSink = { ...sink, complete: done(() => sink.complete()), error: done((e) => sink.error(e)), closed: done(() => sink.complete()) };
    const stop = runDump(this.#dumpPort, message, options.onInterrupted, options.retries, guarded);
    disarm = armCancel(options, 'the netlink dump got no answer', (e) => {
      stop();
      guarded.error(e);
    });
    return () => {
      disarm();
      stop();
    };
  }

  // The engine's way in: a dump request sent, its datagrams routed back to it.
  #dumpPort: DumpPort = {
    sendDump: (request, h) => {
      const seq = this.#send(request, 0, { dump: true, onDatagram: h.datagram, overran: h.overran, fail: h.fail, closed: h.closed });
      return () => this.#finish(seq);
    },
  };

  /**
   * Reads everything the ring has for us and routes it: replies to their request or dump by
   * sequence number, multicast to {@link messages}. Runs on every kernel wake-up; public so a
   * caller without an event loop turn (tests, a busy worker) can drive it.
   */
  dispatch(): void {
    if (this.#closed) return;
    // Callbacks run inside this loop and may close the socket (a reader completing at NLMSG_DONE
    // closes its own): after every one, nothing may touch the ring, which close() detached.
    while (!this.#closed) {
      if (this.#dumps > 0) this.#rings.readAhead?.(this.#wake);
      const frames = this.#reader.read();
      // An overrun happened after the frames just read were queued: they are dispatched first, and
      // the loss is reported after them (a mirror that re-dumps on it must not see these older
      // messages as newer than its dump). A running dump is told at once (its chunks may be gone).
      const lost = this.#takeLosses();
      if (frames.length === 0 || this.#closed) return this.#emitLosses(lost);
      if (this.#trace) {
        for (const f of frames) this.#traced(f.data, 'in');
        this.#traced(null, 'in');
      }
      for (const sub of this.#frameSubs) {
        sub.next(frames);
        if (this.#closed) return;
      }
      // Only frames() readers (they took the frames in place): nothing to route.
      const routed = this.#pending.size > 0 || this.#multicast.size > 0;
      for (const f of frames) {
        if (!routed) {
          if (!this.#done(f)) return;
          continue;
        }
        // A dump read in batches takes the whole datagram (its messages share one seq).
        if (f.group === 0 && f.data.length >= NLMSG_HDRLEN) {
          const head = new DataView(f.data.buffer, f.data.byteOffset, NLMSG_HDRLEN);
          const batch = head.getUint32(H.nlmsg_pid, true) === this.portId ? this.#pending.get(head.getUint32(H.nlmsg_seq, true)) : undefined;
          if (batch?.onDatagram) {
            batch.onDatagram(f.data);
            if (!this.#done(f)) return;
            continue;
          }
        }
        const m = new MessageCursor(f.data);
        while (m.next()) {
          const pending = f.group === 0 && m.pid === this.portId ? this.#pending.get(m.seq) : undefined;
          // Nobody to copy for (a frames() reader took it in place): no copy.
          if (!pending?.onMessage && this.#multicast.size === 0) continue;
          const bytes = Buffer.allocUnsafe(m.len);
          bytes.set(f.data.subarray(m.offset, m.offset + m.len));
          const msg = new ReceivedMessage(m.type, m.flags, m.seq, m.pid, f.group, bytes);
          if (pending?.onMessage) pending.onMessage(msg);
          else for (const s of this.#multicast) s.next(msg);
          if (this.#closed) return; // the bytes were copied: nothing of the ring is read after this
        }
        if (!this.#done(f)) return;
      }
      this.#emitLosses(lost);
      if (this.#closed) return;
      // The emulation found the socket empty: the next datagram is a new poll wake-up. (While a
      // dump runs, read-ahead is in charge, and the loop goes on as before.)
      if (this.#dumps === 0 && this.#rings.drained?.()) return;
    }
  }

  // The frame's callbacks are over: hand it back unless it is held. False once the socket is closed.
  #done(f: NetlinkFrame): boolean {
    if (this.#closed) return false;
    if (!this.#held.has(f.index)) this.#reader.release(f);
    return true;
  }

  /** Stops reading, rejects and completes everything pending, closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    finalizer.unregister(this.#token);
    if (this.#soon) clearImmediate(this.#soon);
    this.#poller.close();
    this.#target.hold(this, false);
    for (const s of [...this.#multicast]) s.complete();
    this.#multicast.clear();
    for (const s of [...this.#frameSubs]) s.complete();
    this.#frameSubs.clear();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#dumps = 0;
    for (const p of pending) {
      if (p.closed) p.closed();
      else p.fail(new SocketClosedError('request'));
    }
    this.#losses.complete();
    this.#traced(null, 'close');
    const fd = this.#fd;
    this.#rings.close(() => native.krClose(fd, 'AF_NETLINK'));
  }

  // Records a datagram in the trace (null: flushes it; 'close': closes it). A trace that cannot be
  // written (a full disk) ends with a warning: the socket's work goes on without it.
  #traced(bytes: Uint8Array | null, what: 'in' | 'out' | 'close'): void {
    const t = this.#trace;
    if (!t) return;
    try {
      if (what === 'close') t.close();
      else if (bytes) t.record(bytes, what);
      else t.flush();
    } catch (e) {
      this.#trace = null;
      this.#writer.observe(null);
      process.emitWarning(`the netlink trace stopped: ${(e as Error).message}`, 'KringTraceWarning');
      if (what !== 'close') {
        try {
          t.close();
        } catch {
          // the warning said it
        }
      }
    }
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  // Checks a message before anything is registered or sent: a TypeError/RangeError, or null.
  #checkMessage(message: unknown, what: string): Error | null {
    if (!(message instanceof Uint8Array)) return new TypeError(`${what}() takes the message as a Uint8Array, got ${describe(message)}`);
    if (message.length < NLMSG_HDRLEN) return new RangeError(`a netlink message needs at least ${NLMSG_HDRLEN} bytes, got ${message.length}`);
    const len = new DataView(message.buffer, message.byteOffset, NLMSG_HDRLEN).getUint32(H.nlmsg_len, true);
    // One message, whole: the kernel would skip or refuse anything else and never answer.
    if (len < NLMSG_HDRLEN || len > message.length || message.length > NLMSG_ALIGN(len)) {
      return new RangeError(
        `nlmsg_len is ${len} but the message has ${message.length} bytes: it must be one whole netlink message (nlmsg_len 16..${message.length}, padded to 4 at most)`,
      );
    }
    const room = this.#writer.capacity;
    if (message.length > room) return new RangeError(`a ${message.length}-byte message does not fit a ${room}-byte TX frame (raise tx.frameSize)`);
    return null;
  }

  // Arms the timeout and the abort signal of a waiter: either one forgets the entry and fails it.
  // Returns the disarm function (idempotent).
  #cancellation(timeoutMs: number | undefined, signal: AbortSignal | undefined, seq: () => number, what: string): () => void {
    return armCancel({ timeoutMs, signal }, `the netlink ${what} got no answer`, (e) => {
      const p = this.#pending.get(seq());
      if (!p) return;
      this.#finish(seq());
      p.fail(e);
    });
  }

  // Writes the message into the TX ring with a fresh seq (and extra flags), flushes (one
  // sendmmsg), and registers the handler for its replies. Returns the seq. Failures go to
  // pending.fail, with nothing left registered.
  #send(message: Uint8Array, addFlags: number, pending: Pending): number {
    // Sequence numbers 1..2^32-1, wrapping; 0 is what unsolicited messages carry.
    const seq = this.#seq;
    this.#seq = seq === 0xffffffff ? 1 : seq + 1;
    if (this.#closed) {
      if (pending.closed) pending.closed();
      else pending.fail(new SocketClosedError('request'));
      return seq;
    }
    const copy = message.slice();
    const dv = new DataView(copy.buffer);
    dv.setUint16(H.nlmsg_flags, dv.getUint16(H.nlmsg_flags, true) | addFlags | NLM_F_REQUEST, true);
    dv.setUint32(H.nlmsg_seq, seq, true);
    try {
      if (!this.#writer.tryWrite(copy)) {
        this.#writer.flush();
        if (!this.#writer.tryWrite(copy)) {
          pending.fail(new Error('the netlink TX ring is full'));
          return seq;
        }
      }
      this.#pending.set(seq, pending);
      if (pending.dump) this.#dumps++;
      this.#updatePolling();
      this.#writer.flush();
    } catch (e) {
      if (this.#pending.get(seq) === pending) this.#finish(seq);
      pending.fail(e);
      return seq;
    }
    // The kernel has the first chunk of a dump queued by now: start reading ahead at once.
    if (pending.dump) this.#rings.readAhead?.(this.#wake);
    return seq;
  }

  #finish(seq: number): void {
    if (this.#pending.get(seq)?.dump) this.#dumps--;
    this.#pending.delete(seq);
    this.#updatePolling();
  }

  // Poll while anyone waits for something; drain once on start (polling is edge-triggered).
  #updatePolling(): void {
    if (this.#closed) return;
    if (this.#pending.size > 0 || this.#multicast.size > 0 || this.#frameSubs.size > 0) {
      this.#poller.start(POLL_READABLE);
      this.#target.hold(this, true);
      this.#dispatchSoon();
    } else {
      this.#poller.stop();
      this.#target.hold(this, false);
    }
  }

  #dispatchSoon(): void {
    this.#soon ??= setImmediate(() => {
      this.#soon = null;
      this.dispatch();
    });
  }

  // The overruns since the last look; a running dump hears of them at once.
  #takeLosses(): number {
    let count = this.#reader.overruns - this.#overruns;
    this.#overruns = this.#reader.overruns;
    if (this.#rings.takeError() === ENOBUFS) count++;
    // Only the kernel's ring can drop a dump's chunk (the emulation's dumps are flow-controlled by
    // the socket buffer, and its overruns are multicast): there, a dump running now is suspect.
    if (count > 0 && this.ringMode === 'kernel') for (const p of [...this.#pending.values()]) p.overran?.();
    return count;
  }

  #emitLosses(count: number): void {
    if (count > 0 && !this.#closed) this.#losses.next({ kind: 'enobufs', count, at: Date.now() });
  }
}

// rtnetlink (and nfnetlink) GET requests with NLM_F_DUMP are dumps; on NEW requests the same bits
// mean NLM_F_REPLACE | NLM_F_EXCL. rtnetlink_rcv_msg tells them apart by the type's kind (type & 3 == 2: GET).
function isDumpRequest(message: Uint8Array, protocol: number): boolean {
  const dv = new DataView(message.buffer, message.byteOffset, NLMSG_HDRLEN);
  if ((dv.getUint16(H.nlmsg_flags, true) & NLM_F_DUMP) !== NLM_F_DUMP) return false;
  const type = dv.getUint16(H.nlmsg_type, true);
  return protocol !== NETLINK_ROUTE || (type >= 16 && (type & 3) === 2);
}

const checkWait = cancelOptionsError;

function ackError(m: NetlinkMessage): NetlinkError | null {
  const cursor = new MessageCursor(m.bytes);
  cursor.next();
  const ack = parseAck(cursor);
  if (!('error' in ack)) return new NetlinkError(EPROTO, m.seq, `malformed NLMSG_ERROR: ${ack.reason}`);
  return ack.error < 0 ? new NetlinkError(-ack.error, m.seq, ack.extackMessage, ack.extackOffset) : null;
}

/**
 * {@link NetlinkSocket.open}, with the kernel ring's syscalls replaceable: `kring/testing` runs
 * kernel-mode sockets on the simulator through `ringCalls`. Everything else (the socket, bind,
 * options, polling) is real.
 * @internal
 */
export function openNetlinkSocket(o: NetlinkSocketOptions, ringCalls?: (fd: number) => KernelRingCalls): NetlinkSocket {
  return NetlinkSocket._fromParts(openSocketParts(o, ringCalls));
}

export { DumpInterruptPolicy, DumpInterruptedError };
export type { NetlinkFeatures, NetlinkSocketOptions };
