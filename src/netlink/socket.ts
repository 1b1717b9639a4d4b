/**
 * {@link NetlinkSocket}: a netlink socket read and written through the netlink ring protocol, with
 * requests, dumps, multicast and loss reporting on top.
 * @packageDocumentation
 */
import '../dispose';
import { constants as osConstants } from 'node:os';
// Deep imports: the same classes the 'rxjs' entry re-exports, without loading every operator at
// start-up (67 ms against 12 ms here), which a short-lived CLI or dump pays on every run.
import { Observable } from 'rxjs/internal/Observable';
import { Subject } from 'rxjs/internal/Subject';
import type { Subscriber } from 'rxjs/internal/Subscriber';
import {
  AF_NETLINK,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_DROP_MEMBERSHIP,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_NETFILTER,
  NETLINK_NO_ENOBUFS,
  NETLINK_PKTINFO,
  NETLINK_ROUTE,
  NL_MMAP_HDRLEN,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_PASSCRED,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
} from '../constants';
import { errnoName, RingError, UnsupportedError } from '../errors';
import { nlMmap, validateNlMmapGeometry } from '../layouts/nl-mmap';
import { native, NativePoller, POLL_READABLE } from '../native';
import { netnsPath } from '../packet/options';
import { RingGeometry } from '../ring/geometry';
import { RingWriter } from '../ring/writer';
import { EmulatedRxRing } from './emulated-rx';
import { EmulatedTxRing } from './emulated-tx';
import { MessageCursor, NetlinkError, NLM_F_ACK, NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, parseAck } from './message';
import { KernelRingCalls, KernelRings, nativeRingCalls } from './kernel-ring';
import { NetlinkFrame, NetlinkReader, NetlinkRingBackend } from './reader';

const { ENOBUFS, EPERM, EPROTO } = osConstants.errno;


/** Options for {@link NetlinkSocket.open}. */
export interface NetlinkSocketOptions {
  /** `'route'` (NETLINK_ROUTE), `'netfilter'` (NETLINK_NETFILTER) or a protocol number. */
  protocol: 'route' | 'netfilter' | number;
  /** Network namespace: a name in /run/netns or an absolute path (created there on a helper thread). */
  netns?: string;
  /** Multicast groups to join at open. */
  groups?: number[];
  /**
   * `'auto'` (default): the kernel's ring where setting it up succeeds, else the emulation (the
   * probe is the setsockopt's answer, ENOPROTOOPT or EPERM, never the version number).
   * `'kernel'`: the kernel's NETLINK_RX_RING/NETLINK_TX_RING, which exist only in Linux 3.10–4.5
   * and need CAP_NET_ADMIN; elsewhere open() throws UnsupportedError. `'emulated'`: kring's
   * emulation of the frame protocol over recvmmsg/sendmmsg. Consumer code is the same for all.
   */
  ring?: 'auto' | 'kernel' | 'emulated';
  /** RX ring geometry; default 32 frames of 32 KiB (a dump datagram is at most ~32 KiB, so dumps stay VALID). */
  rx?: RingGeometry;
  /** TX ring geometry; default 16 frames of 4 KiB. */
  tx?: RingGeometry;
  /** Socket receive buffer in bytes; default 4 MiB (SO_RCVBUFFORCE when permitted, else SO_RCVBUF). */
  rcvbuf?: number;
  /** NETLINK_EXT_ACK: errors carry the kernel's message and attribute offset (default true). */
  extAck?: boolean;
  /** NETLINK_GET_STRICT_CHK: strict header checking and kernel-side dump filtering (default false). */
  strict?: boolean;
  /** NETLINK_NO_ENOBUFS: do not report overruns (default false). */
  noEnobufs?: boolean;
}

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
  /** The datagram carried NLM_F_DUMP_INTR (only seen with onInterrupted: 'flag'). */
  readonly interrupted: boolean;
}

/** How {@link NetlinkSocket.dump} treats NLM_F_DUMP_INTR (the table changed during the dump). */
export type DumpInterruptPolicy = 'retry' | 'error' | 'flag';

/** A dump that saw NLM_F_DUMP_INTR under the 'error' policy, or after every retry. */
export class DumpInterruptedError extends Error {
  readonly code = 'ERR_KRING_DUMP_INTERRUPTED';
  constructor(attempts: number) {
    super(`the dump was interrupted by concurrent changes (NLM_F_DUMP_INTR) ${attempts} time(s)`);
    this.name = 'DumpInterruptedError';
  }
}

interface Pending {
  /** A dump: while one runs, the emulated ring reads ahead on kring's receive thread (RingPair.prefetch). */
  dump?: true;
  onMessage(m: NetlinkMessage): void;
  /** Takes whole datagrams instead (no object per message): dumpBatches. */
  onDatagram?(data: Uint8Array): void;
}

const PROTOCOLS = { route: NETLINK_ROUTE, netfilter: NETLINK_NETFILTER } as const;
const DEFAULT_RX: RingGeometry = { blockSize: 32768, blockCount: 32, frameSize: 32768, frameCount: 32 };
const DEFAULT_TX: RingGeometry = { blockSize: 4096, blockCount: 16, frameSize: 4096, frameCount: 16 };

const finalizer = new FinalizationRegistry<{ fd: number; poller: NativePoller }>((held) => {
  try {
    held.poller.close();
    native.krClose(held.fd);
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
  #fd: number;
  #rings: RingPair;
  #writer: RingWriter<typeof nlMmap>;
  #reader: NetlinkReader;
  #poller: NativePoller;
  #closed = false;
  #seq = 1;
  #pending = new Map<number, Pending>();
  #multicast = new Set<Subscriber<NetlinkMessage>>();
  #frameSubs = new Set<Subscriber<readonly NetlinkFrame[]>>();
  #held = new Set<number>();
  #losses = new Subject<NetlinkLossEvent>();
  #overruns = 0;
  #drain: NodeJS.Immediate | null = null;
  #dumps = 0;
  // The prefetching producer's wake-up: frames came in beside the consumer (see RingPair.prefetch).
  #wake = (): void => this.dispatch();
  #token = {};

  private constructor(fd: number, portId: number, rings: RingPair, mode: 'kernel' | 'emulated', frameSize: number) {
    this.#fd = fd;
    this.portId = portId;
    this.ringMode = mode;
    this.#rings = rings;
    this.#writer = rings.writer;
    this.#reader = new NetlinkReader(rings.backend, frameSize);
    this.#poller = new native.Poller(fd, NetlinkSocket.#pollCallback(new WeakRef(this)));
    finalizer.register(this, { fd, poller: this.#poller }, this.#token);
  }

  // In a function of its own so the callback's closure holds only the WeakRef (see PacketSocket).
  static #pollCallback(ref: WeakRef<NetlinkSocket>): () => void {
    return () => ref.deref()?.dispatch();
  }

  /**
   * Opens, binds (the kernel assigns the port id), sets the options and the ring up.
   * @throws TypeError / RangeError for invalid options, before any native call
   * @throws UnsupportedError for ring: 'kernel' where the kernel refuses its ring (see {@link NetlinkSocketOptions.ring})
   * @throws RingError for kernel failures
   */
  static open(o: NetlinkSocketOptions): NetlinkSocket {
    return openNetlinkSocket(o);
  }

  /** @internal {@link openNetlinkSocket} builds sockets through this. */
  static _make(fd: number, portId: number, rings: RingPair, mode: 'kernel' | 'emulated', frameSize: number): NetlinkSocket {
    return new NetlinkSocket(fd, portId, rings, mode, frameSize);
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Joins a multicast group (NETLINK_ADD_MEMBERSHIP). @throws RingError */
  join(group: number): void {
    native.krSetsockoptInt(this.#fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group, 'NETLINK_ADD_MEMBERSHIP');
  }

  /** Leaves a multicast group. @throws RingError */
  leave(group: number): void {
    native.krSetsockoptInt(this.#fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, group, 'NETLINK_DROP_MEMBERSHIP');
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
    return new Observable<T>((sub) => {
      if (this.#closed) return sub.complete();
      subscribers.add(sub);
      this.#demand();
      return () => {
        subscribers.delete(sub);
        this.#demand();
      };
    });
  }

  /** Keeps a frame from {@link frames} past its callback (SKIP, so the ring goes on). @throws LeaseError once released */
  hold(frame: NetlinkFrame): void {
    this.#reader.hold(frame);
    this.#held.add(frame.index);
  }

  /** Ends a hold (or a frame early); frames may be released in any order. Idempotent. */
  release(frame: NetlinkFrame): void {
    this.#held.delete(frame.index);
    this.#reader.release(frame);
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
    return this.#losses.asObservable();
  }

  /**
   * Sends a request (one netlink message, built with MessageBuilder) with NLM_F_ACK added and a
   * fresh sequence number, and resolves with the replies that came before the ACK.
   * @throws NetlinkError (rejection) when the kernel answers an error, with errno and extended ACK
   */
  request(message: Uint8Array): Promise<NetlinkMessage[]> {
    return new Promise((resolve, reject) => {
      const replies: NetlinkMessage[] = [];
      const seq = this.#send(message, NLM_F_ACK, {
        onMessage: (m) => {
          if (m.type !== NLMSG_ERROR) return void replies.push(m);
          this.#finish(seq);
          const err = ackError(m);
          if (err) reject(err);
          else resolve(replies);
        },
      }, reject);
    });
  }

  /**
   * Sends a dump request (flags must include NLM_F_DUMP) and streams its records. NLMSG_DONE
   * completes (its error code, if negative, errors with NetlinkError). NLM_F_DUMP_INTR: 'error'
   * errors with DumpInterruptedError; 'flag' streams on and marks the records seen after it with
   * `interrupted`; 'retry' (default) holds the records until the dump completes clean, retrying up
   * to `retries` (default 3) times before erroring.
   */
  dump(message: Uint8Array, options: { onInterrupted?: DumpInterruptPolicy; retries?: number } = {}): Observable<NetlinkMessage> {
    const policy = options.onInterrupted ?? 'retry';
    const retries = options.retries ?? 3;
    return new Observable((sub) => {
      let seq = 0;
      let attempt = 0;
      const start = () => {
        attempt++;
        let interrupted = false;
        const held: NetlinkMessage[] = [];
        seq = this.#send(message, 0, {
          dump: true,
          onMessage: (m) => {
            if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
            if (m.type === NLMSG_ERROR) {
              this.#finish(seq);
              return sub.error(ackError(m) ?? new Error('a dump answered with an ACK'));
            }
            if (m.type !== NLMSG_DONE) {
              if (policy === 'retry') held.push(m);
              else if (interrupted && policy === 'error') {
                this.#finish(seq);
                sub.error(new DumpInterruptedError(attempt));
              } else {
                if (interrupted) m.interrupted = true;
                sub.next(m);
              }
              return;
            }
            this.#finish(seq);
            const code = m.payload.length >= 4 ? m.payload.readInt32LE(0) : 0;
            if (code < 0) return sub.error(new NetlinkError(-code, m.seq));
            if (interrupted && policy === 'error') return sub.error(new DumpInterruptedError(attempt));
            if (interrupted && policy === 'retry') return attempt <= retries ? start() : sub.error(new DumpInterruptedError(attempt));
            for (const r of held) sub.next(r);
            sub.complete();
          },
        }, (e) => sub.error(e));
      };
      start();
      return () => this.#finish(seq);
    });
  }

  /**
   * A dump read in batches: one emission per datagram (a kernel dump chunk, up to ~32 KiB of
   * records), as a {@link MessageCursor} over the records in place in the ring: no object per
   * record. The cursor is valid until the callback returns. NLMSG_DONE completes (a negative code
   * errors with NetlinkError); NLM_F_DUMP_INTR errors with DumpInterruptedError under 'error'
   * (default), or only marks the stream under 'flag' (see `interrupted` on the emitted cursor's
   * batch; records already emitted cannot be taken back, so there is no 'retry').
   */
  dumpBatches(message: Uint8Array, options: { onInterrupted?: 'error' | 'flag' } = {}): Observable<DumpBatch> {
    const policy = options.onInterrupted ?? 'error';
    return new Observable<DumpBatch>((sub) => {
      let seq = 0;
      seq = this.#send(message, 0, {
        dump: true,
        onMessage: () => undefined,
        onDatagram: (data) => {
          // Headers only, to find the end, NLMSG_DONE/ERROR and DUMP_INTR: 16 bytes per record, in cache.
          const scan = new MessageCursor(data);
          let end = 0;
          let interrupted = false;
          let done: { code: number } | null = null;
          let error: Error | null = null;
          while (scan.next()) {
            if (scan.flags & NLM_F_DUMP_INTR) interrupted = true;
            if (scan.type === NLMSG_DONE) {
              done = { code: scan.payloadLen >= 4 ? scan.dv.getInt32(scan.payload, true) : 0 };
              break;
            }
            if (scan.type === NLMSG_ERROR) {
              const ack = parseAck(scan);
              error = 'error' in ack && ack.error < 0 ? new NetlinkError(-ack.error, scan.seq, ack.extackMessage, ack.extackOffset) : new Error('a dump answered with an ACK');
              break;
            }
            end = scan.offset + scan.len;
          }
          if (interrupted && policy === 'error') error ??= new DumpInterruptedError(1);
          if (error) {
            this.#finish(seq);
            return sub.error(error);
          }
          if (end > 0) sub.next({ cursor: new MessageCursor(data, 0, end), interrupted });
          if (done) {
            this.#finish(seq);
            if (done.code < 0) sub.error(new NetlinkError(-done.code, seq));
            else sub.complete();
          }
        },
      }, (e) => sub.error(e));
      return () => this.#finish(seq);
    });
  }

  /**
   * Reads everything the ring has for us and routes it: replies to their request or dump by
   * sequence number, multicast to {@link messages}. Runs on every kernel wake-up; public so a
   * caller without an event loop turn (tests, a busy worker) can drive it.
   */
  dispatch(): void {
    if (this.#closed) return;
    // Callbacks run inside this loop and may close the socket: check after every one of them.
    while (!this.#closed) {
      if (this.#dumps > 0) this.#rings.prefetch?.(this.#wake);
      const frames = this.#reader.read();
      this.#reportLosses();
      if (frames.length === 0) return;
      for (const sub of this.#frameSubs) sub.next(frames);
      for (const f of frames) {
        if (this.#closed) return;
        // A dump read in batches takes the whole datagram (its messages share one seq).
        if (f.group === 0 && f.data.length >= NLMSG_HDRLEN) {
          const head = new DataView(f.data.buffer, f.data.byteOffset, NLMSG_HDRLEN);
          const batch = head.getUint32(12, true) === this.portId ? this.#pending.get(head.getUint32(8, true)) : undefined;
          if (batch?.onDatagram) {
            batch.onDatagram(f.data);
            if (!this.#held.has(f.index)) this.#reader.release(f);
            continue;
          }
        }
        const m = new MessageCursor(f.data);
        while (m.next()) {
          const bytes = Buffer.allocUnsafe(m.len);
          bytes.set(f.data.subarray(m.offset, m.offset + m.len));
          const msg = new ReceivedMessage(m.type, m.flags, m.seq, m.pid, f.group, bytes);
          const pending = f.group === 0 && m.pid === this.portId ? this.#pending.get(m.seq) : undefined;
          if (pending) pending.onMessage(msg);
          else for (const s of this.#multicast) s.next(msg);
        }
        if (!this.#held.has(f.index)) this.#reader.release(f);
      }
    }
  }

  /** Stops reading, rejects and completes everything pending, closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    finalizer.unregister(this.#token);
    if (this.#drain) clearImmediate(this.#drain);
    this.#poller.close();
    for (const s of [...this.#multicast]) s.complete();
    this.#multicast.clear();
    for (const s of [...this.#frameSubs]) s.complete();
    this.#frameSubs.clear();
    this.#pending.clear();
    this.#dumps = 0;
    this.#losses.complete();
    const fd = this.#fd;
    this.#rings.close(() => native.krClose(fd));
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  // Writes the message into the TX ring with a fresh seq (and extra flags), flushes (one
  // sendmmsg), and registers the handler for its replies. Returns the seq.
  #send(message: Uint8Array, addFlags: number, pending: Pending, fail: (e: unknown) => void): number {
    // Sequence numbers 1..2^32-1, wrapping; 0 is what unsolicited messages carry.
    const seq = this.#seq;
    this.#seq = seq === 0xffffffff ? 1 : seq + 1;
    if (this.#closed) {
      fail(new Error('the NetlinkSocket is closed'));
      return seq;
    }
    if (message.length < NLMSG_HDRLEN) {
      fail(new RangeError(`a netlink message needs at least ${NLMSG_HDRLEN} bytes, got ${message.length}`));
      return seq;
    }
    const copy = message.slice();
    const dv = new DataView(copy.buffer);
    dv.setUint16(6, dv.getUint16(6, true) | addFlags, true);
    dv.setUint32(8, seq, true);
    this.#pending.set(seq, pending);
    if (pending.dump) this.#dumps++;
    this.#demand();
    if (!this.#writer.tryWrite(copy)) {
      this.#writer.flush();
      if (!this.#writer.tryWrite(copy)) {
        this.#pending.delete(seq);
        fail(new Error('the netlink TX ring is full'));
        return seq;
      }
    }
    this.#writer.flush();
    // The kernel has the first chunk of a dump queued by now: start reading ahead at once.
    if (pending.dump) this.#rings.prefetch?.(this.#wake);
    return seq;
  }

  #finish(seq: number): void {
    if (this.#pending.get(seq)?.dump) this.#dumps--;
    this.#pending.delete(seq);
    this.#demand();
  }

  // Poll while anyone waits for something; drain once on start (polling is edge-triggered).
  #demand(): void {
    if (this.#closed) return;
    if (this.#pending.size > 0 || this.#multicast.size > 0 || this.#frameSubs.size > 0) {
      this.#poller.start(POLL_READABLE);
      this.#drain ??= setImmediate(() => {
        this.#drain = null;
        this.dispatch();
      });
    } else {
      this.#poller.stop();
    }
  }

  #reportLosses(): void {
    let count = this.#reader.overruns - this.#overruns;
    this.#overruns = this.#reader.overruns;
    if (this.#rings.takeError() === ENOBUFS) count++;
    if (count > 0) this.#losses.next({ kind: 'enobufs', count, at: Date.now() });
  }
}

/** The ring pair a socket runs on: the kernel's, or the emulation's. */
interface RingPair {
  readonly backend: NetlinkRingBackend;
  readonly writer: RingWriter<typeof nlMmap>;
  /** The pending socket error, consumed (ENOBUFS after an overrun), or 0. */
  takeError(): number;
  /**
   * Starts the producer filling ahead, beside the consumer, if it can (the emulation: recvmmsg on
   * kring's receive thread); `wake` runs when frames came in (or a wake-up may have been missed
   * meanwhile). Absent for the kernel's ring, whose producer is the kernel.
   */
  prefetch?(wake: () => void): void;
  /** Tears the rings down; `closeFd` runs once nothing can use the fd any more (maybe later). */
  close(closeFd: () => void): void;
}

function emulatedRings(fd: number, rx: RingGeometry, tx: RingGeometry): RingPair {
  const r = new EmulatedRxRing(fd, rx);
  let t: EmulatedTxRing;
  try {
    t = new EmulatedTxRing(fd, tx);
  } catch (e) {
    r.close();
    throw e;
  }
  // A wake-up that came while a fill was in flight: that fill may have read before the data came.
  let missed = false;
  return {
    backend: {
      ring: r.ring,
      buffer: r.buffer,
      pump: () => {
        if (r.busy) missed = true;
        else r.fill();
      },
      recvCopy: () => r.recvCopy(),
      messageOffset: NL_MMAP_HDRLEN,
    },
    writer: t.writer(),
    takeError: () => (r.pendingError === ENOBUFS && 'errno' in r.recvCopy() ? ENOBUFS : 0),
    prefetch(wake) {
      if (r.closed) return;
      if (r.busy) missed = true;
      // Not called after close().
      const done = (filled: number) => {
        // Nothing came and no wake-up was missed: the next poll wake-up goes on (no spinning).
        const again = filled > 0 || missed;
        missed = false;
        if (again) wake();
      };
      while (r.fillAsync(done));
    },
    close(closeFd) {
      t.close();
      // The receive thread's recvmmsg must not meet unmapped memory or a closed (or reused) fd
      // number: the RX ring unmaps and closes the fd after the last outstanding fill.
      r.close(closeFd);
    },
  };
}

function kernelRings(k: KernelRings): RingPair {
  return {
    backend: k.backend,
    writer: k.writer(),
    takeError: () => k.takeError(),
    close: (closeFd) => {
      k.close();
      closeFd();
    },
  };
}

/**
 * {@link NetlinkSocket.open}, with the kernel ring's syscalls replaceable: `kring/testing` runs
 * kernel-mode sockets on the simulator through `ringCalls`. Everything else (the socket, bind,
 * options, polling) is real.
 * @internal
 */
export function openNetlinkSocket(o: NetlinkSocketOptions, ringCalls: (fd: number) => KernelRingCalls = nativeRingCalls): NetlinkSocket {
  if (o === null || typeof o !== 'object') throw new TypeError('NetlinkSocket.open() needs an options object');
  const protocol = typeof o.protocol === 'number' ? o.protocol : PROTOCOLS[o.protocol as keyof typeof PROTOCOLS];
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 31) {
    throw new RangeError(`protocol must be 'route', 'netfilter' or a netlink protocol number 0..31, got ${JSON.stringify(o.protocol)}`);
  }
  const ring = o.ring ?? 'auto';
  if (!['auto', 'kernel', 'emulated'].includes(ring)) throw new RangeError(`ring must be 'auto', 'kernel' or 'emulated', got ${JSON.stringify(ring)}`);
  const groups = o.groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => !Number.isInteger(g) || g < 1 || g > 1023)) {
    throw new RangeError('groups must be an array of multicast group numbers 1..1023');
  }
  const rcvbuf = o.rcvbuf ?? 4 << 20;
  if (!Number.isInteger(rcvbuf) || rcvbuf < 1024) throw new RangeError(`rcvbuf must be an integer of at least 1024, got ${rcvbuf}`);
  const rx = o.rx ?? DEFAULT_RX;
  const tx = o.tx ?? DEFAULT_TX;
  const pageSize = native.krPageSize();
  validateNlMmapGeometry(rx, pageSize);
  validateNlMmapGeometry(tx, pageSize);
  const path = netnsPath(o.netns);
  const fd = native.krSocket(AF_NETLINK, SOCK_RAW, protocol, path, 'AF_NETLINK');
  let kernel: KernelRings | null = null;
  try {
    const sa = new Uint8Array(12);
    new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
    native.krBind(fd, sa, 'AF_NETLINK');
    native.krGetsockname(fd, sa, 'AF_NETLINK');
    const portId = new DataView(sa.buffer).getUint32(4, true);
    if (ring !== 'emulated') {
      const k = KernelRings.setUp(ringCalls(fd), rx, tx);
      if (k instanceof KernelRings) kernel = k;
      else if (ring === 'kernel') throw refusedRing(k.refused);
    }
    try {
      native.krSetsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf, 'SO_RCVBUFFORCE');
    } catch (e) {
      if (!(e instanceof RingError) || e.code !== 'EPERM') throw e;
      native.krSetsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, 'SO_RCVBUF');
    }
    if (o.extAck ?? true) native.krSetsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1, 'NETLINK_EXT_ACK');
    if (o.strict) native.krSetsockoptInt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1, 'NETLINK_GET_STRICT_CHK');
    if (o.noEnobufs) native.krSetsockoptInt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1, 'NETLINK_NO_ENOBUFS');
    if (!kernel) {
      // The emulation fills nm_group and the credentials from these (the kernel ring's frame headers carry them).
      native.krSetsockoptInt(fd, SOL_NETLINK, NETLINK_PKTINFO, 1, 'NETLINK_PKTINFO');
      native.krSetsockoptInt(fd, SOL_SOCKET, SO_PASSCRED, 1, 'SO_PASSCRED');
    }
    const rings = kernel ? kernelRings(kernel) : emulatedRings(fd, rx, tx);
    const sock = NetlinkSocket._make(fd, portId, rings, kernel ? 'kernel' : 'emulated', rx.frameSize);
    for (const g of groups) sock.join(g);
    return sock;
  } catch (e) {
    kernel?.close();
    native.krClose(fd);
    throw e;
  }
}

function refusedRing(errno: number): UnsupportedError {
  return errno === EPERM
    ? new UnsupportedError('memory-mapped netlink (NETLINK_RX_RING)', "this kernel has the ring but refused it with EPERM: setting it up needs CAP_NET_ADMIN; use ring: 'emulated' or 'auto'")
    : new UnsupportedError(
        'memory-mapped netlink (NETLINK_RX_RING)',
        `this kernel answered ${errnoName(errno)}: the kernel ring exists only in Linux 3.10–4.5 (removed in 4.6 and late 4.4.y); use ring: 'emulated' or 'auto'`,
      );
}

function ackError(m: NetlinkMessage): NetlinkError | null {
  const cursor = new MessageCursor(m.bytes);
  cursor.next();
  const ack = parseAck(cursor);
  if (!('error' in ack)) return new NetlinkError(EPROTO, m.seq, `malformed NLMSG_ERROR: ${ack.reason}`);
  return ack.error < 0 ? new NetlinkError(-ack.error, m.seq, ack.extackMessage, ack.extackOffset) : null;
}
