/**
 * {@link PacketSocketOptions} and their validation. Everything here runs before any native call:
 * misuse throws TypeError (wrong type) or RangeError (out of range, or a ring geometry the kernel
 * would refuse, with the rule named).
 * @packageDocumentation
 */
import { constants as bufferConstants } from 'node:buffer';
import { ETH_P_ALL, TPACKET_V1, TPACKET_V2, TPACKET_V3 } from '../constants';
import type { RingGeometry } from '../layouts/types';
import { bool, describe, int, netnsPath } from '../validate';

/** TPACKET version names. */
export type TpacketVersionName = 'v1' | 'v2' | 'v3';

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
  /** Exact ring geometry (validated with the kernel's rules). Overrides the sizing hints. */
  geometry?: RingGeometry;
  /** Ring size in bytes (default 4 MiB). */
  bufferBytes?: number;
  /** With `milliseconds`: size the ring to hold this many packets per second … */
  lineRatePps?: number;
  /** … for this many milliseconds. */
  milliseconds?: number;
  /** Put the interface in promiscuous mode for this socket's life (PACKET_MR_PROMISC). */
  promiscuous?: boolean;
  /** V3 block retire timeout in ms (`tp_retire_blk_tov`); default 4. 0 lets the kernel choose (up to 8 ms per MiB of block). */
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
}

/** Options after validation, with defaults filled in. @internal */
export interface NormalizedPacketOptions {
  interface: string;
  netnsPath: string | null;
  version: number;
  mode: 'raw' | 'dgram';
  protocol: number;
  snaplen: number | null;
  geometry: RingGeometry | null;
  bufferBytes: number | null;
  lineRatePps: number | null;
  milliseconds: number | null;
  promiscuous: boolean;
  blockTimeoutMs: number;
  copyThreshold: boolean;
  ignoreOutgoing: boolean;
  rxhash: boolean;
}

/** The largest snaplen tcpdump accepts (MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;
/** Default ring size. */
export const DEFAULT_BUFFER_BYTES = 4 << 20;
/** Default V3 block timeout: low latency at almost no cost (libpcap's 1 s leaves frames waiting). */
export const DEFAULT_BLOCK_TIMEOUT_MS = 4;

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
  return {
    interface: o.interface,
    netnsPath: netnsPath(o.netns),
    version,
    mode,
    protocol: o.protocol === undefined ? ETH_P_ALL : int('protocol', o.protocol, 0, 0xffff),
    snaplen: o.snaplen === undefined ? null : int('snaplen', o.snaplen, 1, MAX_SNAPLEN),
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
  };
}
