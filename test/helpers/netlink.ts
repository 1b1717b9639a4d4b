/** A NETLINK_ROUTE socket in a test namespace, opened through the native core. */
import { readdirSync, readlinkSync } from 'node:fs';
import { AF_NETLINK, NETLINK_PKTINFO, NETLINK_ROUTE, SOCK_RAW, SOL_NETLINK, SOL_SOCKET, SO_PASSCRED } from '../../src/constants';
import { native } from '../../src/native';

/** Opens and binds a NETLINK_ROUTE socket in `netns`, with NETLINK_PKTINFO and SO_PASSCRED (as the emulated ring needs). */
export function openRoute(netns: string): number {
  const fd = native.krSocket({ domain: AF_NETLINK, type: SOCK_RAW, protocol: NETLINK_ROUTE, netns: `/run/netns/${netns}`, op: 'AF_NETLINK' });
  try {
    const sockaddrNl = new Uint8Array(12);
    new DataView(sockaddrNl.buffer).setUint16(0, AF_NETLINK, true);
    native.krBind(fd, sockaddrNl, 'AF_NETLINK');
    native.krSetsockopt({ fd: fd, level: SOL_NETLINK, name: NETLINK_PKTINFO, value: 1, op: 'NETLINK_PKTINFO' });
    native.krSetsockopt({ fd: fd, level: SOL_SOCKET, name: SO_PASSCRED, value: 1, op: 'SO_PASSCRED' });
    return fd;
  } catch (e) {
    native.krClose(fd, 'AF_NETLINK');
    throw e;
  }
}

/** Runs `fn` with a fresh route socket in `netns` and closes it afterwards, pass or fail. */
export async function withRoute<T>(netns: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = openRoute(netns);
  try {
    return await fn(fd);
  } finally {
    native.krClose(fd, 'AF_NETLINK');
  }
}

/** Sends one datagram. */
export function sendNl(fd: number, bytes: Uint8Array): number {
  return native.krSendmmsg({ fd: fd, buffer: bytes, lengths: Uint32Array.of(bytes.length), count: 1, op: 'sendmsg' });
}

/**
 * The sockets this process holds, as /proc/self/fd links (`socket:[inode]`). Compare sets taken
 * before and after: other tests' child pipes may open and close meanwhile.
 */
export function openSockets(): Set<string> {
  const link = (fd: string) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  };
  return new Set(
    readdirSync('/proc/self/fd')
      .map(link)
      .filter((l) => l.startsWith('socket:')),
  );
}
