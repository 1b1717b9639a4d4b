/**
 * {@link PacketSocket}: an AF_PACKET socket with a PACKET_RX_RING (TPACKET_V1, V2 or V3), read as
 * batches, frames or an async iterator, and/or a PACKET_TX_RING written through its
 * {@link PacketWriter}; optionally a PACKET_FANOUT group member.
 * @packageDocumentation
 */
import '../dispose';
import { constants as osConstants, endianness } from 'node:os';
// Deep imports: the same classes the 'rxjs' entry re-exports, without loading every operator at
// start-up, which a short-lived CLI or dump pays on every run (docs/benchmarks.md).
import { Observable } from 'rxjs/internal/Observable';
import { GuardedObservable, guarded } from '../guarded';
import { Subject } from 'rxjs/internal/Subject';
import {
  AF_PACKET,
  BPF_A,
  BPF_ABS,
  BPF_B,
  BPF_JA,
  BPF_JEQ,
  BPF_JGT,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_RET,
  PACKET_OUTGOING,
  PACKET_LOSS,
  PACKET_QDISC_BYPASS,
  PACKET_TX_HAS_OFF,
  PACKET_TX_RING,
  MSG_DONTWAIT,
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
  TPACKET_ALIGN,
} from '../constants';
import { errnoText, interfaceError, namespaceError, RingError, UnsupportedError } from '../errors';
import { encodeSockaddrLl } from '../layouts/sockaddr-ll';
import { tpacketV1 } from '../layouts/tpacket-v1';
import { tpacketV2 } from '../layouts/tpacket-v2';
import { tpacketV3Block, tpacketV3TxFrame } from '../layouts/tpacket-v3';
import { native, NativePoller, POLL_READABLE, POLL_WRITABLE } from '../native';
import { ringRefused, setOptionalInt, takeSocketError } from '../sockopt';
import { decodeTpacketStats, encodePacketMreq, encodeSockFilter, encodeTpacketReq, SockFilter } from '../layouts/packet-sockopt';
import type { BpfProgram } from '../bpf/program';
import { blockOffsets, frameOffsets, ringBytes } from '../ring/addressing';
import { planRing, planSlots, validateGeometry } from './ring-rules';
import { RingGeometry, SlotLayout, TxFrameLayout } from '../layouts/types';
import { Ring } from '../ring/ring';
import { Frame, FrameBatch } from './batch';
import { joinFanout } from './fanout';
import { DEFAULT_BUFFER_BYTES, MAX_SNAPLEN, normalizePacketOptions, NormalizedPacketOptions, NormalizedTxOptions, PacketSocketOptions } from './options';
import { BlockReader, FrameSlotReader, ReaderHost, RxReader } from './reader';
import { setTimestamping } from './timestamps';
import { PacketWriter, TxStats } from './tx';
import { PollTarget } from '../poll-target';
import { int, optionsObject } from '../validate';

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
  /**
   * `tx.qdiscBypass`: `'kernel'` (PACKET_QDISC_BYPASS, Linux 3.14), `'qdisc'` (older kernels:
   * frames go through the device's queueing discipline as usual), or `'off'` (not asked for).
   */
  readonly qdiscBypass: 'kernel' | 'qdisc' | 'off';
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

// Safety net only: a socket dropped without close() has its poll handle, mapping and fd released
// when it is collected. close() unregisters.
// readSync()'s longest single wait in the kernel (see there).
const WAIT_SLICE_MS = 100;

// What a second consumer gets: an Error with code 'ERR_KRING_BUSY'.
function busyError(what: string): Error {
  return Object.assign(new Error(`this PacketSocket already has ${what}`), { code: 'ERR_KRING_BUSY' });
}

const finalizer = new FinalizationRegistry<{ fd: number; poller: NativePoller | null; mapping: ArrayBuffer | null }>((held) => {
  try {
    held.poller?.close();
    if (held.mapping) native.krMunmap(held.mapping, 'PACKET_RX_RING');
    native.krClose(held.fd, 'AF_PACKET');
  } catch {
    // Nothing to report to at collection time.
  }
});

/** What {@link PacketWriter} waits and fails with when its socket closes: code `'ERR_KRING_CLOSED'`. */
export class PacketSocketClosedError extends Error {
  readonly code = 'ERR_KRING_CLOSED';
  constructor() {
    super('the PacketSocket was closed');
    this.name = 'PacketSocketClosedError';
  }
}

/** The rings a socket ends up with, set up by {@link PacketSocket.open}. */
interface Rings {
  mapping: ArrayBuffer;
  rx: { geometry: RingGeometry } | null;
  tx: { geometry: RingGeometry; layout: SlotLayout & TxFrameLayout; dataOffset: number; options: NormalizedTxOptions; mtu: number } | null;
}

/**
 * An AF_PACKET socket receiving through a memory-mapped ring, sending through one, or both.
 *
 * One consumer at a time reads it: a subscription to {@link batches} or {@link frames}, or an
 * async iteration. Subscribing starts polling; unsubscribing stops it and ends the leases of
 * batches still held. The TX ring is written through {@link writer}. {@link close} completes the
 * consumer, settles the writer's waits and releases everything.
 */
export class PacketSocket implements Disposable {
  /** The interface index captured on (0 for `'any'`). */
  readonly ifindex: number;
  /** The RX ring's layout and geometry; null for a send-only socket (`rx: false`). */
  readonly ring: RingInfo | null;
  /** The TX ring's layout and geometry; null without `tx`. */
  readonly txRing: RingInfo | null;
  /** How the options newer than Linux 3.10 that were asked for are served on this kernel. */
  readonly features: PacketFeatures;
  /** The PACKET_FANOUT group joined (the kernel's pick with `uniqueId`), or null. */
  readonly fanoutGroup: number | null;
  #fd: number;
  #ifname: string;
  #mapping: ArrayBuffer | null;
  #poller: NativePoller | null;
  // What the poll callback reaches this socket through: this socket while it is polled.
  readonly #target = new PollTarget<PacketSocket>();
  #reader: RxReader | null;
  #writer: PacketWriter | null;
  #txWaiting = false;
  #pollMask = 0;
  #closed = false;
  #consumer: Consumer | null = null;
  // The batch readSync() returned last, until its lease ends.
  #syncBatch: FrameBatch | null = null;
  #initialDrain: NodeJS.Immediate | null = null;
  #losses = new Subject<LossEvent>();
  #stats: PacketStats = { packets: 0, drops: 0, freezeQueueCount: 0 };
  #statsBuf = new Uint8Array(TPACKET_STATS_V3_SIZE);
  #version: number;
  #token = {};

  private constructor(fd: number, ifname: string, ifindex: number, version: number, rings: Rings, features: PacketFeatures, fanoutGroup: number | null) {
    this.#fd = fd;
    this.features = features;
    this.fanoutGroup = fanoutGroup;
    this.#ifname = ifname;
    this.ifindex = ifindex;
    this.#version = version;
    const mapping = rings.mapping;
    this.#mapping = mapping;
    this.#reader = null;
    this.ring = null;
    if (rings.rx) {
      const geometry = rings.rx.geometry;
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
    }
    this.#writer = null;
    this.txRing = null;
    if (rings.tx) {
      const { geometry, layout, dataOffset, options, mtu } = rings.tx;
      // The TX ring follows the RX ring in the one mapping (packet_mmap() maps rx_ring, then tx_ring).
      const base = rings.rx ? ringBytes(rings.rx.geometry) : 0;
      const offsets = frameOffsets(geometry).map((o) => o + base);
      const kickFlags = options.blocking ? 0 : MSG_DONTWAIT;
      this.#writer = new PacketWriter(
        {
          ring: new Ring(mapping, offsets, layout),
          mapping,
          dataOffset,
          hasOffset: options.txHasOffset !== null,
          frameSize: geometry.frameSize,
          batch: options.batch,
        },
        {
          kick: () => this.#kick(kickFlags),
          setWaiting: (on) => this.#setTxWaiting(on),
          mtu,
          linkHeader: ETH_HLEN,
          packetLoss: options.packetLoss,
        },
      );
      this.txRing = { version: VERSION_NAMES[version], geometry, bytes: ringBytes(geometry), slots: geometry.frameCount };
    }
    this.#poller = new native.Poller(fd, 'AF_PACKET', PacketSocket.#pollCallback(this.#target));
    finalizer.register(this, { fd, poller: this.#poller, mapping }, this.#token);
  }

  // The callback reaches the socket through its PollTarget only (held while polled: see
  // src/poll-target.ts), made in a function of its own: closures made in the constructor share a
  // context that holds `this`, which would pin an unclosed socket and keep the finalizer from running.
  static #pollCallback(target: PollTarget<PacketSocket>): (status: number, events: number) => void {
    return (status, events) => {
      const socket = target.socket;
      if (socket) socket.#onPoll(status, events);
    };
  }

  /**
   * Opens an AF_PACKET socket with an RX ring, a TX ring or both, and binds it to an interface.
   *
   * The socket is created with protocol 0 (it receives nothing), configured (version, options,
   * filter, rings, mapping), and only then bound to the protocol and interface, so no frame arrives
   * before the ring is ready; a send-only socket stays bound to protocol 0. Fanout is joined after
   * binding (the kernel requires a bound socket). If any step fails, the steps already done are
   * undone.
   * @throws TypeError / RangeError for invalid options (before any native call)
   * @throws RingError for kernel failures: `ENODEV` for a missing interface, `EPERM` without
   *   CAP_NET_RAW (with a hint), `ENOENT` for a missing netns, `EINVAL` from PACKET_FANOUT for a
   *   group that exists with another mode or flags
   * @throws UnsupportedError on a big-endian machine, for V1 in a 32-bit process, for a V3 TX ring
   *   before Linux 4.11, or for hardware timestamps on a device that cannot make them
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
    if (o.tx?.geometry) validateGeometry(o.tx.geometry, { version: o.version, pageSize });

    let fd: number;
    try {
      fd = native.krSocket({ domain: AF_PACKET, type: o.mode === 'raw' ? SOCK_RAW : SOCK_DGRAM, protocol: 0, netns: o.netnsPath, op: 'AF_PACKET' });
    } catch (e) {
      throw namespaceError(e, o.netnsPath);
    }
    let mapping: ArrayBuffer | null = null;
    try {
      const any = o.interface === 'any';
      let ifindex = 0;
      try {
        if (!any) ifindex = native.krIfIndex(fd, o.interface);
      } catch (e) {
        throw interfaceError(e, o.interface, o.netnsPath);
      }
      const mtu = any ? 0 : native.krIfMtu(fd, o.interface);
      native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_VERSION, value: o.version, op: 'PACKET_VERSION' });
      let ignoreOutgoing: PacketFeatures['ignoreOutgoing'] = 'off';
      let rx: Rings['rx'] = null;
      if (o.rx) {
        const geometry = o.geometry ?? planRing(o.version, sizing(o, any ? MAX_SNAPLEN : mtu + ETH_HLEN), pageSize);
        validateGeometry(geometry, { version: o.version, pageSize });
        if (o.copyThreshold) native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_COPY_THRESH, value: 1, op: 'PACKET_COPY_THRESH' });
        // PACKET_IGNORE_OUTGOING exists from Linux 4.20: where it does not, the filter drops what
        // the host sends (pkt_type PACKET_OUTGOING) instead, in the kernel still.
        if (o.ignoreOutgoing) ignoreOutgoing = setOptionalInt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING') ? 'kernel' : 'filter';
        // snaplen: the filter answers it ("ret #snaplen"). tpacket_rcv() truncates to the filter's
        // answer, so every version gets an exact tp_snaplen and V3 packs only what is kept.
        // The user's filter goes in the same program: attached before bind, so nothing unfiltered
        // is ever queued (the socket has no protocol until then).
        if (o.snaplen !== null || o.filter || ignoreOutgoing === 'filter')
          native.krAttachFilter(fd, encodeSockFilter(socketFilter(o.snaplen, ignoreOutgoing === 'filter', o.filter)), 'SO_ATTACH_FILTER');
        if (o.timestampSource) setTimestamping(fd, o.interface, o.timestampSource);
        native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_RX_RING, value: encodeRingRequest(o, geometry), op: 'PACKET_RX_RING' });
        rx = { geometry };
      }
      let qdiscBypass: PacketFeatures['qdiscBypass'] = 'off';
      let tx: Rings['tx'] = null;
      if (o.tx) {
        const t = o.tx;
        const layout = o.version === TPACKET_V3 ? tpacketV3TxFrame : o.version === TPACKET_V1 ? tpacketV1 : tpacketV2;
        const dataOffset = t.txHasOffset ?? layout.txDataOffset;
        if (dataOffset < layout.txDataOffset) {
          throw new RangeError(
            `tx.txHasOffset ${dataOffset} is below the smallest data offset the kernel takes (${layout.txDataOffset}: tp_hdrlen - sizeof(struct sockaddr_ll))`,
          );
        }
        // A frame slot holds the header and the longest frame the device takes: MTU, link header, a VLAN tag.
        const geometry = t.geometry ?? planSlots(t.frameSize ?? TPACKET_ALIGN(dataOffset + mtu + ETH_HLEN + 4), t.bufferBytes, pageSize);
        validateGeometry(geometry, { version: o.version, pageSize });
        if (geometry.frameSize <= dataOffset) throw new RangeError(`tx frameSize ${geometry.frameSize} leaves no room after the data offset ${dataOffset}`);
        if (t.qdiscBypass) qdiscBypass = setOptionalInt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, 'PACKET_QDISC_BYPASS') ? 'kernel' : 'qdisc';
        if (t.packetLoss) native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_LOSS, value: 1, op: 'PACKET_LOSS' });
        if (t.txHasOffset !== null) native.krSetsockopt({ fd: fd, level: SOL_PACKET, name: PACKET_TX_HAS_OFF, value: 1, op: 'PACKET_TX_HAS_OFF' });
        setTxRing(fd, o.version, geometry);
        tx = { geometry, layout, dataOffset, options: t, mtu };
      }
      const bytes = (rx ? ringBytes(rx.geometry) : 0) + (tx ? ringBytes(tx.geometry) : 0);
      mapping = native.krMmap(fd, bytes, o.rx ? 'PACKET_RX_RING' : 'PACKET_TX_RING');
      // A send-only socket binds protocol 0: the kernel registers no receive hook for it.
      native.krBind(fd, encodeSockaddrLl(o.rx ? o.protocol : 0, ifindex), 'AF_PACKET');
      if (o.rx && o.promiscuous && !any)
        native.krSetsockopt({
          fd: fd,
          level: SOL_PACKET,
          name: PACKET_ADD_MEMBERSHIP,
          value: encodePacketMreq(ifindex, PACKET_MR_PROMISC),
          op: 'PACKET_ADD_MEMBERSHIP',
        });
      const fanoutGroup = o.fanout ? joinFanout(fd, o.fanout) : null;
      return new PacketSocket(fd, o.interface, ifindex, o.version, { mapping, rx, tx }, { ignoreOutgoing, qdiscBypass }, fanoutGroup);
    } catch (e) {
      if (mapping) native.krMunmap(mapping, 'PACKET_RX_RING');
      native.krClose(fd, 'AF_PACKET');
      throw e;
    }
  }

  /**
   * The TX writer's running totals ({@link PacketWriter.stats}): written, sent, wrongFormat, kicks.
   * @throws TypeError when the socket was opened without `tx`
   */
  txStats(): TxStats {
    return this.writer.stats();
  }

  /**
   * The TX ring's writer.
   * @throws TypeError when the socket was opened without `tx`
   */
  get writer(): PacketWriter {
    if (!this.#writer) throw new TypeError('this PacketSocket has no TX ring: open it with tx');
    return this.#writer;
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
    return new GuardedObservable<FrameBatch>((subscriber) => {
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
   * Received frames, copied out of the ring (safe to keep) by {@link FrameBatch.copyAll}: runs of
   * consecutive frames share a pooled store (each frame's `data` is a view of it, made on first
   * access). Built on
   * {@link batches}: one emission per frame costs several times the batch path, so prefer batches
   * for high rates.
   */
  frames(): Observable<Frame> {
    return new GuardedObservable<Frame>((subscriber) =>
      this.batches().subscribe({
        next: (batch) => {
          // One copy per batch: the frames share one allocation for their bytes.
          const frames = batch.copyAll();
          for (let i = 0; i < frames.length && !subscriber.closed; i++) subscriber.next(frames[i]);
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
   * Waits on this thread for the next batch and returns it, or null when `timeoutMs` passes first
   * (default: no timeout). Blocks the thread, event loop included, in the kernel's wait as a C
   * reader does (poll, no libuv turn, no callback), so it is for a thread that does nothing but
   * capture: a worker. The batch is leased as in {@link batches}: it is released by the next
   * readSync() unless the caller `hold()`s it (then the caller releases it), and by close().
   * Exclusive with {@link batches}, {@link frames} and the async iterator: each refuses while the
   * other is in use (`'ERR_KRING_BUSY'`), as does a TX writer waiting for room on this socket.
   * @throws TypeError / RangeError for a bad `timeoutMs`; TypeError without an RX ring;
   *   PacketSocketClosedError after close; RingError when the wait fails or the interface is gone
   */
  readSync(options?: { timeoutMs?: number }): FrameBatch | null {
    const o = optionsObject('readSync', options);
    const timeoutMs = o.timeoutMs === undefined ? -1 : int('timeoutMs', o.timeoutMs, 0, 0x7fffffff);
    if (this.#closed) throw new PacketSocketClosedError();
    const reader = this.#reader;
    if (!reader) throw new TypeError('this PacketSocket has no RX ring (it was opened with rx: false)');
    if (this.#consumer || this.#txWaiting)
      throw busyError(this.#consumer ? 'a consumer (batches(), frames() or the async iterator)' : 'a TX writer waiting for room');
    const last = this.#syncBatch;
    this.#syncBatch = null;
    if (last && !last.held) last.release();
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    for (let timedOut = false; ;) {
      const batch = reader.next();
      if (batch) return (this.#syncBatch = batch);
      if (timedOut) return null;
      // Waits of at most WAIT_SLICE_MS: a thread blocked in the kernel runs no JavaScript, so it
      // would not see worker.terminate() (which takes effect when JavaScript next runs) until a
      // frame came. Edge-triggered (native/poller.cc): a wake-up is told once, so the ring is
      // always drained before waiting, and a held head frame does not make this spin.
      const left = Math.min(WAIT_SLICE_MS, Math.max(0, deadline - Date.now()));
      const events = this.#poller!.wait(POLL_READABLE, left);
      if (events & POLLERR) {
        const lost = this.#socketError();
        if (lost) throw lost;
      }
      // Out of time: one more look, for a frame that landed as the wait ran out.
      timedOut = deadline - Date.now() <= 0;
    }
  }

  /**
   * Losses as they happen: kernel drops (read from PACKET_STATISTICS when a frame or block carries
   * TP_STATUS_LOSING, or when {@link stats} is called) and V3 block-sequence gaps. Hot: events
   * before subscription are not replayed (the totals are in {@link stats}). Completes on close.
   */
  losses(): Observable<LossEvent> {
    return guarded(this.#losses.asObservable());
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
   * Stops polling, completes the consumer and {@link losses}, ends every batch lease, rejects the
   * writer's waits ({@link PacketSocketClosedError}), detaches and unmaps the rings, and closes the
   * socket, in that order. Frames written but not yet taken by the kernel are not sent. Idempotent.
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
    this.#target.hold(this, false);
    const c = this.#consumer;
    this.#consumer = null;
    c?.complete();
    this.#losses.complete();
    this.#reader?.expireAll();
    this.#writer?._close(new PacketSocketClosedError());
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
    if (!this.#reader) {
      onRefuse.error(new TypeError('this PacketSocket has no RX ring (it was opened with rx: false)'));
      return false;
    }
    if (this.#consumer) {
      onRefuse.error(busyError('a consumer; share() the observable to fan out'));
      return false;
    }
    if (this.#syncBatch && !this.#syncBatch.released) {
      onRefuse.error(busyError('a batch from readSync() not yet released'));
      return false;
    }
    this.#consumer = consumer;
    this.#updatePoll();
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
    this.#updatePoll();
    this.#reader?.releaseAll();
  }

  // The writer waits for EPOLLOUT (a free frame, send-buffer room) or stops waiting.
  #setTxWaiting(on: boolean): void {
    if (this.#txWaiting === on || this.#closed) return;
    this.#txWaiting = on;
    this.#updatePoll();
  }

  // Polls for what someone waits for: readability for a consumer, writability for the writer. A
  // socket being polled is held strongly (its PollTarget).
  #updatePoll(): void {
    const mask = (this.#consumer ? POLL_READABLE : 0) | (this.#txWaiting ? POLL_WRITABLE : 0);
    if (mask === this.#pollMask || !this.#poller) return;
    this.#pollMask = mask;
    if (mask === 0) {
      this.#poller.stop();
    } else {
      this.#poller.start(mask);
    }
    this.#target.hold(this, mask !== 0);
  }

  // One JavaScript entry per kernel wake-up: drain every batch the kernel has handed over. A
  // wake-up that finds nothing new (the ring's head slot is still held) simply returns: the next
  // frame the kernel writes raises a new edge. EPOLLERR: the frames already in the ring are
  // delivered first, then the socket error is looked at.
  #onPoll(status: number, events = 0): void {
    if (this.#closed) return;
    if (this.#txWaiting && status >= 0) this.#onWritable(events);
    const consumer = this.#consumer;
    if (!consumer || this.#closed) return;
    if (status < 0) {
      this.#consumer = null;
      this.#updatePoll();
      consumer.error(new RingError(-status, 'epoll_wait', 'poll', 'poll failed'));
      return;
    }
    try {
      for (;;) {
        if (this.#consumer !== consumer) return;
        const batch = this.#reader!.next();
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
        this.#updatePoll();
        consumer.error(e);
      }
    }
  }

  // A wake-up while the writer waits. Without an RX consumer to look at EPOLLERR, the socket
  // error is read here: an interface that is gone fails the writer (its waits reject).
  #onWritable(events: number): void {
    const writer = this.#writer!;
    if (events & POLLERR && !this.#consumer) {
      let lost: RingError | null = null;
      try {
        lost = this.#socketError();
      } catch (e) {
        lost = e instanceof RingError ? e : null;
      }
      if (lost) {
        writer._fail(lost);
        return;
      }
    }
    writer._wake();
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
      return this.#interfaceGone(err, 'poll');
    }
    return new RingError(err, 'poll', `interface ${this.#ifname}`, errnoText(err));
  }

  // The TX ring's send. ENXIO: the socket's cached device is gone (tpacket_snd finds none), which
  // is how a send-only socket (no receive hook, so no ENETDOWN from packet_notifier) learns it.
  #kick(flags: number): number {
    try {
      return native.krRingKick(this.#fd, 'PACKET_TX_RING', flags);
    } catch (e) {
      if (e instanceof RingError && e.errno === osConstants.errno.ENXIO) {
        throw this.#interfaceGone(e.errno, 'send');
      }
      throw e;
    }
  }

  // The bound interface is gone (deleted, or moved to another namespace): the error that ends the
  // stream (poll) or fails the writer (send).
  #interfaceGone(errno: number, syscall: string): RingError {
    return new RingError(
      errno,
      syscall,
      `interface ${this.#ifname}`,
      `the interface (ifindex ${this.ifindex}) was deleted or moved to another network namespace`,
    );
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
  if (o.lineRatePps !== null && o.milliseconds !== null)
    return { snaplen, lineRatePps: o.lineRatePps, milliseconds: o.milliseconds, blockTimeoutMs: o.blockTimeoutMs };
  return { snaplen, bufferBytes: o.bufferBytes ?? DEFAULT_BUFFER_BYTES };
}

/** `struct tpacket_req` (V1/V2) or `struct tpacket_req3` (V3) for these options. @internal */
export function encodeRingRequest(o: Pick<NormalizedPacketOptions, 'version' | 'blockTimeoutMs' | 'rxhash'>, g: RingGeometry): Uint8Array {
  if (o.version !== TPACKET_V3) return encodeTpacketReq(g);
  return encodeTpacketReq(g, { retireBlkTov: o.blockTimeoutMs, sizeofPriv: 0, featureReqWord: o.rxhash ? TP_FT_REQ_FILL_RXHASH : 0 });
}

/**
 * PACKET_TX_RING: `struct tpacket_req`, or on V3 (Linux 4.11) a `struct tpacket_req3` whose block
 * fields are zero (the kernel's TX ring has no blocks and refuses them). Before 4.11 the kernel
 * refuses a V3 TX ring with EINVAL: an UnsupportedError naming the version.
 */
const V3_TX = 'TPACKET_V3 TX ring';

function setTxRing(fd: number, version: number, g: RingGeometry): void {
  const value = version === TPACKET_V3 ? encodeTpacketReq(g, { retireBlkTov: 0, sizeofPriv: 0, featureReqWord: 0 }) : encodeTpacketReq(g);
  try {
    if (version === TPACKET_V3 && ringRefused(V3_TX))
      throw new RingError(osConstants.errno.EINVAL, 'setsockopt', 'PACKET_TX_RING', errnoText(osConstants.errno.EINVAL));
    native.krSetsockopt({ fd, level: SOL_PACKET, name: PACKET_TX_RING, value, op: 'PACKET_TX_RING' });
  } catch (e) {
    if (version === TPACKET_V3 && e instanceof RingError && e.errno === osConstants.errno.EINVAL) {
      throw new UnsupportedError(V3_TX, 'Linux 4.11 or later sends from V3 rings; use version v2');
    }
    throw e;
  }
}

/**
 * The socket's classic BPF program: keep at most `snaplen` bytes (the whole packet when null), and
 * with `dropOutgoing` drop what the host itself sends (the ancillary load of skb->pkt_type).
 */
function socketFilter(snaplen: number | null, dropOutgoing: boolean, user: BpfProgram | null): SockFilter[] {
  // The user's program with each "keep k" capped at snaplen (jumps are relative: replacing
  // instructions in place and prepending or appending whole ones keeps them right). Each "ret a"
  // becomes a jump to an appended tail that keeps min(A, snaplen).
  const cap = (k: number) => (snaplen === null ? k : Math.min(k >>> 0, snaplen));
  let body: SockFilter[] = user
    ? user.map(([code, jt, jf, k]) => (code === (BPF_RET | BPF_K) && k !== 0 ? [code, jt, jf, cap(k)] : [code, jt, jf, k]))
    : [[BPF_RET | BPF_K, 0, 0, snaplen ?? 0xffffffff]];
  if (snaplen !== null && body.some(([code]) => code === (BPF_RET | BPF_A))) {
    const tail = body.length;
    body = body.map(([code, jt, jf, k], i) => (code === (BPF_RET | BPF_A) ? [BPF_JMP | BPF_JA, 0, 0, tail - i - 1] : [code, jt, jf, k]));
    body.push([BPF_JMP | BPF_JGT | BPF_K, 0, 1, snaplen], [BPF_RET | BPF_K, 0, 0, snaplen], [BPF_RET | BPF_A, 0, 0, 0]);
  }
  if (!dropOutgoing) return body;
  return [
    [BPF_LD | BPF_B | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_PKTTYPE],
    [BPF_JMP | BPF_JEQ | BPF_K, 0, 1, PACKET_OUTGOING], // outgoing: the next instruction, "ret #0"
    [BPF_RET | BPF_K, 0, 0, 0],
    ...body,
  ];
}
