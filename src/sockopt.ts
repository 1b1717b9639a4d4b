/**
 * Socket options as kring sets and reads them beyond a plain setsockopt. Options newer than
 * kring's oldest kernel (3.10) are probed, not assumed: setting one that the kernel does not have
 * answers ENOPROTOOPT, which means absent, and the caller degrades (filters in user space or with a
 * classic BPF program, reports no extended-ACK text) rather than failing to open.
 * @internal
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { SOL_SOCKET, SO_ERROR } from './constants';
import { RingError } from './errors';
import { native } from './native';

const { ENOPROTOOPT } = osConstants.errno;

let absent: ReadonlyArray<readonly [number, number]> = [];

/**
 * Makes these (level, name) options answer ENOPROTOOPT in every probe from now on, as an older
 * kernel would (null: none): how `kring/testing` plays a kernel without them.
 */
export function simulateAbsentOptions(options: ReadonlyArray<readonly [number, number]> | null): void {
  absent = options ?? [];
}

let refused: ReadonlySet<string> = new Set();

/**
 * Ring requests an older kernel refuses with EINVAL although it has the option, by name
 * (`'TPACKET_V3 TX ring'`: Linux 4.11), from now on (null: none): how `kring/testing` plays a
 * kernel without them.
 */
export function simulateRefusedRings(names: Iterable<string> | null): void {
  refused = new Set(names ?? []);
}

/** Whether `kring/testing` plays a kernel that refuses this ring request (see {@link simulateRefusedRings}). */
export function ringRefused(name: string): boolean {
  return refused.has(name);
}

/**
 * setsockopt of an int option that an older kernel may lack. True when set, false when the kernel
 * answered ENOPROTOOPT.
 * @throws RingError for any other refusal
 */
export function setOptionalInt(fd: number, level: number, name: number, value: number, op: string): boolean {
  if (absent.some(([l, n]) => l === level && n === name)) return false;
  try {
    native.krSetsockopt({ fd: fd, level: level, name: name, value: value, op: op });
    return true;
  } catch (e) {
    if (e instanceof RingError && e.errno === ENOPROTOOPT) return false;
    throw e;
  }
}

/** getsockopt(SO_ERROR): the pending socket error (a positive errno), read and cleared; 0 when none. */
export function takeSocketError(fd: number): number {
  const b = new Uint8Array(4);
  native.krGetsockopt({ fd: fd, level: SOL_SOCKET, name: SO_ERROR, out: b, op: 'SO_ERROR' });
  return new DataView(b.buffer).getInt32(0, true); // an int
}
