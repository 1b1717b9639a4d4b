/**
 * Opening a {@link NetlinkSocket}: the options, their validation, the kernel-side set-up (socket,
 * bind, buffer, the probed newer options, multicast groups) and the choice of ring pair.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import {
  AF_NETLINK,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_NETFILTER,
  NETLINK_NO_ENOBUFS,
  NETLINK_PKTINFO,
  NETLINK_ROUTE,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_PASSCRED,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
} from '../constants';
import { errnoName, namespaceError, RingError, UnsupportedError } from '../errors';
import { encodeSockaddrNl, sockaddrNlPid } from '../layouts/netlink';
import { validateNlMmapGeometry } from '../layouts/nl-mmap';
import { RingGeometry } from '../layouts/types';
import { native } from '../native';
import { checkMappable } from '../ring/addressing';
import { setOptionalInt } from '../sockopt';
import { bool, choice, describe, int, netnsPath } from '../validate';
import { KernelRingCalls, KernelRings, nativeRingCalls } from './kernel-ring';
import { emulatedRings, kernelRings, RingPair } from './ring-pair';

const { ENOPROTOOPT, EPERM } = osConstants.errno;

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
  /**
   * NETLINK_EXT_ACK (Linux 4.12): errors carry the kernel's message and attribute offset (default
   * true). Probed: on an older kernel the socket opens without it ({@link NetlinkSocket.features}).
   */
  extAck?: boolean;
  /**
   * NETLINK_GET_STRICT_CHK (Linux 4.20): strict header checking and kernel-side dump filtering
   * (default false). Probed: on an older kernel the socket opens without it and the kernel returns
   * unfiltered dumps, which kring's readers filter in user space.
   */
  strict?: boolean;
  /** NETLINK_NO_ENOBUFS: do not report overruns (default false). */
  noEnobufs?: boolean;
  /**
   * A file path: every datagram the socket sends and receives is written there as pcapng
   * (LINKTYPE_NETLINK, direction in each record), which Wireshark's and tshark's netlink
   * dissectors read (a trace of kring's own rtnetlink or NFQUEUE conversation, no nlmon needed).
   */
  trace?: string;
}

/**
 * Which of the socket options newer than Linux 3.10 this kernel has (each probed at open: an
 * ENOPROTOOPT answer means absent, and the socket opens without it).
 */
export interface NetlinkFeatures {
  /** NETLINK_EXT_ACK (4.12): error replies can carry the kernel's message and attribute offset. */
  readonly extAck: boolean;
  /** NETLINK_GET_STRICT_CHK (4.20): strict checking, kernel-side dump filtering. */
  readonly strictCheck: boolean;
}

const PROTOCOLS = { route: NETLINK_ROUTE, netfilter: NETLINK_NETFILTER } as const;
const DEFAULT_RX: RingGeometry = { blockSize: 32768, blockCount: 32, frameSize: 32768, frameCount: 32 };
const DEFAULT_TX: RingGeometry = { blockSize: 4096, blockCount: 16, frameSize: 4096, frameCount: 16 };
// The kernel ring's syscalls of sockets opened from now on (see setDefaultRingCalls).
let defaultRingCalls: (fd: number) => KernelRingCalls = nativeRingCalls;

/** What an opened socket is made of (openSocketParts makes them, NetlinkSocket._fromParts takes them). */
export interface SocketParts {
  fd: number;
  /** The trace file's path, checked. */
  trace: string | null;
  protocol: number;
  portId: number;
  rings: RingPair;
  mode: 'kernel' | 'emulated';
  frameSize: number;
  features: NetlinkFeatures;
  strict: boolean;
}

/**
 * Validates the options, then opens, binds, sets the options and the ring up: what a
 * {@link NetlinkSocket} is made of. The kernel ring's syscalls are `ringCalls` (`kring/testing`
 * runs kernel-mode sockets on the simulator through them); everything else is real. On failure
 * nothing is left open.
 * @throws TypeError / RangeError for invalid options, before any native call
 * @throws UnsupportedError for ring: 'kernel' where the kernel refuses its ring
 * @throws RingError for kernel failures
 */
export function openSocketParts(o: NetlinkSocketOptions, ringCalls: (fd: number) => KernelRingCalls = defaultRingCalls): SocketParts {
  if (o === null || typeof o !== 'object') throw new TypeError(`NetlinkSocket.open() takes an options object, got ${describe(o)}`);
  const protocol =
    typeof o.protocol === 'number'
      ? o.protocol
      : typeof o.protocol === 'string' && Object.hasOwn(PROTOCOLS, o.protocol)
        ? PROTOCOLS[o.protocol as keyof typeof PROTOCOLS]
        : -1;
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 31) {
    throw new RangeError(`protocol must be 'route', 'netfilter' or a netlink protocol number 0..31, got ${describe(o.protocol)}`);
  }
  const ring = choice('ring', o.ring ?? 'auto', ['auto', 'kernel', 'emulated'] as const);
  const groups = o.groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => !Number.isInteger(g) || g < 1 || g > 1023)) {
    throw new RangeError('groups must be an array of multicast group numbers 1..1023');
  }
  // The kernel takes an int and doubles it, capped at INT_MAX: larger values cannot mean anything.
  const rcvbuf = o.rcvbuf === undefined ? 4 << 20 : int('rcvbuf', o.rcvbuf, 1024, 0x7fffffff);
  const extAck = bool('extAck', o.extAck, true);
  const strict = bool('strict', o.strict);
  const noEnobufs = bool('noEnobufs', o.noEnobufs);
  if (o.trace !== undefined && (typeof o.trace !== 'string' || o.trace.length === 0))
    throw new TypeError(`trace must be a file path, got ${describe(o.trace)}`);
  const rx = o.rx ?? DEFAULT_RX;
  const tx = o.tx ?? DEFAULT_TX;
  const pageSize = native.krPageSize();
  validateNlMmapGeometry(rx, pageSize);
  validateNlMmapGeometry(tx, pageSize);
  checkMappable(rx.blockSize * rx.blockCount + tx.blockSize * tx.blockCount, 'the RX and TX rings');
  const path = netnsPath(o.netns);
  let fd: number;
  try {
    fd = native.krSocket({ domain: AF_NETLINK, type: SOCK_RAW, protocol: protocol, netns: path, op: 'AF_NETLINK' });
  } catch (e) {
    throw namespaceError(e, path);
  }
  let kernel: KernelRings | null = null;
  try {
    const sa = encodeSockaddrNl();
    native.krBind(fd, sa, 'AF_NETLINK');
    native.krGetsockname(fd, sa, 'AF_NETLINK');
    const portId = sockaddrNlPid(sa);
    const calls = ringCalls(fd);
    if (ring !== 'emulated') {
      const k = KernelRings.setUp(calls, rx, tx);
      if (k instanceof KernelRings) kernel = k;
      else if (ring === 'kernel') throw refusedRing(k.refused);
    }
    try {
      native.krSetsockopt({ fd: fd, level: SOL_SOCKET, name: SO_RCVBUFFORCE, value: rcvbuf, op: 'SO_RCVBUFFORCE' });
    } catch (e) {
      if (!(e instanceof RingError) || e.code !== 'EPERM') throw e;
      native.krSetsockopt({ fd: fd, level: SOL_SOCKET, name: SO_RCVBUF, value: rcvbuf, op: 'SO_RCVBUF' });
    }
    // Options newer than 3.10 are probed by setting them to the value wanted (0 too, so that the
    // probe says what the kernel has): ENOPROTOOPT means absent, and the socket opens without.
    const features: NetlinkFeatures = {
      extAck: setOptional(calls, fd, SOL_NETLINK, NETLINK_EXT_ACK, extAck ? 1 : 0, 'NETLINK_EXT_ACK'),
      strictCheck: setOptional(calls, fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, strict ? 1 : 0, 'NETLINK_GET_STRICT_CHK'),
    };
    if (noEnobufs) native.krSetsockopt({ fd: fd, level: SOL_NETLINK, name: NETLINK_NO_ENOBUFS, value: 1, op: 'NETLINK_NO_ENOBUFS' });
    if (!kernel) {
      // The emulation fills nm_group and the credentials from these (the kernel ring's frame headers carry them).
      native.krSetsockopt({ fd: fd, level: SOL_NETLINK, name: NETLINK_PKTINFO, value: 1, op: 'NETLINK_PKTINFO' });
      native.krSetsockopt({ fd: fd, level: SOL_SOCKET, name: SO_PASSCRED, value: 1, op: 'SO_PASSCRED' });
    }
    // Joined after the kernel ring is set up (its setup purges the receive queue) and before the
    // emulated rings exist, so that nothing past this point can fail.
    for (const g of groups) native.krSetsockopt({ fd: fd, level: SOL_NETLINK, name: NETLINK_ADD_MEMBERSHIP, value: g, op: 'NETLINK_ADD_MEMBERSHIP' });
    const rings = kernel ? kernelRings(kernel) : emulatedRings(fd, rx, tx);
    return {
      fd,
      trace: o.trace ?? null,
      protocol,
      portId,
      rings,
      mode: kernel ? 'kernel' : 'emulated',
      frameSize: rx.frameSize,
      features,
      strict: strict && features.strictCheck,
    };
  } catch (e) {
    kernel?.close();
    native.krClose(fd, 'AF_NETLINK');
    throw e;
  }
}

/**
 * Sets a socket option that an older kernel may not have (a simulated kernel answers first). True
 * when set; false when the kernel answered ENOPROTOOPT (the option does not exist there).
 * @throws RingError for any other refusal
 */
function setOptional(calls: KernelRingCalls, fd: number, level: number, name: number, value: number, op: string): boolean {
  const simulated = calls.option?.(level, name, value);
  if (simulated === undefined) return setOptionalInt(fd, level, name, value, op);
  if (simulated === -ENOPROTOOPT) return false;
  if (simulated < 0) throw new RingError(-simulated, 'setsockopt', op, errnoName(-simulated));
  return true;
}

/**
 * Replaces the kernel ring's syscalls of every NetlinkSocket opened from now on (null restores
 * the native ones): how `kring/testing` runs whole programs (readers, the mirror, the CLI) on a
 * simulated older kernel.
 * @internal
 */
export function setDefaultRingCalls(calls: ((fd: number) => KernelRingCalls) | null): void {
  defaultRingCalls = calls ?? nativeRingCalls;
}

function refusedRing(errno: number): UnsupportedError {
  return errno === EPERM
    ? new UnsupportedError(
        'memory-mapped netlink (NETLINK_RX_RING)',
        "this kernel has the ring but refused it with EPERM: setting it up needs CAP_NET_ADMIN; use ring: 'emulated' or 'auto'",
      )
    : new UnsupportedError(
        'memory-mapped netlink (NETLINK_RX_RING)',
        `this kernel answered ${errnoName(errno)}: the kernel ring exists only in Linux 3.10–4.5 (removed in 4.6 and late 4.4.y); use ring: 'emulated' or 'auto'`,
      );
}
