/**
 * Kernel uapi constants, named as in the kernel headers. This is the only place kring spells a
 * kernel number; everything else imports from here.
 *
 * Sources (the uapi headers at v6.18): `include/uapi/linux/if_packet.h`, `include/uapi/linux/if_ether.h`,
 * `include/linux/socket.h`, `include/uapi/asm-generic/socket.h`, `include/uapi/linux/filter.h`.
 * @packageDocumentation
 */

// --- sockets -----------------------------------------------------------------------------------
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_DGRAM = 2;
export const SOL_SOCKET = 1;
/** A control message of SOL_SOCKET: `struct ucred` (pid, uid, gid), with SO_PASSCRED. */
export const SCM_CREDENTIALS = 2;
export const SOL_PACKET = 263;
export const SO_RCVBUF = 8;
export const SO_ATTACH_FILTER = 26;
export const MSG_TRUNC = 0x20;
/** Do not block (a TX-ring kick that returns once the kernel took what it could). */
export const MSG_DONTWAIT = 0x40;

// --- if_ether.h --------------------------------------------------------------------------------
export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_RARP = 0x8035;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
/** A pre-standard 802.1Q-in-Q tag that libpcap's `vlan` also matches. */
export const ETH_P_QINQ1 = 0x9100;
/** The tag types (TPIDs) a VLAN tag comes with: what `vlan` filters and decoders look through. */
export const VLAN_TPIDS: readonly number[] = [ETH_P_8021Q, ETH_P_8021AD, ETH_P_QINQ1];
export const ETH_HLEN = 14;

// --- if_packet.h: socket options (level SOL_PACKET) --------------------------------------------
export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_DROP_MEMBERSHIP = 2;
export const PACKET_RX_RING = 5;
export const PACKET_STATISTICS = 6;
export const PACKET_COPY_THRESH = 7;
export const PACKET_VERSION = 10;
export const PACKET_HDRLEN = 11;
export const PACKET_RESERVE = 12;
export const PACKET_TX_RING = 13;
export const PACKET_LOSS = 14;
export const PACKET_TIMESTAMP = 17;
export const PACKET_FANOUT = 18;
/** TX frames carry their data offset in `tp_mac`/`tp_net`. */
export const PACKET_TX_HAS_OFF = 19;
/** Linux 3.14: send straight to the driver, past the qdisc layer (probed). */
export const PACKET_QDISC_BYPASS = 20;
/** Linux 4.5: the program of a `PACKET_FANOUT_CBPF`/`PACKET_FANOUT_EBPF` group. */
export const PACKET_FANOUT_DATA = 22;
export const PACKET_IGNORE_OUTGOING = 23;

/** `PACKET_FANOUT` modes (the low byte of the option's upper 16 bits). */
export const PACKET_FANOUT_HASH = 0;
export const PACKET_FANOUT_LB = 1;
export const PACKET_FANOUT_CPU = 2;
/** Linux 3.10. */
export const PACKET_FANOUT_ROLLOVER = 3;
/** Linux 3.14. */
export const PACKET_FANOUT_RND = 4;
/** Linux 3.14. */
export const PACKET_FANOUT_QM = 5;
/** Linux 4.5. */
export const PACKET_FANOUT_CBPF = 6;
/** Linux 4.5. */
export const PACKET_FANOUT_EBPF = 7;
/** `PACKET_FANOUT` flags (ORed with the mode). */
export const PACKET_FANOUT_FLAG_ROLLOVER = 0x1000;
/** Linux 4.11: the kernel picks an unused group id. */
export const PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;
export const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

/** `packet_mreq.mr_type` */
export const PACKET_MR_PROMISC = 1;

/** `sockaddr_ll.sll_pkttype` */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;
export const PACKET_LOOPBACK = 5;
/** nlmon's types of a netlink message (netlink_deliver_tap): sent by a user socket, or by the kernel. */
export const PACKET_USER = 6;
export const PACKET_KERNEL = 7;

/** `enum tpacket_versions` */
export const TPACKET_V1 = 0;
export const TPACKET_V2 = 1;
export const TPACKET_V3 = 2;

// --- if_packet.h: RX status bits (tp_status / block_status) ------------------------------------
export const TP_STATUS_KERNEL = 0;
export const TP_STATUS_USER = 1 << 0;
export const TP_STATUS_COPY = 1 << 1;
export const TP_STATUS_LOSING = 1 << 2;
export const TP_STATUS_CSUMNOTREADY = 1 << 3;
export const TP_STATUS_VLAN_VALID = 1 << 4;
export const TP_STATUS_BLK_TMO = 1 << 5;
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
export const TP_STATUS_CSUM_VALID = 1 << 7;
export const TP_STATUS_GSO_TCP = 1 << 8;
// Timestamp source bits, shared by RX and TX.
export const TP_STATUS_TS_SOFTWARE = 1 << 29;
export const TP_STATUS_TS_SYS_HARDWARE = 1 << 30;
export const TP_STATUS_TS_RAW_HARDWARE = 1 << 31;

// --- if_packet.h: TX status values -------------------------------------------------------------
export const TP_STATUS_AVAILABLE = 0;
export const TP_STATUS_SEND_REQUEST = 1 << 0;
export const TP_STATUS_SENDING = 1 << 1;
export const TP_STATUS_WRONG_FORMAT = 1 << 2;

// --- if_packet.h: sizes ------------------------------------------------------------------------
/** Frames and headers in a ring are aligned to this many bytes. */
export const TPACKET_ALIGNMENT = 16;
/** `TPACKET_ALIGN(x)`: round up to {@link TPACKET_ALIGNMENT}. */
export function TPACKET_ALIGN(x: number): number {
  return (x + TPACKET_ALIGNMENT - 1) & ~(TPACKET_ALIGNMENT - 1);
}
/**
 * `V3_ALIGNMENT` (net/packet/internal.h at v6.18): TPACKET_V3 frames inside a block are 8-byte aligned
 * (`tp_next_offset` is rounded with `TOTAL_PKT_LEN_INCL_ALIGN`), not TPACKET_ALIGNMENT.
 */
export const V3_ALIGNMENT = 8;
/** `sizeof(struct sockaddr_ll)` */
export const SOCKADDR_LL_SIZE = 20;
/** `sizeof(struct tpacket_hdr)` on 64-bit: `tp_status` is an `unsigned long`. */
export const TPACKET_HDR_SIZE = 32;
/** `sizeof(struct tpacket2_hdr)` */
export const TPACKET2_HDR_SIZE = 32;
/** `sizeof(struct tpacket3_hdr)` */
export const TPACKET3_HDR_SIZE = 48;
/** `TPACKET_HDRLEN`: header plus the sockaddr_ll that follows it. */
export const TPACKET_HDRLEN = TPACKET_ALIGN(TPACKET_HDR_SIZE) + SOCKADDR_LL_SIZE;
/** `TPACKET2_HDRLEN` */
export const TPACKET2_HDRLEN = TPACKET_ALIGN(TPACKET2_HDR_SIZE) + SOCKADDR_LL_SIZE;
/** `TPACKET3_HDRLEN` */
export const TPACKET3_HDRLEN = TPACKET_ALIGN(TPACKET3_HDR_SIZE) + SOCKADDR_LL_SIZE;
/** `sizeof(struct tpacket_block_desc)` */
export const TPACKET_BLOCK_DESC_SIZE = 48;
/** `BLK_HDR_LEN` (net/packet/af_packet.c at v6.18): the block descriptor rounded up to 8 bytes. */
export const BLK_HDR_LEN = (TPACKET_BLOCK_DESC_SIZE + 7) & ~7;
/** `BLK_PLUS_PRIV(sz)` (net/packet/af_packet.c at v6.18): where the first frame of a V3 block may start. */
export function BLK_PLUS_PRIV(sizeofPriv: number): number {
  return BLK_HDR_LEN + ((sizeofPriv + 7) & ~7);
}
/** `TPACKET_V3`'s `tp_feature_req_word` bit asking for `tp_rxhash`. */
export const TP_FT_REQ_FILL_RXHASH = 1;
/** `sizeof(struct tpacket_req)` */
export const TPACKET_REQ_SIZE = 16;
/** `sizeof(struct tpacket_req3)` */
export const TPACKET_REQ3_SIZE = 28;
/** `sizeof(struct tpacket_stats_v3)`; `struct tpacket_stats` is its first 8 bytes. */
export const TPACKET_STATS_V3_SIZE = 12;
/** `sizeof(struct packet_mreq)` */
export const PACKET_MREQ_SIZE = 16;

// --- filter.h: classic BPF ---------------------------------------------------------------------
// Classes, sizes, modes, operations and sources of classic BPF (include/uapi/linux/bpf_common.h,
// filter.h). An instruction's code is class | size | mode, class | op | source, …
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** `BPF_RET` operand: the accumulator. */
export const BPF_A = 0x10;
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;
/** The scratch memory of a classic BPF program: 16 words. */
export const BPF_MEMWORDS = 16;
/** The longest classic BPF program the kernel takes. */
export const BPF_MAXINSNS = 4096;
/** Ancillary loads: `SKF_AD_OFF + SKF_AD_*` read skb fields, not packet bytes (include/uapi/linux/filter.h). */
export const SKF_AD_OFF = -0x1000;
export const SKF_AD_PROTOCOL = 0;
export const SKF_AD_PKTTYPE = 4;
export const SKF_AD_IFINDEX = 8;
export const SKF_AD_VLAN_TAG = 44;
export const SKF_AD_VLAN_TAG_PRESENT = 48;
export const SKF_AD_VLAN_TPID = 60;
/** `sizeof(struct sock_filter)` */
export const SOCK_FILTER_SIZE = 8;

// --- netlink.h: messages and attributes ---------------------------------------------------------
/** `sizeof(struct nlmsghdr)` */
export const NLMSG_HDRLEN = 16;
/** `NLMSG_ALIGNTO` */
export const NLMSG_ALIGNTO = 4;
/** `NLA_HDRLEN` */
export const NLA_HDRLEN = 4;
/**
 * `NLMSG_ALIGN(len)` (also NLA_ALIGN). Not `& ~3` on the sum: that goes through int32, and a length
 * from a malformed message near 2^31 or 2^32 would align to a negative number. Only the low two
 * bits go through int32 here.
 */
export const NLMSG_ALIGN = (len: number): number => len + NLMSG_ALIGNTO - 1 - ((len + NLMSG_ALIGNTO - 1) & (NLMSG_ALIGNTO - 1));
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
/** Set on every message of a dump after the table changed under it. */
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
/** GET requests: NLM_F_ROOT | NLM_F_MATCH is a dump. The same bits mean REPLACE | EXCL on NEW requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** On NLMSG_ERROR: the original request's payload is not included. */
export const NLM_F_CAPPED = 0x100;
/** On NLMSG_ERROR: extended-ACK TLVs follow. */
export const NLM_F_ACK_TLVS = 0x200;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
/** `enum nlmsgerr_attrs` */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;

// --- netlink.h: memory-mapped netlink (Linux 3.10–4.5; removed in 4.6 and late 4.4.y) ----------
export const AF_NETLINK = 16;
export const SOL_NETLINK = 270;
/** Netlink protocol numbers (socket(AF_NETLINK, SOCK_RAW, protocol)). */
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
/** SOL_NETLINK options. */
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
export const NETLINK_PKTINFO = 3;
export const NETLINK_BROADCAST_ERROR = 4;
export const NETLINK_NO_ENOBUFS = 5;
export const NETLINK_RX_RING = 6;
export const NETLINK_TX_RING = 7;
export const NETLINK_LISTEN_ALL_NSID = 8;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;
/** `enum nl_mmap_status` */
export const NL_MMAP_STATUS_UNUSED = 0;
export const NL_MMAP_STATUS_RESERVED = 1;
export const NL_MMAP_STATUS_VALID = 2;
export const NL_MMAP_STATUS_COPY = 3;
export const NL_MMAP_STATUS_SKIP = 4;
/** `NL_MMAP_MSG_ALIGNMENT` (= NLMSG_ALIGNTO) */
export const NL_MMAP_MSG_ALIGNMENT = 4;
/** `sizeof(struct nl_mmap_hdr)`: six u32. */
export const NL_MMAP_HDR_SIZE = 24;
/** `NL_MMAP_HDRLEN`: where a frame's message starts. */
export const NL_MMAP_HDRLEN = (NL_MMAP_HDR_SIZE + NL_MMAP_MSG_ALIGNMENT - 1) & ~(NL_MMAP_MSG_ALIGNMENT - 1);
/**
 * NLMSG_GOODSIZE on typical x86-64 builds of the ring kernels: the smallest dump chunk the kernel
 * allocates (a page minus the cache-aligned skb_shared_info).
 */
export const NLMSG_GOODSIZE = 3776;
/** The cap on `max_recvmsg_len`, the recv buffer length netlink remembers to size dump chunks. */
export const NETLINK_MAX_RECVMSG_LEN = 16384;
/** `sizeof(struct nl_mmap_req)`: four u32. */
export const NL_MMAP_REQ_SIZE = 16;

// --- rtnetlink.h / if_link.h ------------------------------------------------------------------
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
/** `sizeof(struct ifinfomsg)` */
export const IFINFOMSG_SIZE = 16;
/** `sizeof(struct rtmsg)` */
export const RTMSG_SIZE = 12;
/** `sizeof(struct ifaddrmsg)` */
export const IFADDRMSG_SIZE = 8;
/** `sizeof(struct ndmsg)` */
export const NDMSG_SIZE = 12;
/** `sizeof(struct rtnexthop)` */
export const RTNEXTHOP_SIZE = 8;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_MPLS = 28;
export const AF_BRIDGE = 7;
export const AF_UNSPEC = 0;

/** `enum rtattr_type_t` (route attributes). */
export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_MULTIPATH = 9;
export const RTA_FLOW = 11;
export const RTA_CACHEINFO = 12;
export const RTA_TABLE = 15;
export const RTA_MARK = 16;
export const RTA_MFC_STATS = 17;
export const RTA_VIA = 18;
export const RTA_NEWDST = 19;
export const RTA_PREF = 20;
export const RTA_ENCAP_TYPE = 21;
export const RTA_ENCAP = 22;
export const RTA_EXPIRES = 23;
export const RTA_UID = 25;
export const RTA_TTL_PROPAGATE = 26;
export const RTA_NH_ID = 30;
/** `rtm_type` */
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTN_THROW = 9;
export const RTN_NAT = 10;
export const RTN_XRESOLVE = 11;
/** `rtm_protocol` values the kernel itself sets. */
export const RTPROT_UNSPEC = 0;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
/** A route from a router advertisement (addrconf). */
export const RTPROT_RA = 9;
/** `rtm_scope` */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;
/** `rtm_flags` (low byte: RTNH_F_*, shared with nexthops) */
export const RTNH_F_DEAD = 1;
export const RTNH_F_PERVASIVE = 2;
export const RTNH_F_ONLINK = 4;
export const RTNH_F_OFFLOAD = 8;
export const RTNH_F_LINKDOWN = 16;
export const RTNH_F_UNRESOLVED = 32;
export const RTNH_F_TRAP = 64;
export const RTM_F_NOTIFY = 0x100;
export const RTM_F_CLONED = 0x200;
export const RTM_F_EQUALIZE = 0x400;
export const RTM_F_PREFIX = 0x800;
export const RTM_F_LOOKUP_TABLE = 0x1000;
export const RTM_F_FIB_MATCH = 0x2000;
export const RTM_F_OFFLOAD = 0x4000;
export const RTM_F_TRAP = 0x8000;
export const RTM_F_OFFLOAD_FAILED = 0x20000000;
/** `RTAX_*` (RTA_METRICS members) */
export const RTAX_LOCK = 1;
export const RTAX_MTU = 2;
export const RTAX_RTT = 4;
export const RTAX_RTTVAR = 5;
export const RTAX_HOPLIMIT = 10;
export const RTAX_FEATURES = 12;
export const RTAX_RTO_MIN = 13;
export const RTAX_CC_ALGO = 16;
export const RTAX_FEATURE_ECN = 1;
/** `RT_TABLE_*` */
export const RT_TABLE_UNSPEC = 0;
/** What rtm_table says when the table id does not fit a byte (the id is in RTA_TABLE). */
export const RT_TABLE_COMPAT = 252;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_LOCAL = 255;

/** `IFLA_*` (link attributes). */
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_IFALIAS = 20;
export const IFLA_STATS64 = 23;
export const IFLA_GROUP = 27;
export const IFLA_PROMISCUITY = 30;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
export const IFLA_CARRIER = 33;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_PROTO_DOWN = 39;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_PROP_LIST = 52;
export const IFLA_ALT_IFNAME = 53;
export const IFLA_PERM_ADDRESS = 54;
export const IFLA_PARENT_DEV_NAME = 56;
/** `IFLA_INFO_*` (inside IFLA_LINKINFO) */
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
/** `IFLA_VLAN_ID`, `IFLA_MACVLAN_MODE`, `IFLA_VXLAN_ID` (inside IFLA_INFO_DATA of their kinds) */
export const IFLA_VLAN_ID = 1;
export const IFLA_VLAN_PROTOCOL = 5;
export const IFLA_MACVLAN_MODE = 1;
export const IFLA_VXLAN_ID = 1;
/** `IFF_*` (ifi_flags) */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_POINTOPOINT = 0x10;
/** `ARPHRD_*` used by default */
export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;
/** if_arp.h: a netlink monitor device (nlmon); LINKTYPE_NETLINK's cooked header carries it. */
export const ARPHRD_NETLINK = 824;

/** `IFA_*` (address attributes). */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_ANYCAST = 5;
export const IFA_CACHEINFO = 6;
export const IFA_MULTICAST = 7;
export const IFA_FLAGS = 8;
export const IFA_RT_PRIORITY = 9;
export const IFA_PROTO = 11;
/** `IFA_F_*` */
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_OPTIMISTIC = 0x04;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;
export const IFA_F_MCAUTOJOIN = 0x400;
export const IFA_F_STABLE_PRIVACY = 0x800;

/** `NDA_*` (neighbour attributes). */
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_CACHEINFO = 3;
export const NDA_PROBES = 4;
export const NDA_VLAN = 5;
export const NDA_MASTER = 9;
/** `NUD_*` */
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
/** `NTF_*` */
export const NTF_USE = 0x01;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
export const NTF_PROXY = 0x08;
export const NTF_EXT_LEARNED = 0x10;
export const NTF_OFFLOADED = 0x20;
export const NTF_STICKY = 0x40;
export const NTF_ROUTER = 0x80;

export const RT_TABLE_MAIN = 254;
/** Multicast groups (`enum rtnetlink_groups`). */
export const RTNLGRP_LINK = 1;
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTNLGRP_IPV6_IFADDR = 9;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV6_ROUTE = 11;
export const SO_PASSCRED = 16;
export const SO_ERROR = 4;
export const SO_RCVBUFFORCE = 33;

/** The largest value the kernel reads from an `int` socket option (`tp_block_size` is checked as one). */
export const INT_MAX = 0x7fffffff;
/** `UINT_MAX` (`frames_per_block * tp_block_nr` must not overflow it). */
export const UINT_MAX = 0xffffffff;

// <poll.h> event bits.
export const POLLIN = 0x001;
/** EPOLLOUT / POLLOUT */
export const POLLOUT = 0x004;
export const POLLERR = 0x008;

// nfnetlink (include/uapi/linux/netfilter/nfnetlink.h) and nfnetlink_queue
// (include/uapi/linux/netfilter/nfnetlink_queue.h, linux/netfilter.h), at v6.18.
/** `NFNETLINK_V0`: the only nfgenmsg version. */
export const NFNETLINK_V0 = 0;
/** `NFNL_SUBSYS_QUEUE`: the message type's high byte (nfnl_msg_type()). */
export const NFNL_SUBSYS_QUEUE = 3;
/** `enum nfqnl_msg_types` */
export const NFQNL_MSG_PACKET = 0;
export const NFQNL_MSG_VERDICT = 1;
export const NFQNL_MSG_CONFIG = 2;
export const NFQNL_MSG_VERDICT_BATCH = 3;
/** `enum nfqnl_attr_type` */
export const NFQA_PACKET_HDR = 1;
export const NFQA_VERDICT_HDR = 2;
export const NFQA_MARK = 3;
export const NFQA_TIMESTAMP = 4;
export const NFQA_IFINDEX_INDEV = 5;
export const NFQA_IFINDEX_OUTDEV = 6;
export const NFQA_IFINDEX_PHYSINDEV = 7;
export const NFQA_IFINDEX_PHYSOUTDEV = 8;
export const NFQA_HWADDR = 9;
export const NFQA_PAYLOAD = 10;
export const NFQA_CT = 11;
export const NFQA_CT_INFO = 12;
export const NFQA_CAP_LEN = 13;
export const NFQA_SKB_INFO = 14;
export const NFQA_UID = 16;
export const NFQA_GID = 17;
export const NFQA_SECCTX = 18;
/** `enum nfqnl_msg_config_cmds` */
export const NFQNL_CFG_CMD_BIND = 1;
export const NFQNL_CFG_CMD_UNBIND = 2;
/** `enum nfqnl_config_mode` */
export const NFQNL_COPY_NONE = 0;
export const NFQNL_COPY_META = 1;
export const NFQNL_COPY_PACKET = 2;
/** `enum nfqnl_attr_config` */
export const NFQA_CFG_CMD = 1;
export const NFQA_CFG_PARAMS = 2;
export const NFQA_CFG_QUEUE_MAXLEN = 3;
export const NFQA_CFG_MASK = 4;
export const NFQA_CFG_FLAGS = 5;
/** `NFQA_CFG_F_*`: each newer than the one before (FAIL_OPEN 3.6, CONNTRACK 3.8, GSO 3.10, UID_GID 4.2, SECCTX 4.4). */
export const NFQA_CFG_F_FAIL_OPEN = 1 << 0;
export const NFQA_CFG_F_CONNTRACK = 1 << 1;
export const NFQA_CFG_F_GSO = 1 << 2;
export const NFQA_CFG_F_UID_GID = 1 << 3;
export const NFQA_CFG_F_SECCTX = 1 << 4;
/** `NFQA_SKB_*` bits of NFQA_SKB_INFO. */
export const NFQA_SKB_CSUMNOTREADY = 1 << 0;
export const NFQA_SKB_GSO = 1 << 1;
export const NFQA_SKB_CSUM_NOTVERIFIED = 1 << 2;
/** Verdicts (`NF_*` in linux/netfilter.h); NF_QUEUE carries the queue number in its high 16 bits (NF_VERDICT_QBITS). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NF_QUEUE = 3;
export const NF_REPEAT = 4;
export const NF_STOP = 5;
export const NF_VERDICT_QBITS = 16;
/** `enum nf_inet_hooks` */
export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;
/** `NFPROTO_*` (the nfgenmsg family of a queue's messages). */
export const NFPROTO_UNSPEC = 0;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

// --- linux/net_tstamp.h, linux/sockios.h, linux/ethtool.h: timestamp sources ---------------------
/** `SO_TIMESTAMPNS` (SOL_SOCKET): turns on the stack's receive stamping (`net_enable_timestamp()`). */
export const SO_TIMESTAMPNS = 35;
/** `SOF_TIMESTAMPING_SOFTWARE`: report software stamps (PACKET_TIMESTAMP). */
export const SOF_TIMESTAMPING_SOFTWARE = 1 << 4;
/** `SOF_TIMESTAMPING_SYS_HARDWARE`: deprecated; the kernel no longer produces such stamps. */
export const SOF_TIMESTAMPING_SYS_HARDWARE = 1 << 5;
/** `SOF_TIMESTAMPING_RAW_HARDWARE`: report the NIC's own clock. */
export const SOF_TIMESTAMPING_RAW_HARDWARE = 1 << 6;
/** `SOF_TIMESTAMPING_RX_HARDWARE`: the driver can stamp received packets in hardware. */
export const SOF_TIMESTAMPING_RX_HARDWARE = 1 << 2;
/** `SIOCETHTOOL` */
export const SIOCETHTOOL = 0x8946;
/** `SIOCSHWTSTAMP`: set a driver's hardware stamping (`struct hwtstamp_config`). */
export const SIOCSHWTSTAMP = 0x89b0;
/** `ETHTOOL_GET_TS_INFO`: `struct ethtool_ts_info` (cmd, so_timestamping, phc_index, tx_types, reserved[3], rx_filters, reserved[3]). */
export const ETHTOOL_GET_TS_INFO = 0x41;
/** `sizeof(struct ethtool_ts_info)` */
export const ETHTOOL_TS_INFO_SIZE = 44;
/** `HWTSTAMP_FILTER_ALL` (`struct hwtstamp_config.rx_filter`) */
export const HWTSTAMP_FILTER_ALL = 1;

// --- pcap link types (the tcpdump.org LINKTYPE_ registry) --------------------------------------
/** `LINKTYPE_ETHERNET` */
export const LINKTYPE_ETHERNET = 1;
/** `LINKTYPE_LINUX_SLL`: Linux cooked capture v1 */
export const LINKTYPE_LINUX_SLL = 113;
/** `LINKTYPE_NETLINK` */
export const LINKTYPE_NETLINK = 253;
/** `LINKTYPE_LINUX_SLL2`: Linux cooked capture v2 */
export const LINKTYPE_LINUX_SLL2 = 276;
