import { constants as osConstants } from 'node:os';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';

/**
 * A kernel call failed. Shaped like Node's `SystemError` (`code`, `errno`, `syscall`), plus `op`:
 * the socket option, address family or request the call was made for (`'PACKET_RX_RING'`,
 * `'AF_PACKET'`, `'SIOCGIFINDEX'`).
 *
 * The class is handed to the native core once, at load; every native failure is one of these.
 * Message form: `setsockopt(PACKET_RX_RING): EPERM, Operation not permitted`, followed by a hint
 * when the fix is known (a missing capability).
 */
export class RingError extends Error {
  /** Error name as in `errno.h`, for example `'EPERM'`. */
  readonly code: string;
  /** The positive `errno` value. */
  readonly errno: number;
  /** The system call that failed, for example `'setsockopt'`. */
  readonly syscall: string;
  /** What the call was for, for example `'PACKET_RX_RING'`. */
  readonly op: string;
  /** How to fix it, when kring knows (privilege problems); otherwise undefined. */
  readonly hint: string | undefined;

  /**
   * @param errno positive errno value
   * @param syscall failing system call
   * @param op the option, family or request the call was made for
   * @param detail the C library's text for errno (`strerror`)
   */
  constructor(errno: number, syscall: string, op: string, detail: string) {
    const code = errnoName(errno);
    const hint = privilegeHint(errno, syscall, op);
    super(`${syscall}(${op}): ${code}, ${detail}${hint ? ` (${hint})` : ''}`);
    this.name = 'RingError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.op = op;
    this.hint = hint;
  }
}

/**
 * A kernel feature this kernel does not have (the probe answered ENOPROTOOPT or EINVAL), or a
 * platform kring does not support. Names the feature and where it exists.
 */
export class UnsupportedError extends Error {
  /** Always `'ERR_KRING_UNSUPPORTED'`. */
  readonly code = 'ERR_KRING_UNSUPPORTED';
  /** The feature, for example `'TPACKET_V1 on 32-bit'`. */
  readonly feature: string;
  constructor(feature: string, where: string) {
    super(`${feature} is not supported here: ${where}`);
    this.name = 'UnsupportedError';
    this.feature = feature;
  }
}

/**
 * A zero-copy view was used after its lease ended: the batch was released (by kring after the
 * subscriber's callback, or by the caller) or the socket was closed. The frame's memory may already
 * hold another packet, so kring refuses instead of returning stale bytes.
 */
export class LeaseError extends Error {
  /** Always `'ERR_KRING_LEASE_ENDED'`. */
  readonly code = 'ERR_KRING_LEASE_ENDED';
  constructor(what: string) {
    super(`${what} was used after its batch was released or its socket closed; copy() what you keep`);
    this.name = 'LeaseError';
  }
}

/** The C library's text for an errno ('Network is down'), as Node's uvException gives it. @internal */
export function errnoText(errno: number): string {
  try {
    return getSystemErrorMap().get(-errno)?.[1] ?? `error ${errno}`;
  } catch {
    return `error ${errno}`;
  }
}

/** errno's name as in `errno.h` ('EPERM'), or `E<n>` for a number Node does not know. @internal */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

// Which capability each kind of call needs. AF_PACKET sockets need CAP_NET_RAW; entering another
// network namespace needs CAP_SYS_ADMIN.
function privilegeHint(errno: number, syscall: string, op: string): string | undefined {
  if (errno !== osConstants.errno.EPERM && errno !== osConstants.errno.EACCES) return undefined;
  if (syscall === 'setns' || syscall === 'open') {
    return 'entering a network namespace needs CAP_SYS_ADMIN: run as root';
  }
  if (op === 'AF_PACKET' || op.startsWith('PACKET_')) {
    return 'AF_PACKET sockets need CAP_NET_RAW: run as root, or grant it with `setcap cap_net_raw+ep "$(command -v node)"`';
  }
  // Elsewhere EPERM need not be about privileges (epoll_ctl answers EPERM for an fd it cannot
  // watch), so no hint rather than a wrong one.
  return undefined;
}

/**
 * A failure to enter a network namespace while making a socket there (opening its file, or setns)
 * as an error that names the namespace: `open(/run/netns/blue): ENOENT, no such network
 * namespace`. Anything else passes through unchanged.
 * @internal
 */
export function namespaceError(e: unknown, netnsPath: string | null): unknown {
  if (netnsPath === null || !(e instanceof RingError) || (e.syscall !== 'open' && e.syscall !== 'setns')) return e;
  const what = e.errno === osConstants.errno.ENOENT ? 'no such network namespace' : errnoText(e.errno);
  return new RingError(e.errno, e.syscall, netnsPath, what);
}

/**
 * SIOCGIFINDEX's ENODEV as an error that names the interface (and the namespace looked in):
 * `ioctl(SIOCGIFINDEX): ENODEV, no interface named eth9 in network namespace /run/netns/blue`.
 * @internal
 */
export function interfaceError(e: unknown, ifname: string, netnsPath: string | null): unknown {
  if (!(e instanceof RingError) || e.errno !== osConstants.errno.ENODEV) return e;
  return new RingError(e.errno, e.syscall, e.op, `no interface named ${ifname}${netnsPath ? ` in network namespace ${netnsPath}` : ''}`);
}
