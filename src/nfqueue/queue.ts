/**
 * {@link NfQueue}: an nfnetlink_queue consumer on a {@link NetlinkSocket} (its RX ring in kernel or
 * emulated mode, its TX writer for the verdicts).
 * @packageDocumentation
 */
import '../dispose';
import { constants as osConstants } from 'node:os';
import { Observable } from 'rxjs/internal/Observable';
import { GuardedObservable, guarded } from '../guarded';
import { Subject } from 'rxjs/internal/Subject';
import type { Subscriber } from 'rxjs/internal/Subscriber';
import {
  AF_UNSPEC,
  NF_ACCEPT,
  NF_DROP,
  NF_QUEUE,
  NF_REPEAT,
  NF_STOP,
  NF_VERDICT_QBITS,
  NFQA_CFG_CMD,
  NFQA_CFG_F_CONNTRACK,
  NFQA_CFG_F_FAIL_OPEN,
  NFQA_CFG_F_GSO,
  NFQA_CFG_F_SECCTX,
  NFQA_CFG_F_UID_GID,
  NFQA_CFG_FLAGS,
  NFQA_CFG_MASK,
  NFQA_CFG_PARAMS,
  NFQA_CFG_QUEUE_MAXLEN,
  NFQNL_CFG_CMD_BIND,
  NFQNL_COPY_META,
  NFQNL_COPY_NONE,
  NFQNL_COPY_PACKET,
  NFQNL_MSG_CONFIG,
  NFQNL_MSG_PACKET,
  NLMSG_ERROR,
} from '../constants';
import { errnoName, errnoText, RingError, UnsupportedError } from '../errors';
import {
  be32,
  encodeConfigCmd,
  encodeConfigParams,
  encodeNfgenmsg,
  nfqMsgType,
  VERDICT_MARK_SIZE,
  VERDICT_MSG_SIZE,
  verdictMessageSize,
  writeVerdictMessage,
} from '../layouts/nfnetlink';
import { RingGeometry } from '../layouts/types';
import { MessageBuilder, NetlinkError, parseAck } from '../netlink/message';
import { frameMessages, NetlinkFrame } from '../netlink/reader';
import { NetlinkSocket, WaitOptions } from '../netlink/socket';
import { getLinks } from '../rtnetlink/readers';
import { bool, choice, describe, int, netnsPath, optionsObject } from '../validate';
import { CancelOptions, cancellable, checkCancelOptions } from '../cancel';
import { KernelQueueCounters, QueueCountersFile } from './counters';
import { decodeNfPacket, NfPacket, PacketLease } from './packet';
import { VerdictBook, VerdictExtras } from './verdict-book';

/** The queue flags (NFQA_CFG_FLAGS): each is set alone, so that a kernel without it is named. */
export interface NfQueueFlags {
  /** NFQA_CFG_F_FAIL_OPEN: packets pass instead of being dropped when the queue is full. */
  failOpen?: boolean;
  /** NFQA_CFG_F_CONNTRACK: conntrack state (ctInfo) and attributes (ct) with each packet. */
  conntrack?: boolean;
  /** NFQA_CFG_F_GSO: GSO packets come whole (not segmented first); see {@link NfPacket.gso}. */
  gso?: boolean;
  /** NFQA_CFG_F_UID_GID: the owning socket's uid and gid. */
  uidGid?: boolean;
  /** NFQA_CFG_F_SECCTX: the security context. */
  secctx?: boolean;
}

/** Options for {@link NfQueue.open}. */
export interface NfQueueOptions {
  /** The queue number (0..65535), or a range bound on one socket (iptables --queue-balance from:to). */
  queue: number | { from: number; to: number };
  /** What the kernel copies: 'packet' (default, the whole packet), a byte range of it, 'meta' (no bytes), 'none'. */
  copy?: 'none' | 'meta' | 'packet' | { range: number };
  /** NFQA_CFG_QUEUE_MAXLEN: packets the kernel keeps waiting for a verdict (its default 1024). */
  maxLen?: number;
  /** The queue flags, each set (and checked) on its own. */
  flags?: NfQueueFlags;
  /** Socket receive buffer in bytes (default 4 MiB). */
  rcvbuf?: number;
  /** Network namespace: a name in /run/netns or an absolute path. */
  netns?: string;
  /** The netlink ring: see {@link NetlinkSocketOptions.ring}. */
  ring?: 'auto' | 'kernel' | 'emulated';
  /** Writes the queue's netlink conversation (bindings, packets, verdicts) to this pcapng file ({@link NetlinkSocketOptions.trace}). */
  trace?: string;
  /** Cancels open(): the binding and configuration requests (rejecting with the signal's reason; nothing stays bound). */
  signal?: AbortSignal;
  /** Gives up each configuration request after this many ms (default: NetlinkSocket's request timeout). */
  timeoutMs?: number;
  /**
   * How often the kernel's counters of the queues are read (ms; 0: never), so that its drops
   * (queue full, undeliverable) come out of {@link NfQueue.losses}; default 1000.
   */
  countersIntervalMs?: number;
  /** The netlink RX ring's geometry (default: 32 frames of 32 KiB); a packet message larger than a frame comes as a COPY frame. */
  rx?: RingGeometry;
}

/** Options of a verdict. */
export interface VerdictOptions {
  /** The packet's new mark (NFQA_MARK, u32). */
  mark?: number;
  /** The packet's new bytes from the network header on (NFQA_PAYLOAD); checksums are the caller's. */
  payload?: Uint8Array;
}

/** A loss {@link NfQueue.losses} reports. */
export type NfLossEvent =
  /** The socket overran (ENOBUFS): packets the kernel could not deliver were dropped (or passed, with failOpen). */
  | { kind: 'enobufs'; count: number }
  /** Packet ids skipped on a queue: that many packets were never delivered. */
  | { kind: 'gap'; queue: number; missing: number }
  /** The kernel refused a verdict (ENOENT: the packet was gone, for example its device went away). */
  | { kind: 'verdict'; errno: number; code: string }
  /** The kernel dropped packets of a queue without delivering them: 'queue-full' (queue_dropped; with failOpen they pass instead) or 'undeliverable' (queue_user_dropped: the socket's buffer was full). */
  | { kind: 'queue-full' | 'undeliverable'; queue: number; count: number };

/** Counters kring keeps (the kernel's own are in /proc/net/netfilter/nfnetlink_queue). */
export interface NfQueueStats {
  /** Packets delivered. */
  delivered: number;
  /** Packets whose verdict was sent. */
  judged: number;
  /** Packets never delivered (ids skipped). */
  gaps: number;
  /** Overruns reported (ENOBUFS). */
  enobufs: number;
  /** Verdicts the kernel refused. */
  verdictErrors: number;
}

const { EAGAIN, EOPNOTSUPP, EPERM, EPROTO } = osConstants.errno;
const NAMES_TTL_MS = 1000;

const FLAGS: readonly [keyof NfQueueFlags, number][] = [
  ['failOpen', NFQA_CFG_F_FAIL_OPEN],
  ['conntrack', NFQA_CFG_F_CONNTRACK],
  ['gso', NFQA_CFG_F_GSO],
  ['uidGid', NFQA_CFG_F_UID_GID],
  ['secctx', NFQA_CFG_F_SECCTX],
];

// Verdict messages go through the TX ring one frame each: many small frames.
const TX = { blockSize: 65536, blockCount: 4, frameSize: 2048, frameCount: 128 };

/**
 * A consumer of one queue (or a range of queues on one socket). Packets arrive in batches, one per
 * wake-up; each must be judged ({@link accept}, {@link drop}, …) and the verdicts go out once per
 * batch, as one batch verdict where that cannot judge an undecided packet, singly otherwise.
 */
export class NfQueue implements Disposable {
  /** The queue numbers bound. */
  readonly queues: readonly number[];
  #sock: NetlinkSocket;
  #book = new VerdictBook();
  #scratch = new DataView(new ArrayBuffer(VERDICT_MSG_SIZE + VERDICT_MARK_SIZE));
  #plain = new Uint8Array(this.#scratch.buffer, 0, VERDICT_MSG_SIZE);
  #marked = new Uint8Array(this.#scratch.buffer, 0, VERDICT_MSG_SIZE + VERDICT_MARK_SIZE);
  #consumer: { inPlace: boolean; sub: Subscriber<readonly NfPacket[]> } | null = null;
  // Packets delivered while nobody consumed (during open, between consumers): copied, kept.
  #backlog: NfPacket[] = [];
  #losses = new Subject<NfLossEvent>();
  #stats: NfQueueStats = { delivered: 0, judged: 0, gaps: 0, enobufs: 0, verdictErrors: 0 };
  #flushSoon: NodeJS.Immediate | null = null;
  #inBatch = false;
  #closed = false;
  #frames: { unsubscribe(): void };
  #lossSub: { unsubscribe(): void };
  #counters: QueueCountersFile | null = null;
  #last = new Map<number, KernelQueueCounters>();
  #timer: NodeJS.Timeout | null = null;
  // A failure (a malformed message) that came while nobody consumed.
  #failure: unknown = undefined;
  #netns: string | undefined;
  // Interface names by index, and when they were read (a dump of the links, shared by concurrent misses).
  #names = new Map<number, string | undefined>();
  #namesAt = 0;
  #namesLoad: Promise<void> | null = null;

  private constructor(sock: NetlinkSocket, queues: number[]) {
    this.#sock = sock;
    this.queues = queues;
    // Read from the start: a packet delivered before anyone consumes is kept, never lost unjudged.
    this.#frames = sock.frames().subscribe({ next: (fs) => this.#onFrames(fs), error: (e) => this.#fail(e) });
    this.#lossSub = sock.losses().subscribe((l) => {
      this.#stats.enobufs += l.count;
      this.#losses.next({ kind: 'enobufs', count: l.count });
    });
  }

  /**
   * Opens a netfilter netlink socket, binds the queue(s) and configures them (copy mode and
   * range, maximum length, each flag on its own).
   * @throws TypeError / RangeError for invalid options, before any native call
   * @throws UnsupportedError naming a flag this kernel does not have (EOPNOTSUPP)
   * @throws RingError when the kernel refuses the binding (EPERM: another socket has the queue)
   */
  static async open(o: NfQueueOptions): Promise<NfQueue> {
    optionsObject('NfQueue.open()', o);
    const queues = queueList(o.queue);
    const { mode, range } = copyMode(o.copy);
    const maxLen = o.maxLen === undefined ? undefined : int('maxLen', o.maxLen, 1, 0xffffffff);
    const flags = o.flags === undefined ? {} : optionsObject('flags', o.flags);
    const interval = o.countersIntervalMs === undefined ? 1000 : int('countersIntervalMs', o.countersIntervalMs, 0, 0x7fffffff);
    checkCancelOptions(o);
    const wait: WaitOptions = { signal: o.signal, timeoutMs: o.timeoutMs };
    o.signal?.throwIfAborted();
    const wanted = FLAGS.filter(([name]) => bool(`flags.${name}`, flags[name]));
    const sock = NetlinkSocket.open({
      protocol: 'netfilter',
      netns: o.netns,
      rcvbuf: o.rcvbuf,
      ring: choice('ring', o.ring ?? 'auto', ['auto', 'kernel', 'emulated'] as const),
      rx: o.rx,
      tx: TX,
      trace: o.trace,
    });
    const q = new NfQueue(sock, queues);
    q.#netns = o.netns;
    try {
      q.#counters = interval > 0 ? QueueCountersFile.open(netnsPath(o.netns)) : null;
      for (const n of queues) {
        await q.#config(n, 'NFQNL_CFG_CMD_BIND', wait, (b) => b.attr(NFQA_CFG_CMD, encodeConfigCmd(NFQNL_CFG_CMD_BIND, AF_UNSPEC)));
        await q.#config(n, 'NFQA_CFG_PARAMS', wait, (b) => b.attr(NFQA_CFG_PARAMS, encodeConfigParams(range, mode)));
        if (maxLen !== undefined) await q.#config(n, 'NFQA_CFG_QUEUE_MAXLEN', wait, (b) => b.attr(NFQA_CFG_QUEUE_MAXLEN, be32(maxLen)));
        for (const [name, bit] of wanted) {
          await q.#config(n, `NFQA_CFG_F_${flagUapi(name)}`, wait, (b) => b.attr(NFQA_CFG_FLAGS, be32(bit)).attr(NFQA_CFG_MASK, be32(bit)), name);
        }
      }
      if (q.#counters) {
        q.#last = q.#counters.read();
        q.#timer = setInterval(() => q.#readCounters(), interval).unref();
      }
    } catch (e) {
      q.close();
      throw e;
    }
    return q;
  }

  // Emits the kernel's drops since the last read as losses.
  #readCounters(): void {
    if (!this.#counters) return;
    let now: Map<number, KernelQueueCounters>;
    try {
      now = this.#counters.read();
    } catch {
      return; // a counters file that cannot be read is no loss of packets
    }
    for (const queue of this.queues) {
      const c = now.get(queue);
      const p = this.#last.get(queue);
      if (!c) continue;
      const full = c.queueDropped - (p?.queueDropped ?? 0);
      const undeliverable = c.userDropped - (p?.userDropped ?? 0);
      if (full > 0) this.#losses.next({ kind: 'queue-full', queue, count: full });
      if (undeliverable > 0) this.#losses.next({ kind: 'undeliverable', queue, count: undeliverable });
    }
    this.#last = now;
  }

  /**
   * The name of an interface of the queue's namespace (a packet's `indev`, `outdev`, …), from a
   * dump of its links (RTM_GETLINK), kept for a second: a miss, or an older answer, reads them
   * again (one dump for every concurrent caller). Undefined for 0 and unknown indexes. `signal` and
   * `timeoutMs` end this caller's wait (the shared dump goes on for the others).
   * @throws RingError (rejection) when the links cannot be read
   */
  async deviceName(index: number, options: CancelOptions = {}): Promise<string | undefined> {
    int('index', index, 0, 0x7fffffff);
    checkCancelOptions(options);
    options.signal?.throwIfAborted();
    if (index === 0) return undefined;
    if (Date.now() - this.#namesAt > NAMES_TTL_MS || !this.#names.has(index)) {
      this.#namesLoad ??= getLinks({ netns: this.#netns })
        .then((links) => {
          this.#names = new Map(links.map((l) => [l.index, l.name]));
          this.#namesAt = Date.now();
        })
        .finally(() => (this.#namesLoad = null));
      const load = this.#namesLoad;
      await cancellable(() => load, options, 'the interface names were not read');
    }
    return this.#names.get(index);
  }

  /** The kernel's counters of the bound queues, read now (undefined where the kernel has no counters file). */
  kernelCounters(): Map<number, KernelQueueCounters> | undefined {
    if (!this.#counters || this.#closed) return undefined;
    const all = this.#counters.read();
    return new Map(this.queues.filter((n) => all.has(n)).map((n) => [n, all.get(n)!]));
  }

  async #config(queue: number, op: string, wait: WaitOptions, attrs: (b: MessageBuilder) => MessageBuilder, flag?: string): Promise<void> {
    const b = new MessageBuilder().begin(nfqMsgType(NFQNL_MSG_CONFIG), 0, 0).bytes(encodeNfgenmsg(AF_UNSPEC, queue));
    try {
      await this.#sock.request(attrs(b).finish(), wait);
    } catch (e) {
      if (!(e instanceof NetlinkError)) throw e;
      if (flag && e.errno === EOPNOTSUPP) throw new UnsupportedError(`NFQUEUE flag ${flag} (${op})`, `this kernel refused it with EOPNOTSUPP`);
      // nfqnl_recv_config answers EPERM when another socket (peer port id) has the queue.
      const why = e.errno === EPERM && op === 'NFQNL_CFG_CMD_BIND' ? 'another socket has bound this queue' : (e.extackMessage ?? errnoText(e.errno));
      throw new RingError(e.errno, 'sendmsg', `${op} queue ${queue}`, why);
    }
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Which netlink ring runs: see {@link NetlinkSocket.ringMode}. */
  get ringMode(): 'kernel' | 'emulated' {
    return this.#sock.ringMode;
  }

  /** Counters kring keeps. */
  stats(): NfQueueStats {
    return { ...this.#stats };
  }

  /**
   * The packets of each wake-up, read in place: `payload`, `hwAddr` and `ct` are views of the ring,
   * leased until the callback returns (after it they throw LeaseError: copy what you keep; decide
   * later by keeping the packet, whose id and queue stay valid). Verdicts decided in the callback
   * go out when it returns. One consumer at a time ({@link batches}, {@link packets} or the async
   * iterator); cold.
   */
  batches(): Observable<readonly NfPacket[]> {
    return this.#consume(true);
  }

  /** Each packet, copied. */
  packets(): Observable<NfPacket> {
    return new GuardedObservable<NfPacket>((sub) =>
      this.#consume(false).subscribe({
        next: (ps) => {
          for (const p of ps) sub.next(p);
        },
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      }),
    );
  }

  /** Each packet, copied, as an async iterator (ends at close). */
  async *[Symbol.asyncIterator](): AsyncIterator<NfPacket> {
    const buf: NfPacket[] = [];
    let wake: (() => void) | null = null;
    let end: { error?: unknown } | null = null;
    const sub = this.packets().subscribe({
      next: (p) => {
        buf.push(p);
        wake?.();
      },
      error: (e) => {
        end = { error: e };
        wake?.();
      },
      complete: () => {
        end = {};
        wake?.();
      },
    });
    try {
      for (;;) {
        if (buf.length) {
          yield buf.shift()!;
          continue;
        }
        if (end) {
          if ('error' in end) throw (end as { error: unknown }).error;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      sub.unsubscribe();
    }
  }

  #consume(inPlace: boolean): Observable<readonly NfPacket[]> {
    return new GuardedObservable<readonly NfPacket[]>((sub) => {
      if (this.#closed) return sub.complete();
      if (this.#consumer) return sub.error(new Error('NfQueue: one consumer at a time (batches(), packets() or the async iterator)'));
      if (this.#failure !== undefined) return sub.error(this.#failure);
      const me = { inPlace, sub };
      this.#consumer = me;
      if (this.#backlog.length) {
        const kept = this.#backlog;
        this.#backlog = [];
        this.#deliver(kept);
      }
      return () => {
        if (this.#consumer === me) this.#consumer = null;
      };
    });
  }

  /** Accepts the packet (NF_ACCEPT). @throws VerdictError when it was not delivered or is decided already */
  accept(p: NfPacket, o?: VerdictOptions): void {
    this.#decide(p, NF_ACCEPT, o);
  }
  /** Drops the packet (NF_DROP). */
  drop(p: NfPacket, o?: VerdictOptions): void {
    this.#decide(p, NF_DROP, o);
  }
  /** Sends the packet through the hook's rules again from the start (NF_REPEAT). */
  repeat(p: NfPacket, o?: VerdictOptions): void {
    this.#decide(p, NF_REPEAT, o);
  }
  /** Accepts the packet and skips the hook's remaining rules (NF_STOP). */
  stop(p: NfPacket, o?: VerdictOptions): void {
    this.#decide(p, NF_STOP, o);
  }
  /** Hands the packet to another queue (NF_QUEUE with the number). */
  queue(p: NfPacket, queue: number, o?: VerdictOptions): void {
    int('queue', queue, 0, 0xffff);
    this.#decide(p, NF_QUEUE | (queue << NF_VERDICT_QBITS), o);
  }

  #decide(p: NfPacket, verdict: number, o: VerdictOptions | undefined): void {
    if (p === null || typeof p !== 'object' || !Number.isInteger(p.id) || !Number.isInteger(p.queue)) {
      throw new TypeError(`a verdict takes a packet this queue delivered, got ${describe(p)}`);
    }
    let extras: VerdictExtras | undefined;
    if (o !== undefined) {
      optionsObject('verdict options', o);
      if (o.mark !== undefined) int('mark', o.mark, 0, 0xffffffff);
      if (o.payload !== undefined) {
        if (!(o.payload instanceof Uint8Array)) throw new TypeError(`payload must be a Uint8Array, got ${describe(o.payload)}`);
        const need = verdictMessageSize(o.mark, o.payload);
        if (need > this.#sock.writer().capacity)
          throw new RangeError(`a ${o.payload.length}-byte payload does not fit a verdict frame (${this.#sock.writer().capacity} bytes)`);
      }
      if (o.mark !== undefined || o.payload !== undefined) extras = { mark: o.mark, payload: o.payload?.slice() };
    }
    if (this.#closed) throw new Error('NfQueue: closed');
    this.#book.decide(p.queue, p.id, verdict, extras);
    if (!this.#inBatch && !this.#flushSoon) this.#flushSoon = setImmediate(() => this.flush());
  }

  /** Sends every decided verdict now (done after each batch, and soon after decisions made outside one). Returns packets judged. */
  flush(): number {
    if (this.#flushSoon) {
      clearImmediate(this.#flushSoon);
      this.#flushSoon = null;
    }
    if (this.#closed) return 0;
    const w = this.#sock.writer();
    const judged = this.#book.flush((type, queue, verdict, id, extras) => {
      let msg: Uint8Array;
      if (extras?.payload) {
        msg = new Uint8Array(verdictMessageSize(extras.mark, extras.payload));
        writeVerdictMessage(new DataView(msg.buffer), 0, type, queue, verdict, id, extras.mark, extras.payload);
      } else {
        const n = writeVerdictMessage(this.#scratch, 0, type, queue, verdict, id, extras?.mark);
        msg = n === VERDICT_MSG_SIZE ? this.#plain : this.#marked;
      }
      if (!w.tryWrite(msg)) {
        w.flush();
        if (!w.tryWrite(msg)) throw new RingError(EAGAIN, 'sendmmsg', 'NFQNL_MSG_VERDICT', 'the TX ring stayed full after a flush');
      }
    });
    w.flush();
    this.#stats.judged += judged;
    return judged;
  }

  /** Losses as they happen: overruns, id gaps, refused verdicts. Completes on close. */
  losses(): Observable<NfLossEvent> {
    return guarded(this.#losses.asObservable());
  }

  #onFrames(frames: readonly NetlinkFrame[]): void {
    // In place only for a batches() consumer: its packets' bytes are leased until its callback returns.
    const lease: PacketLease | null = this.#consumer?.inPlace === true ? { live: true } : null;
    const packets: NfPacket[] = [];
    for (const f of frames) {
      const m = frameMessages(f); // through the ring's DataView: no view per frame
      while (m.next()) {
        if (m.type === NLMSG_ERROR) {
          // A verdict the kernel refused (config requests' ACKs carry their seq and go to request()).
          if (m.seq !== 0) continue;
          const ack = parseAck(m);
          if ('error' in ack && ack.error < 0) {
            this.#stats.verdictErrors++;
            this.#losses.next({ kind: 'verdict', errno: -ack.error, code: errnoName(-ack.error) });
          }
          continue;
        }
        if (m.type !== nfqMsgType(NFQNL_MSG_PACKET)) continue;
        const p = decodeNfPacket(m.dv, m.payload, m.payloadLen, lease);
        if (!('id' in p)) {
          this.#fail(new RingError(EPROTO, 'recvmsg', 'NFQNL_MSG_PACKET', `malformed packet message: ${p.reason}`));
          return;
        }
        const missing = this.#book.deliver(p.queue, p.id);
        this.#stats.delivered++;
        if (missing !== 0) {
          this.#stats.gaps += missing;
          this.#losses.next({ kind: 'gap', queue: p.queue, missing });
        }
        packets.push(p);
      }
      if (m.error) {
        this.#fail(new RingError(EPROTO, 'recvmsg', 'NFQNL_MSG_PACKET', `malformed netlink message: ${m.error.reason}`));
        return;
      }
    }
    if (packets.length === 0) return;
    if (!this.#consumer) {
      this.#backlog.push(...packets);
      return;
    }
    this.#deliver(packets);
    if (lease) lease.live = false;
  }

  #deliver(packets: NfPacket[]): void {
    const c = this.#consumer!;
    this.#inBatch = true;
    try {
      c.sub.next(packets);
    } finally {
      this.#inBatch = false;
    }
    if (!this.#closed) this.flush();
  }

  // Errors the consumer; with none, the next one to subscribe gets the error.
  #fail(e: unknown): void {
    const c = this.#consumer;
    this.#consumer = null;
    if (c) c.sub.error(e);
    else this.#failure ??= e;
  }

  /**
   * Sends the verdicts decided so far, then closes the socket, which unbinds its queues: the
   * kernel drops the packets still waiting for a verdict (nfqnl_rcv_nl_event destroys the
   * instance, its entries reinjected with NF_DROP). Completes the streams. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.flush(); // what was decided (in a callback that closes, too) still goes out
    this.#closed = true;
    this.#frames.unsubscribe();
    this.#lossSub.unsubscribe();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#counters) this.#readCounters(); // the drops up to now, before the losses complete
    this.#counters?.close();
    this.#book.clear();
    this.#backlog = [];
    const c = this.#consumer;
    this.#consumer = null;
    c?.sub.complete();
    this.#losses.complete();
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function queueList(q: unknown): number[] {
  if (typeof q === 'number') return [int('queue', q, 0, 0xffff)];
  if (q !== null && typeof q === 'object' && 'from' in q && 'to' in q) {
    const from = int('queue.from', (q as { from: unknown }).from, 0, 0xffff);
    const to = int('queue.to', (q as { to: unknown }).to, from, 0xffff);
    return Array.from({ length: to - from + 1 }, (_, k) => from + k);
  }
  throw new TypeError(`queue must be a queue number or { from, to }, got ${describe(q)}`);
}

function copyMode(c: unknown): { mode: number; range: number } {
  if (c === undefined || c === 'packet') return { mode: NFQNL_COPY_PACKET, range: 0xffff };
  if (c === 'meta') return { mode: NFQNL_COPY_META, range: 0 };
  if (c === 'none') return { mode: NFQNL_COPY_NONE, range: 0 };
  if (c !== null && typeof c === 'object' && 'range' in c)
    return { mode: NFQNL_COPY_PACKET, range: int('copy.range', (c as { range: unknown }).range, 1, 0xffff) };
  throw new TypeError(`copy must be 'none', 'meta', 'packet' or { range }, got ${describe(c)}`);
}

function flagUapi(name: keyof NfQueueFlags): string {
  return { failOpen: 'FAIL_OPEN', conntrack: 'CONNTRACK', gso: 'GSO', uidGid: 'UID_GID', secctx: 'SECCTX' }[name];
}
