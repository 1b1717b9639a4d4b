/**
 * What a netlink datagram's receive metadata says (krRecvmmsgInto copies the sender's address and
 * the control messages raw): the multicast group it came on (NETLINK_PKTINFO's `struct
 * nl_pktinfo`), the sender's credentials (SCM_CREDENTIALS' `struct ucred`, with SO_PASSCRED) and
 * port id (`struct sockaddr_nl`). The emulated ring fills its frame headers from it.
 * @packageDocumentation
 */
import { NETLINK_PKTINFO, SCM_CREDENTIALS, SOL_NETLINK, SOL_SOCKET } from '../constants';
import { forEachCmsg } from '../layouts/cmsg';
import { SOCKADDR_NL } from '../layouts/netlink';
import { RECV_META, RECV_META_WORDS } from '../native';

/** One datagram's metadata, decoded. */
export interface NetlinkRecvInfo {
  /** Bytes received: the datagram's whole length (MSG_TRUNC). */
  len: number;
  /** msg_flags (MSG_TRUNC when the slot and spill were too small). */
  flags: number;
  group: number;
  pid: number;
  uid: number;
  gid: number;
  /** The sender's port id (0: the kernel). */
  portId: number;
}

/** Decodes message `i`'s metadata from `meta` (a DataView over krRecvmmsgInto's meta) into `out`. */
export function netlinkRecvInfo(meta: DataView, i: number, out: NetlinkRecvInfo): NetlinkRecvInfo {
  const base = i * RECV_META_WORDS * 4;
  out.len = meta.getUint32(base + RECV_META.len * 4, true);
  out.flags = meta.getUint32(base + RECV_META.flags * 4, true);
  out.group = out.pid = out.uid = out.gid = out.portId = 0;
  const name = base + RECV_META.name * 4;
  if (meta.getUint32(base + RECV_META.nameLen * 4, true) >= SOCKADDR_NL.nl_pid + 4) out.portId = meta.getUint32(name + SOCKADDR_NL.nl_pid, true);
  forEachCmsg(meta, base + RECV_META.control * 4, meta.getUint32(base + RECV_META.controlLen * 4, true), readCmsg, out);
  return out;
}

// The control messages' visitor: module-level, not a closure per datagram.
function readCmsg(meta: DataView, level: number, type: number, data: number, dataLen: number, out: NetlinkRecvInfo): void {
  if (level === SOL_NETLINK && type === NETLINK_PKTINFO && dataLen >= 4)
    out.group = meta.getUint32(data, true); // nl_pktinfo.group
  else if (level === SOL_SOCKET && type === SCM_CREDENTIALS && dataLen >= 12) {
    out.pid = meta.getInt32(data, true); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
    out.uid = meta.getUint32(data + 4, true);
    out.gid = meta.getUint32(data + 8, true);
  }
}

/** A fresh {@link NetlinkRecvInfo} to decode into. */
export function recvInfo(): NetlinkRecvInfo {
  return { len: 0, flags: 0, group: 0, pid: 0, uid: 0, gid: 0, portId: 0 };
}
