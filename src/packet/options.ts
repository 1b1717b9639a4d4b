/**
 * {@link PacketSocketOptions} and their validation. Everything here runs before any native call:
 * misuse throws TypeError (wrong type) or RangeError (out of range, or a ring geometry the kernel
 * would refuse, with the rule named).
 * @packageDocumentation
 */
import { constants as bufferConstants } from 'node:buffer';
import { ETH_P_ALL, TPACKET_V1, TPACKET_V2, TPACKET_V3 } from '../constants';
import type { RingGeometry } from '../layouts/types';
import type { SockFilter } from '../layouts/packet-sockopt';
import { compileFilter } from '../bpf/compile';
import { BpfProgram, checkProgram } from '../bpf/program';
import { bool, choice, describe, int, netnsPath } from '../validate';

/** TPACKET version names. */
export type TpacketVersionName = 'v1' | 'v2' | 'v3';

/** The TX ring of a {@link PacketSocket} (`tx` in {@link PacketSocketOptions}). */
export interface PacketTxOptions {
  /** Ring size in bytes (default 1 MiB). */
  bufferBytes?: number;
  /**
   * Bytes per frame slot, a multiple of 16 (default: the header plus the interface MTU, the
   * Ethernet header and a VLAN tag).
   */
  frameSize?: number;
  /** Exact geometry (validated with the kernel's rules); overrides bufferBytes and frameSize. */
  geometry?: RingGeometry;
  /** Frames per kick (default 64). A partial batch is kicked at the end of the microtask. */
  batch?: number;
  /**
   * Kick without MSG_DONTWAIT: each `send()` waits in the kernel until the device released every
   * frame it sent. Blocks the thread; for scripts and benchmarks. Default false.
   */
  blocking?: boolean;
  /** PACKET_LOSS: the kernel skips a frame it refuses instead of stopping the ring there. Default false. */
  packetLoss?: boolean;
  /** PACKET_QDISC_BYPASS (Linux 3.14; probed): send straight to the driver. Default false. */
  qdiscBypass?: boolean;
  /**
   * PACKET_TX_HAS_OFF: frames carry their data at this offset from the frame start (written into
   * each frame's `tp_mac`), at least the default (the header's aligned size). Default: unset.
   */
  txHasOffset?: number;
}

/** PACKET_FANOUT modes. */
export type FanoutMode = 'hash' | 'lb' | 'cpu' | 'rollover' | 'rnd' | 'qm' | 'cbpf' | 'ebpf';

/** Joining a PACKET_FANOUT group: the kernel spreads the interface's packets over its members. */
export interface FanoutOptions {
  /** Group id, 0–65535 (omit with `uniqueId`). Members of a group share mode and flags. */
  group?: number;
  /** How packets are spread: by flow hash, round robin, CPU, rollover, random, queue mapping, or a BPF program. */
  mode: FanoutMode;
  /** PACKET_FANOUT_FLAG_ROLLOVER: a full member's packets go to the next one. */
  rollover?: boolean;
  /** PACKET_FANOUT_FLAG_DEFRAG: reassemble IP fragments first, so a flow stays on one member. */
  defrag?: boolean;
  /** PACKET_FANOUT_FLAG_UNIQUEID (Linux 4.11): the kernel picks an unused group id ({@link PacketSocket.fanoutGroup}). */
  uniqueId?: boolean;
  /** `'cbpf'`: a classic BPF program returning the member index; `'ebpf'`: a loaded BPF program's fd. */
  program?: readonly SockFilter[] | number;
}

/** Options for {@link PacketSocket.open}. */
export interface PacketSocketOptions {
  /** Interface name (`'eth0'`), or `'any'` for every interface. */
  interface: string;
  /**
   * Network namespace to capture in: a name as `ip netns` knows it (`/run/netns/NAME`) or an
   * absolute path (`/proc/PID/ns/net`). The socket is created there on a helper thread; the
   * calling thread's namespace never changes. Needs CAP_SYS_ADMIN.
   */
  netns?: string;
  /** Ring header layout; default `'v3'`. */
  version?: TpacketVersionName;
  /** `'raw'` (SOCK_RAW: frames from the link-layer header; default) or `'dgram'` (SOCK_DGRAM: from the network header). */
  mode?: 'raw' | 'dgram';
  /** Ethertype to receive, host order; default ETH_P_ALL (every protocol, and the only way to see VLAN tags). */
  protocol?: number;
  /**
   * Bytes to keep per packet (1–262144). When given, the kernel truncates with a one-instruction
   * socket filter, so `tp_snaplen` is exact for every version. Default: the whole packet, with ring
   * frames sized for the interface MTU.
   */
  snaplen?: number;
  /**
   * Only frames this filter accepts reach the ring: a pcap-filter expression (`'tcp port 80'`,
   * compiled by {@link compileFilter} for the mode's data: Ethernet frames, or in `'dgram'` mode
   * network-layer data, where link-layer primitives are a SyntaxError) or a classic BPF program (for instance
   * `parseProgramText(tcpdump -dd output)`). Attached before the socket is bound, so no frame
   * arrives unfiltered. With `snaplen`, each "keep" answer is capped at it.
   */
  filter?: string | BpfProgram;
  /** Exact ring geometry (validated with the kernel's rules). Overrides the sizing hints. */
  geometry?: RingGeometry;
  /** Ring size in bytes (default 4 MiB). */
  bufferBytes?: number;
  /** With `milliseconds`: size the ring to hold this many packets per second … */
  lineRatePps?: number;
  /**
   * … for this many milliseconds. On V3 the ring also gets at least `milliseconds / blockTimeoutMs`
   * blocks: each timeout retires a block however little it holds, so at a low rate the block
   * count, not the bytes, bounds the pause that fits.
   */
  milliseconds?: number;
  /** Put the interface in promiscuous mode for this socket's life (PACKET_MR_PROMISC). */
  promiscuous?: boolean;
  /** V3 block retire timeout in ms (`tp_retire_blk_tov`); default 2 (the latency bound at low rates). 0 lets the kernel choose (up to 8 ms per MiB of block). */
  blockTimeoutMs?: number;
  /**
   * V1/V2: set PACKET_COPY_THRESH, so a packet larger than a frame slot is also queued whole on
   * the socket (TP_STATUS_COPY); kring reads it and hands over the whole packet.
   */
  copyThreshold?: boolean;
  /** Do not receive frames this host sends (PACKET_IGNORE_OUTGOING). */
  ignoreOutgoing?: boolean;
  /** V3: ask the kernel to fill `tp_rxhash` (TP_FT_REQ_FILL_RXHASH). */
  rxhash?: boolean;
  /** Set up the RX ring (default true). `rx: false` with `tx` makes a send-only socket, which receives nothing. */
  rx?: boolean;
  /** Set up a TX ring too (PACKET_TX_RING): `true` for the defaults. Needs a named interface and `mode: 'raw'`. */
  tx?: boolean | PacketTxOptions;
  /** Join a PACKET_FANOUT group (RX). */
  fanout?: FanoutOptions;
  /**
   * Where receive timestamps come from (PACKET_TIMESTAMP): `'software'` (the stack's clock when
   * the packet arrived: kring turns the stack's stamping on with SO_TIMESTAMPNS), `'hardware'` or
   * `'raw-hardware'` (the NIC's clock; both ask for
   * SOF_TIMESTAMPING_RAW_HARDWARE, since the kernel no longer makes system-time hardware stamps).
   * An interface whose driver cannot stamp in hardware is an {@link UnsupportedError} at open.
   * Each frame says which source its stamp has ({@link Frame.timestampSource}). Unset: whatever
   * the kernel has, often `'fallback'` (its clock when it filled the frame).
   */
  timestampSource?: 'software' | 'hardware' | 'raw-hardware';
}

/** Options after validation, with defaults filled in. @internal */
export interface NormalizedPacketOptions {
  interface: string;
  netnsPath: string | null;
  version: number;
  mode: 'raw' | 'dgram';
  protocol: number;
  snaplen: number | null;
  filter: BpfProgram | null;
  geometry: RingGeometry | null;
  bufferBytes: number | null;
  lineRatePps: number | null;
  milliseconds: number | null;
  promiscuous: boolean;
  blockTimeoutMs: number;
  copyThreshold: boolean;
  ignoreOutgoing: boolean;
  rxhash: boolean;
  rx: boolean;
  tx: NormalizedTxOptions | null;
  fanout: NormalizedFanout | null;
  timestampSource: 'software' | 'hardware' | 'raw-hardware' | null;
}

/** @internal */
export interface NormalizedTxOptions {
  bufferBytes: number;
  frameSize: number | null;
  geometry: RingGeometry | null;
  batch: number;
  blocking: boolean;
  packetLoss: boolean;
  qdiscBypass: boolean;
  txHasOffset: number | null;
}

/** @internal */
export interface NormalizedFanout {
  group: number;
  mode: FanoutMode;
  rollover: boolean;
  defrag: boolean;
  uniqueId: boolean;
  program: readonly SockFilter[] | number | null;
}

/** Default TX ring size. */
export const DEFAULT_TX_BUFFER_BYTES = 1 << 20;
/** Default frames per TX kick. */
export const DEFAULT_TX_BATCH = 64;
const FANOUT_MODES: readonly FanoutMode[] = ['hash', 'lb', 'cpu', 'rollover', 'rnd', 'qm', 'cbpf', 'ebpf'];

/** The largest snaplen tcpdump accepts (MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;
/** Default ring size. */
export const DEFAULT_BUFFER_BYTES = 4 << 20;
/**
 * Default V3 block timeout. At a low rate every frame waits for it (a block is handed over when
 * full or retired by this timer): measured at 1,000 packets/s (`npm run bench:latency`), 2 ms gives
 * a p99 of 1.7–1.9 ms from the kernel's timestamp to the subscriber, 4 ms about 3.6 ms. At
 * saturation a shorter timeout means smaller blocks and more wake-ups: 25–31 ns of CPU per 64-byte
 * frame at 2 ms against 18–20 ns at 4 ms and 16 ns at 8 ms (docs/benchmarks.md); a capture that lives
 * at high rates may set `blockTimeoutMs` higher. libpcap's 1 s (tcpdump's default) leaves frames
 * waiting half a second.
 */
export const DEFAULT_BLOCK_TIMEOUT_MS = 2;

const VERSIONS: Record<TpacketVersionName, number> = { v1: TPACKET_V1, v2: TPACKET_V2, v3: TPACKET_V3 };

/**
 * Validates {@link PacketSocketOptions}.
 * @throws TypeError / RangeError naming the option
 * @internal
 */
export function normalizePacketOptions(o: PacketSocketOptions): NormalizedPacketOptions {
  if (o === null || typeof o !== 'object') throw new TypeError('PacketSocket.open() needs an options object');
  if (typeof o.interface !== 'string' || o.interface.length === 0) {
    throw new TypeError(`interface must be a non-empty string (an interface name, or 'any'), got ${describe(o.interface)}`);
  }
  if (o.interface.includes('\0')) throw new TypeError(`interface name ${JSON.stringify(o.interface)} contains a NUL character`);
  if (o.interface.length > 15) throw new RangeError(`interface name ${JSON.stringify(o.interface)} is longer than IFNAMSIZ - 1 (15)`);
  const versionName = o.version ?? 'v3';
  const version = typeof versionName === 'string' && Object.hasOwn(VERSIONS, versionName) ? VERSIONS[versionName as TpacketVersionName] : undefined;
  if (version === undefined) throw new RangeError(`version must be 'v1', 'v2' or 'v3', got ${describe(versionName)}`);
  const mode = o.mode ?? 'raw';
  if (mode !== 'raw' && mode !== 'dgram') throw new RangeError(`mode must be 'raw' or 'dgram', got ${describe(mode)}`);
  const copyThreshold = bool('copyThreshold', o.copyThreshold);
  if (copyThreshold && version === TPACKET_V3) {
    throw new RangeError('copyThreshold applies to TPACKET_V1/V2 only: V3 frames are sized per packet and the kernel never sets TP_STATUS_COPY');
  }
  const rxhash = bool('rxhash', o.rxhash);
  if (rxhash && version !== TPACKET_V3) throw new RangeError('rxhash needs TPACKET_V3 (tp_rxhash exists only in tpacket3_hdr)');
  if (o.geometry !== undefined && (o.bufferBytes !== undefined || o.lineRatePps !== undefined || o.milliseconds !== undefined)) {
    throw new TypeError('give either geometry or the sizing hints (bufferBytes, or lineRatePps with milliseconds), not both');
  }
  if (o.bufferBytes !== undefined && (o.lineRatePps !== undefined || o.milliseconds !== undefined)) {
    throw new TypeError('give either bufferBytes or lineRatePps with milliseconds, not both');
  }
  if ((o.lineRatePps === undefined) !== (o.milliseconds === undefined)) {
    throw new TypeError('lineRatePps and milliseconds go together');
  }
  if (o.geometry !== undefined && (o.geometry === null || typeof o.geometry !== 'object')) {
    throw new TypeError('geometry must be an object { blockSize, blockCount, frameSize, frameCount }');
  }
  const rx = bool('rx', o.rx, true);
  const tx = normalizeTx(o.tx);
  if (!rx && !tx) throw new TypeError('a PacketSocket needs a ring: rx (the default) or tx');
  if (tx && o.interface === 'any') throw new RangeError("a TX ring sends on one interface: name it (not 'any')");
  if (tx && mode !== 'raw') throw new RangeError("a TX ring sends link-layer frames: use mode 'raw'");
  const fanout = normalizeFanout(o.fanout);
  if (fanout && !rx) throw new RangeError('fanout spreads received packets: it needs the RX ring');
  const timestampSource =
    o.timestampSource === undefined ? null : choice('timestampSource', o.timestampSource, ['software', 'hardware', 'raw-hardware'] as const);
  if (timestampSource && timestampSource !== 'software' && o.interface === 'any') {
    throw new RangeError("hardware timestamps are a device's: name the interface (not 'any')");
  }
  return {
    interface: o.interface,
    netnsPath: netnsPath(o.netns),
    version,
    mode,
    protocol: o.protocol === undefined ? ETH_P_ALL : int('protocol', o.protocol, 0, 0xffff),
    snaplen: o.snaplen === undefined ? null : int('snaplen', o.snaplen, 1, MAX_SNAPLEN),
    filter: normalizeFilter(o.filter, mode, rx),
    geometry: o.geometry === undefined ? null : { ...o.geometry },
    // The ring is mapped as one ArrayBuffer, which the running Node caps at buffer.constants.MAX_LENGTH.
    bufferBytes:
      o.bufferBytes === undefined
        ? null
        : int('bufferBytes', o.bufferBytes, 4096, bufferConstants.MAX_LENGTH, ' (buffer.constants.MAX_LENGTH: the ring is one ArrayBuffer)'),
    lineRatePps: o.lineRatePps === undefined ? null : int('lineRatePps', o.lineRatePps, 1, 2 ** 32),
    milliseconds: o.milliseconds === undefined ? null : int('milliseconds', o.milliseconds, 1, 3_600_000),
    promiscuous: bool('promiscuous', o.promiscuous),
    blockTimeoutMs: o.blockTimeoutMs === undefined ? DEFAULT_BLOCK_TIMEOUT_MS : int('blockTimeoutMs', o.blockTimeoutMs, 0, 0xffffffff),
    copyThreshold,
    ignoreOutgoing: bool('ignoreOutgoing', o.ignoreOutgoing),
    rxhash,
    rx,
    tx,
    fanout,
    timestampSource,
  };
}

function normalizeFilter(f: PacketSocketOptions['filter'], mode: 'raw' | 'dgram', rx: boolean): BpfProgram | null {
  if (f === undefined) return null;
  if (!rx) throw new RangeError('a filter chooses received frames: it needs the RX ring');
  // In dgram mode the kernel runs the filter over the network header on (skb->protocol beside it).
  if (typeof f === 'string') return compileFilter(f, { link: mode === 'raw' ? 'ethernet' : 'network' });
  return checkProgram(f);
}

function normalizeTx(t: PacketSocketOptions['tx']): NormalizedTxOptions | null {
  if (t === undefined || t === false) return null;
  const o: PacketTxOptions = t === true ? {} : t;
  if (o === null || typeof o !== 'object') throw new TypeError(`tx must be a boolean or an options object, got ${describe(t)}`);
  if (o.geometry !== undefined && (o.bufferBytes !== undefined || o.frameSize !== undefined)) {
    throw new TypeError('give tx.geometry or tx.bufferBytes/tx.frameSize, not both');
  }
  if (o.geometry !== undefined && (o.geometry === null || typeof o.geometry !== 'object')) {
    throw new TypeError('tx.geometry must be an object { blockSize, blockCount, frameSize, frameCount }');
  }
  return {
    bufferBytes:
      o.bufferBytes === undefined
        ? DEFAULT_TX_BUFFER_BYTES
        : int('tx.bufferBytes', o.bufferBytes, 4096, bufferConstants.MAX_LENGTH, ' (buffer.constants.MAX_LENGTH: the rings are one ArrayBuffer)'),
    frameSize: o.frameSize === undefined ? null : int('tx.frameSize', o.frameSize, 64, 1 << 20),
    geometry: o.geometry === undefined ? null : { ...o.geometry },
    batch: o.batch === undefined ? DEFAULT_TX_BATCH : int('tx.batch', o.batch, 1, 65536),
    blocking: bool('tx.blocking', o.blocking),
    packetLoss: bool('tx.packetLoss', o.packetLoss),
    qdiscBypass: bool('tx.qdiscBypass', o.qdiscBypass),
    txHasOffset: o.txHasOffset === undefined ? null : int('tx.txHasOffset', o.txHasOffset, 0, 0xffff),
  };
}

function normalizeFanout(f: FanoutOptions | undefined): NormalizedFanout | null {
  if (f === undefined) return null;
  if (f === null || typeof f !== 'object') throw new TypeError(`fanout must be an object { group, mode }, got ${describe(f)}`);
  const mode = choice('fanout.mode', f.mode, FANOUT_MODES);
  const uniqueId = bool('fanout.uniqueId', f.uniqueId);
  if (uniqueId && f.group !== undefined && f.group !== 0) throw new RangeError('fanout.uniqueId lets the kernel pick the group: leave fanout.group out');
  if (!uniqueId && f.group === undefined) throw new TypeError('fanout.group is required (or set fanout.uniqueId)');
  const group = f.group === undefined ? 0 : int('fanout.group', f.group, 0, 0xffff);
  let program: NormalizedFanout['program'] = null;
  if (mode === 'cbpf') {
    if (!Array.isArray(f.program) || f.program.length === 0 || f.program.length > 4096) {
      throw new TypeError("fanout mode 'cbpf' needs program: 1 to 4096 classic BPF instructions [code, jt, jf, k]");
    }
    program = f.program.map((ins, i) => {
      if (!Array.isArray(ins) || ins.length !== 4) throw new TypeError(`fanout.program[${i}] must be [code, jt, jf, k]`);
      return [
        int(`fanout.program[${i}].code`, ins[0], 0, 0xffff),
        int(`fanout.program[${i}].jt`, ins[1], 0, 255),
        int(`fanout.program[${i}].jf`, ins[2], 0, 255),
        int(`fanout.program[${i}].k`, ins[3], 0, 0xffffffff),
      ] as const;
    });
  } else if (mode === 'ebpf') {
    program = int('fanout.program (a BPF program fd)', f.program, 0, 0x7fffffff);
  } else if (f.program !== undefined) {
    throw new TypeError(`fanout.program is for modes 'cbpf' and 'ebpf', not '${mode}'`);
  }
  return { group, mode, rollover: bool('fanout.rollover', f.rollover), defrag: bool('fanout.defrag', f.defrag), uniqueId, program };
}
