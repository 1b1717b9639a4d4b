/** A NETLINK_ROUTE socket in a test namespace, opened through the native core. */
import { readdirSync, readlinkSync } from 'node:fs';
import { AF_NETLINK, NETLINK_PKTINFO, NETLINK_ROUTE, SOCK_RAW, SOL_NETLINK, SOL_SOCKET, SO_PASSCRED } from '../../src/constants';
import { native } from '../../src/native';

/** Opens and binds a NETLINK_ROUTE socket in `netns`, with NETLINK_PKTINFO and SO_PASSCRED (as the emulated ring needs). */
export function openRoute(netns: string): number {
  const fd = native.krSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, `/run/netns/${netns}`, 'AF_NETLINK');
  try {
    const sockaddrNl = new Uint8Array(12);
    new DataView(sockaddrNl.buffer).setUint16(0, AF_NETLINK, true);
    native.krBind(fd, sockaddrNl, 'AF_NETLINK');
    native.krSetsockoptInt(fd, SOL_NETLINK, NETLINK_PKTINFO, 1, 'NETLINK_PKTINFO');
    native.krSetsockoptInt(fd, SOL_SOCKET, SO_PASSCRED, 1, 'SO_PASSCRED');
    return fd;
  } catch (e) {
    native.krClose(fd);
    throw e;
  }
}

/** Runs `fn` with a fresh route socket in `netns` and closes it afterwards, pass or fail. */
export async function withRoute<T>(netns: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = openRoute(netns);
  try {
    return await fn(fd);
  } finally {
    native.krClose(fd);
  }
}

/** Sends one datagram. */
export function sendNl(fd: number, bytes: Uint8Array): number {
  return native.krSendmmsg(fd, bytes, Uint32Array.of(bytes.length), 1, 'sendmsg');
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
