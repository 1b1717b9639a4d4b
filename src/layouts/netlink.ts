/**
 * The netlink uapi structs (include/uapi/linux/netlink.h): `struct nlmsghdr`, `struct nlattr`,
 * `struct nlmsgerr` and `struct sockaddr_nl`, as named byte offsets, with the encoders a socket
 * needs. Message and attribute walking is the codec's (`netlink/message`), on these offsets.
 * @packageDocumentation
 */
import { AF_NETLINK } from '../constants';

/** `struct nlmsghdr` (16 bytes, host order). */
export const NLMSGHDR = { nlmsg_len: 0, nlmsg_type: 4, nlmsg_flags: 6, nlmsg_seq: 8, nlmsg_pid: 12 } as const;

/** `struct nlattr` (4 bytes): length (header included), then the type with its two flag bits. */
export const NLATTR = { nla_len: 0, nla_type: 2 } as const;

/** `struct nlmsgerr`: the error (0 for an ACK, else -errno), then the request's nlmsghdr. */
export const NLMSGERR = { error: 0, msg: 4 } as const;

/** `struct sockaddr_nl` (12 bytes). */
export const SOCKADDR_NL = { nl_family: 0, nl_pad: 2, nl_pid: 4, nl_groups: 8 } as const;
/** `sizeof(struct sockaddr_nl)` */
export const SOCKADDR_NL_SIZE = 12;

/** A `struct sockaddr_nl` for bind(): port id 0 (the kernel assigns one), no groups. */
export function encodeSockaddrNl(pid = 0, groups = 0): Uint8Array {
  const b = new Uint8Array(SOCKADDR_NL_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(SOCKADDR_NL.nl_family, AF_NETLINK, true);
  dv.setUint32(SOCKADDR_NL.nl_pid, pid, true);
  dv.setUint32(SOCKADDR_NL.nl_groups, groups, true);
  return b;
}

/** `nl_pid` of a `struct sockaddr_nl` (as getsockname wrote it). */
export function sockaddrNlPid(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, SOCKADDR_NL_SIZE).getUint32(SOCKADDR_NL.nl_pid, true);
}
