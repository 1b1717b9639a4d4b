/**
 * {@link PacketSocket}: an AF_PACKET socket with a PACKET_RX_RING (TPACKET_V1, V2 or V3), read as
 * batches, frames or an async iterator.
 * @packageDocumentation
 */
import '../dispose';
import { constants as osConstants, endianness } from 'node:os';
// Deep imports: the same classes the 'rxjs' entry re-exports, without loading every operator at
// start-up, which a short-lived CLI or dump pays on every run (docs/benchmarks.md).
import { Observable } from 'rxjs/internal/Observable';
import { Subject } from 'rxjs/internal/Subject';
import {
  AF_PACKET,
  BPF_ABS,
  BPF_B,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_RET,
  PACKET_OUTGOING,
  SKF_AD_OFF,
  SKF_AD_PKTTYPE,
  ETH_HLEN,
  MSG_TRUNC,
  PACKET_ADD_MEMBERSHIP,
  PACKET_COPY_THRESH,
  PACKET_IGNORE_OUTGOING,
  PACKET_MR_PROMISC,
  PACKET_RX_RING,
  PACKET_STATISTICS,
  PACKET_VERSION,
  SOCK_DGRAM,
  SOCK_RAW,
  SOL_PACKET,
  POLLERR,
  TPACKET_STATS_V3_SIZE,
  TPACKET_V1,
  TPACKET_V3,
  TP_FT_REQ_FILL_RXHASH,
} from '../constants';
import { errnoText, RingError, UnsupportedError } from '../errors';
import { encodeSockaddrLl } from '../layouts/sockaddr-ll';
import { tpacketV1 } from '../layouts/tpacket-v1';
import { tpacketV2 } from '../layouts/tpacket-v2';
import { tpacketV3Block } from '../layouts/tpacket-v3';
import { native, NativePoller, POLL_READABLE } from '../native';
import { setOptionalInt, takeSocketError } from '../sockopt';
import { decodeTpacketStats, encodePacketMreq, encodeSockFilter, encodeTpacketReq, SockFilter } from '../layouts/packet-sockopt';
import { blockOffsets, frameOffsets, ringBytes } from '../ring/addressing';
import { planRing, validateGeometry } from './ring-rules';
import { RingGeometry } from '../layouts/types';
import { Ring } from '../ring/ring';
import { Frame, FrameBatch } from './batch';
import { DEFAULT_BUFFER_BYTES, MAX_SNAPLEN, normalizePacketOptions, NormalizedPacketOptions, PacketSocketOptions } from './options';
import { BlockReader, FrameSlotReader, ReaderHost, RxReader } from './reader';

/** Cumulative PACKET_STATISTICS since the socket opened (the kernel resets them on every read). */
export interface PacketStats {
  /** Packets the socket saw, including dropped ones (`tp_packets`). */
  packets: number;
  /** Packets dropped because the ring was full (`tp_drops`). */
  drops: number;
  /** V3: times the kernel froze the block queue for lack of a free block (`tp_freeze_q_cnt`). */
  freezeQueueCount: number;
}

/** A loss the socket observed. The stream goes on. */
export interface LossEvent {
  /** `'drops'`: the kernel dropped packets (from PACKET_STATISTICS, read when a LOSING flag showed or stats() was called). `'sequence-gap'`: V3 blocks were skipped. */
  kind: 'drops' | 'sequence-gap';
  /** Packets dropped, or blocks missing. */
  count: number;
  /** Cumulative drops so far. */
  totalDrops: number;
  /** When kring noticed, ms since the epoch. */
  at: number;
}

/** How {@link PacketSocketOptions} that older kernels lack are served (each probed at open). */
export interface PacketFeatures {
  /**
   * `ignoreOutgoing`: `'kernel'` (PACKET_IGNORE_OUTGOING, Linux 4.20), `'filter'` (older kernels:
   * the socket's classic BPF filter drops frames whose pkt_type is PACKET_OUTGOING), or `'off'`
   * (not asked for).
   */
  readonly ignoreOutgoing: 'kernel' | 'filter' | 'off';
}

/** The geometry and layout a socket ended up with. */
export interface RingInfo {
  version: 'v1' | 'v2' | 'v3';
  geometry: RingGeometry;
  /** Bytes mapped. */
  bytes: number;
  /** Ring slots: frames on V1/V2, blocks on V3. */
  slots: number;
}

interface Consumer {
  push(batch: FrameBatch): void;
  error(err: unknown): void;
  complete(): void;
}

const LP64 = new Set(['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el']);
const VERSION_NAMES = ['v1', 'v2', 'v3'] as const;

// Sockets being read: a strong reference while polling, so that a socket whose only owner is its
// consumer (a subscription or an async iteration nobody else holds) is not collected mid-read.
// The poll callback reaches a socket through a WeakRef only (see #pollCallback), so without this
// the collector would close it and the stream would go silent.
const reading = new Set<PacketSocket>();

// Safety net only: a socket dropped without close() has its poll handle, mapping and fd released
// when it is collected. close() unregisters.
const finalizer = new FinalizationRegistry<{ fd: number; poller: NativePoller | null; mapping: ArrayBuffer | null }>((held) => {
  try {
    held.poller?.close();
    if (held.mapping) native.krMunmap(held.mapping, 'PACKET_RX_RING');
    native.krClose(held.fd, 'AF_PACKET');
  } catch {
    // Nothing to report to at collection time.
  }
});

/**
 * An AF_PACKET socket receiving through a memory-mapped ring.
 *
 * One consumer at a time reads it: a subscription to {@link batches} or {@link frames}, or an
 * async iteration. Subscribing starts polling; unsubscribing stops it and ends the leases of
 * batches still held. {@link close} completes the consumer and releases everything.
 */
export class PacketSocket implements Disposable {
  /** The interface index captured on (0 for `'any'`). */
  readonly ifindex: number;
  /** The ring's layout and geometry. */
  readonly ring: RingInfo;
  /** How the options newer than Linux 3.10 that were asked for are served on this kernel. */
  readonly features: PacketFeatures;
  #fd: number;
  #ifname: string;
  #mapping: ArrayBuffer | null;
  #poller: NativePoller | null;
  #reader: RxReader;
  #closed = false;
  #consumer: Consumer | null = null;
  #initialDrain: NodeJS.Immediate | null = null;
  #losses = new Subject<LossEvent>();
  #stats: PacketStats = { packets: 0, drops: 0, freezeQueueCount: 0 };
  #statsBuf = new Uint8Array(TPACKET_STATS_V3_SIZE);
  #version: number;
  #token = {};

  private constructor(fd: number, ifname: string, ifindex: number, version: number, geometry: RingGeometry, mapping: ArrayBuffer, features: PacketFeatures) {
    this.#fd = fd;
    this.features = features;
    this.#ifname = ifname;
    this.ifindex = ifindex;
    this.#version = version;
    this.#mapping = mapping;
    const dv = new DataView(mapping);
    const buf = new Uint8Array(mapping);
    const host: ReaderHost = {
      recvWhole: (size) => this.#recvWhole(size),
      onLosing: () => this.stats(),
      onSequenceGap: (missing) => this.#emitLoss('sequence-gap', missing),
    };
    if (version === TPACKET_V3) {
      this.#reader = new BlockReader(new Ring(mapping, blockOffsets(geometry), tpacketV3Block), geometry.blockSize, dv, buf, host);
    } else {
      const layout = version === TPACKET_V1 ? tpacketV1 : tpacketV2;
      this.#reader = new FrameSlotReader(new Ring(mapping, frameOffsets(geometry), layout), dv, buf, host);
    }
    this.ring = { version: VERSION_NAMES[version], geometry, bytes: ringBytes(geometry), slots: this.#reader.ring.size };
    this.#poller = new native.Poller(fd, 'AF_PACKET', PacketSocket.#pollCallback(new WeakRef(this)));
    finalizer.register(this, { fd, poller: this.#poller, mapping }, this.#token);
  }

  // The native poller holds its callback strongly, so the callback reaches the socket through a
  // WeakRef, made in a function of its own: closures made in the constructor share a context that
  // holds `this`, which would pin an unclosed socket in memory and keep the finalizer from running.
  static #pollCallback(ref: WeakRef<PacketSocket>): (status: number, events: number) => void {
    return (status, events) => {
      const socket = ref.deref();
      if (socket) socket.#onPoll(status, events);
    };
  }

  /**
   * Opens an AF_PACKET socket with an RX ring and binds it to an interface.
   *
   * The socket is created with protocol 0 (it receives nothing), configured (version, options,
   * filter, ring, mapping), and only then bound to the protocol and interface, so no frame arrives
   * before the ring is ready. If any step fails, the steps already done are undone.
   * @throws TypeError / RangeError for invalid options (before any native call)
   * @throws RingError for kernel failures: `ENODEV` for a missing interface, `EPERM` without
   *   CAP_NET_RAW (with a hint), `ENOENT` for a missing netns
   * @throws UnsupportedError on a big-endian machine, or for V1 in a 32-bit process
   */
  static open(options: PacketSocketOptions): PacketSocket {
    const o = normalizePacketOptions(options);
    if (endianness() !== 'LE') throw new UnsupportedError('AF_PACKET rings on big-endian machines', 'kring decodes little-endian headers only');
    if (o.version === TPACKET_V1 && !LP64.has(process.arch)) {
      throw new UnsupportedError('TPACKET_V1 in a 32-bit process', 'tpacket_hdr.tp_status is an unsigned long; use version v2 or v3');
    }
    const pageSize = native.krPageSize();
    // Validate an explicit geometry before touching the kernel.
    if (o.geometry) validateGeometry(o.geometry, { version: o.version, pageSize });

    const fd = native.krSocket({ domain: AF_PACKET, type: o.mode === 'raw' ? SOCK_RAW : SOCK_DGRAM, protocol: 0, netns: o.netnsPath, op: 'AF_PACKET' });
    let mapping: ArrayBuffer | null = null;
    try {
      const any = o.interface === 'any';
      const ifindex = any ? 0 : native.krIfIndex(fd, o.interface);
      const geometry = o.geometry ?? planRing(o.version, sizing(o, any ? MAX_SNAPLEN : native.krIfMtu(fd, o.interface) + ETH_HLEN), pageSize);
      validateGeometry(geometry, { version: o.version, pageSize });
      native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_VERSION, value: o.version, op: 'PACKET_VERSION' });
      if (o.copyThreshold) native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_COPY_THRESH, value: 1, op: 'PACKET_COPY_THRESH' });
      // PACKET_IGNORE_OUTGOING exists from Linux 4.20: where it does not, the filter drops what
      // the host sends (pkt_type PACKET_OUTGOING) instead, in the kernel still.
      const ignoreOutgoing = !o.ignoreOutgoing
        ? 'off'
        : setOptionalInt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING')
          ? 'kernel'
          : 'filter';
      // snaplen: the filter answers it ("ret #snaplen"). tpacket_rcv() truncates to the filter's
      // answer, so every version gets an exact tp_snaplen and V3 packs only what is kept.
      if (o.snaplen !== null || ignoreOutgoing === 'filter')
        native.krAttachFilter(fd, socketFilter(o.snaplen, ignoreOutgoing === 'filter'), 'SO_ATTACH_FILTER');
      native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_RX_RING, value: encodeRingRequest(o, geometry), op: 'PACKET_RX_RING' });
      mapping = native.krMmap(fd, ringBytes(geometry), 'PACKET_RX_RING');
      native.krBind(fd, encodeSockaddrLl(o.protocol, ifindex), 'AF_PACKET');
      if (o.promiscuous && !any)
        native.krSetsockopt({
          fd: fd,
          level: SOL_PACKET,
          name: PACKET_ADD_MEMBERSHIP,
          value: encodePacketMreq(ifindex, PACKET_MR_PROMISC),
          op: 'PACKET_ADD_MEMBERSHIP',
        });
      return new PacketSocket(fd, o.interface, ifindex, o.version, geometry, mapping, { ignoreOutgoing });
    } catch (e) {
      if (mapping) native.krMunmap(mapping, 'PACKET_RX_RING');
      native.krClose(fd, 'AF_PACKET');
      throw e;
    }
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Batches of received frames: one emission per wake-up (V1/V2) or per block (V3). Cold: the
   * subscription starts polling, unsubscribing stops it. Each batch is released when `next`
   * returns unless the observer called `batch.hold()`. Errors are {@link RingError}s; `close()`
   * completes the stream. Only one consumer at a time: a second errors with an Error whose code is
   * `'ERR_KRING_BUSY'`. Multicast with `share()`.
   */
  batches(): Observable<FrameBatch> {
    return new Observable<FrameBatch>((subscriber) => {
      const consumer: Consumer = {
        push: (b) => subscriber.next(b),
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      };
      if (!this.#attach(consumer, subscriber)) return undefined;
      return () => this.#detach(consumer);
    });
  }

  /**
   * Received frames, each copied out of the ring (safe to keep). Built on {@link batches}: one
   * emission per frame costs several times the batch path, so prefer batches for high rates.
   */
  frames(): Observable<Frame> {
    return new Observable<Frame>((subscriber) =>
      this.batches().subscribe({
        next: (batch) => {
          for (let i = 0; i < batch.length && !subscriber.closed; i++) subscriber.next(batch.frame(i).copy());
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
  }

  /**
   * Iterates batches. A yielded batch stays valid until the next step (or longer with `hold()`);
   * ending the loop (break, return, throw) stops polling; `close()` ends it.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<FrameBatch, void, undefined> {
    const queue: FrameBatch[] = [];
    let wake: (() => void) | null = null;
    let failure: unknown = null;
    let done = false;
    const consumer: Consumer = {
      push: (b) => {
        b._queued = true; // the iterator owns it until the step after it is yielded
        queue.push(b);
        wake?.();
      },
      error: (e) => {
        failure = e;
        wake?.();
      },
      complete: () => {
        done = true;
        wake?.();
      },
    };
    const fail = {
      error: (e: unknown) => {
        failure = e;
      },
    };
    if (!this.#attach(consumer, fail)) {
      if (failure) throw failure;
      return; // closed: the iteration is simply over
    }
    try {
      for (;;) {
        const b = queue.shift();
        if (b) {
          try {
            yield b;
          } finally {
            // The step is over: give the batch back unless the caller hold() it.
            if (!b.held) b.release();
          }
          continue;
        }
        if (failure) throw failure;
        if (done) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      this.#detach(consumer);
      for (const b of queue) b.release();
    }
  }

  /**
   * Losses as they happen: kernel drops (read from PACKET_STATISTICS when a frame or block carries
   * TP_STATUS_LOSING, or when {@link stats} is called) and V3 block-sequence gaps. Hot: events
   * before subscription are not replayed (the totals are in {@link stats}). Completes on close.
   */
  losses(): Observable<LossEvent> {
    return this.#losses.asObservable();
  }

  /**
   * Reads PACKET_STATISTICS and returns the running totals since open. The kernel resets its
   * counters on every read (and clears TP_STATUS_LOSING with them), so kring accumulates; new drops
   * are also emitted on {@link losses}. After close, returns the last totals.
   * @throws RingError if getsockopt fails
   */
  stats(): PacketStats {
    if (this.#closed) return { ...this.#stats };
    this.#statsBuf.fill(0);
    native.krGetsockopt({ fd: this.#fd, level: SOL_PACKET, name: PACKET_STATISTICS, out: this.#statsBuf, op: 'PACKET_STATISTICS' });
    const { packets, drops, freezeQueueCount } = decodeTpacketStats(this.#statsBuf);
    this.#stats.packets += packets;
    this.#stats.drops += drops;
    if (this.#version === TPACKET_V3) this.#stats.freezeQueueCount += freezeQueueCount;
    if (drops > 0) this.#emitLoss('drops', drops);
    return { ...this.#stats };
  }

  /**
   * Stops polling, completes the consumer and {@link losses}, ends every batch lease, detaches and
   * unmaps the ring, and closes the socket, in that order. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    try {
      this.stats(); // keep the final totals readable after close
    } catch {
      // The socket is going away; totals stay as last read.
    }
    this.#closed = true;
    finalizer.unregister(this.#token);
    if (this.#initialDrain) clearImmediate(this.#initialDrain);
    this.#poller?.close();
    this.#poller = null;
    reading.delete(this);
    const c = this.#consumer;
    this.#consumer = null;
    c?.complete();
    this.#losses.complete();
    this.#reader.expireAll();
    if (this.#mapping) native.krMunmap(this.#mapping, 'PACKET_RX_RING');
    this.#mapping = null;
    native.krClose(this.#fd, 'AF_PACKET');
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #attach(consumer: Consumer, onRefuse: { error(e: unknown): void }): boolean {
    if (this.#closed) {
      consumer.complete();
      return false;
    }
    if (this.#consumer) {
      onRefuse.error(Object.assign(new Error('this PacketSocket already has a consumer; share() the observable to fan out'), { code: 'ERR_KRING_BUSY' }));
      return false;
    }
    this.#consumer = consumer;
    this.#poller!.start(POLL_READABLE);
    reading.add(this);
    // Polling is edge-triggered: frames that arrived before the subscription raise no new event,
    // so drain once on the next turn of the loop (not synchronously: the subscriber is not set up yet).
    this.#initialDrain = setImmediate(() => {
      this.#initialDrain = null;
      this.#onPoll(0);
    });
    return true;
  }

  #detach(consumer: Consumer): void {
    if (this.#consumer !== consumer) return;
    this.#consumer = null;
    if (this.#initialDrain) clearImmediate(this.#initialDrain);
    this.#initialDrain = null;
    this.#poller?.stop();
    reading.delete(this);
    this.#reader.releaseAll();
  }

  // One JavaScript entry per kernel wake-up: drain every batch the kernel has handed over. A
  // wake-up that finds nothing new (the ring's head slot is still held) simply returns: the next
  // frame the kernel writes raises a new edge. EPOLLERR: the frames already in the ring are
  // delivered first, then the socket error is looked at.
  #onPoll(status: number, events = 0): void {
    const consumer = this.#consumer;
    if (!consumer || this.#closed) return;
    if (status < 0) {
      this.#consumer = null;
      this.#poller?.stop();
      reading.delete(this);
      consumer.error(new RingError(-status, 'epoll_wait', 'poll', 'poll failed'));
      return;
    }
    try {
      for (;;) {
        if (this.#consumer !== consumer) return;
        const batch = this.#reader.next();
        if (!batch) break;
        consumer.push(batch);
        if (!batch.held && !batch._queued) batch.release();
      }
      if (events & POLLERR && this.#consumer === consumer) {
        const lost = this.#socketError();
        if (lost) throw lost;
      }
    } catch (e) {
      if (this.#consumer === consumer) {
        this.#consumer = null;
        this.#poller?.stop();
        reading.delete(this);
        consumer.error(e);
      }
    }
  }

  // The pending socket error (SO_ERROR, read and cleared). The kernel's packet_notifier() sets
  // ENETDOWN on a bound socket when its interface goes down, is unregistered (deleted) or moves to
  // another namespace (unregistered here). Down is not fatal: the kernel hooks the socket in again
  // when the interface comes back up. Gone is: the stream errors.
  #socketError(): RingError | null {
    const err = takeSocketError(this.#fd);
    if (err === 0) return null;
    if (err === osConstants.errno.ENETDOWN && this.ifindex !== 0) {
      let now = -1;
      try {
        now = native.krIfIndex(this.#fd, this.#ifname);
      } catch (e) {
        if (!(e instanceof RingError) || e.errno !== osConstants.errno.ENODEV) throw e;
      }
      if (now === this.ifindex) return null; // down, not gone: capture resumes when it is up again
      return new RingError(
        err,
        'poll',
        `interface ${this.#ifname}`,
        `the interface (ifindex ${this.ifindex}) was deleted or moved to another network namespace`,
      );
    }
    return new RingError(err, 'poll', `interface ${this.#ifname}`, errnoText(err));
  }

  #recvWhole(size: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(size, 1));
    const n = native.krRecv({ fd: this.#fd, buf: buf, flags: MSG_TRUNC, op: 'TP_STATUS_COPY' });
    if (n < 0) throw new RingError(osConstants.errno.EAGAIN, 'recv', 'TP_STATUS_COPY', 'the whole packet for a TP_STATUS_COPY frame was not queued');
    return buf.subarray(0, Math.min(n, buf.length));
  }

  #emitLoss(kind: LossEvent['kind'], count: number): void {
    this.#losses.next({ kind, count, totalDrops: this.#stats.drops, at: Date.now() });
  }
}

function sizing(o: NormalizedPacketOptions, defaultSnaplen: number) {
  const snaplen = o.snaplen ?? Math.min(defaultSnaplen, MAX_SNAPLEN);
  if (o.lineRatePps !== null && o.milliseconds !== null) return { snaplen, lineRatePps: o.lineRatePps, milliseconds: o.milliseconds };
  return { snaplen, bufferBytes: o.bufferBytes ?? DEFAULT_BUFFER_BYTES };
}

/** `struct tpacket_req` (V1/V2) or `struct tpacket_req3` (V3) for these options. @internal */
export function encodeRingRequest(o: Pick<NormalizedPacketOptions, 'version' | 'blockTimeoutMs' | 'rxhash'>, g: RingGeometry): Uint8Array {
  if (o.version !== TPACKET_V3) return encodeTpacketReq(g);
  return encodeTpacketReq(g, { retireBlkTov: o.blockTimeoutMs, sizeofPriv: 0, featureReqWord: o.rxhash ? TP_FT_REQ_FILL_RXHASH : 0 });
}

/**
 * The socket's classic BPF program: keep at most `snaplen` bytes (the whole packet when null), and
 * with `dropOutgoing` drop what the host itself sends (the ancillary load of skb->pkt_type).
 */
function socketFilter(snaplen: number | null, dropOutgoing: boolean): Uint8Array {
  const keep: SockFilter = [BPF_RET | BPF_K, 0, 0, snaplen ?? 0xffffffff];
  if (!dropOutgoing) return encodeSockFilter([keep]);
  return encodeSockFilter([
    [BPF_LD | BPF_B | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_PKTTYPE],
    [BPF_JMP | BPF_JEQ | BPF_K, 1, 0, PACKET_OUTGOING], // outgoing: to "ret #0"
    keep,
    [BPF_RET | BPF_K, 0, 0, 0],
  ]);
}
