// A netlink datagram's receive metadata (what krRecvmmsgInto copies raw), decoded in TypeScript:
// struct sockaddr_nl, then struct cmsghdr + nl_pktinfo and + ucred, laid out as the kernel writes
// them on LP64 (CMSG_ALIGN 8, a 16-byte cmsghdr).
import { RECV_META, RECV_META_WORDS } from '../../src/native';
import { netlinkRecvInfo, recvInfo } from '../../src/netlink/recv-info';

function meta(i: number, fill: (dv: DataView, base: number) => void): DataView {
  const m = new Uint32Array((i + 1) * RECV_META_WORDS);
  const dv = new DataView(m.buffer);
  fill(dv, i * RECV_META_WORDS * 4);
  return dv;
}

describe('netlinkRecvInfo', () => {
  it('reads the length, flags, sender port id, NETLINK_PKTINFO group and SCM_CREDENTIALS', () => {
    const dv = meta(1, (dv, base) => {
      dv.setUint32(base + RECV_META.len * 4, 1234, true);
      dv.setUint32(base + RECV_META.flags * 4, 0x20, true); // MSG_TRUNC
      dv.setUint32(base + RECV_META.nameLen * 4, 12, true);
      dv.setUint16(base + RECV_META.name * 4, 16, true); // AF_NETLINK
      dv.setUint32(base + RECV_META.name * 4 + 4, 4242, true); // nl_pid
      const c = base + RECV_META.control * 4;
      // cmsghdr { len 20, SOL_NETLINK 270, NETLINK_PKTINFO 3 } + group, aligned to 24
      dv.setUint32(c, 20, true);
      dv.setInt32(c + 8, 270, true);
      dv.setInt32(c + 12, 3, true);
      dv.setUint32(c + 16, 7, true);
      // cmsghdr { len 28, SOL_SOCKET 1, SCM_CREDENTIALS 2 } + ucred
      dv.setUint32(c + 24, 28, true);
      dv.setInt32(c + 32, 1, true);
      dv.setInt32(c + 36, 2, true);
      dv.setInt32(c + 40, 99, true);
      dv.setUint32(c + 44, 1000, true);
      dv.setUint32(c + 48, 4294967295, true);
      dv.setUint32(base + RECV_META.controlLen * 4, 56, true);
    });
    expect(netlinkRecvInfo(dv, 1, recvInfo())).toEqual({ len: 1234, flags: 0x20, group: 7, pid: 99, uid: 1000, gid: 4294967295, portId: 4242 });
  });

  it('a truncated or malformed control message stops the walk; what came before it stays', () => {
    const dv = meta(0, (dv, base) => {
      const c = base + RECV_META.control * 4;
      dv.setUint32(c, 20, true);
      dv.setInt32(c + 8, 270, true);
      dv.setInt32(c + 12, 3, true);
      dv.setUint32(c + 16, 5, true);
      dv.setUint32(c + 24, 4000, true); // cmsg_len past the control area
      dv.setUint32(base + RECV_META.controlLen * 4, 56, true);
    });
    expect(netlinkRecvInfo(dv, 0, recvInfo())).toMatchObject({ group: 5, pid: 0, uid: 0, gid: 0, portId: 0 });
  });
});
