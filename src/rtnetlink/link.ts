/**
 * Links: `struct ifinfomsg` and IFLA_* attributes decoded into {@link Link}, and the dump request.
 * @packageDocumentation
 */
import {
  IFINFOMSG_SIZE,
  IFLA_ADDRESS,
  IFLA_ALT_IFNAME,
  IFLA_BROADCAST,
  IFLA_CARRIER,
  IFLA_GROUP,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_LINKMODE,
  IFLA_MACVLAN_MODE,
  IFLA_MASTER,
  IFLA_MAX_MTU,
  IFLA_MIN_MTU,
  IFLA_MTU,
  IFLA_NUM_RX_QUEUES,
  IFLA_NUM_TX_QUEUES,
  IFLA_OPERSTATE,
  IFLA_PERM_ADDRESS,
  IFLA_PROMISCUITY,
  IFLA_PROP_LIST,
  IFLA_PROTO_DOWN,
  IFLA_QDISC,
  IFLA_STATS,
  IFLA_STATS64,
  IFLA_TXQLEN,
  IFLA_VLAN_ID,
  IFLA_VLAN_PROTOCOL,
  IFLA_VXLAN_ID,
  RTM_DELLINK,
  RTM_GETLINK,
} from '../constants';
import { IFINFOMSG } from '../layouts/rtnetlink';
import { AttrCursor, NetlinkParseError } from '../netlink/message';
import { dumpRequest, RawAttribute, rawAttribute } from './types';

/** `struct rtnl_link_stats64`, the counters kring names (all 64-bit). */
export interface LinkStats64 {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  multicast: bigint;
  collisions: bigint;
}

/** IFLA_LINKINFO: the link kind and, for common kinds, its decoded IFLA_INFO_DATA. */
export interface LinkInfo {
  kind?: string;
  slaveKind?: string;
  /** vlan: { id, protocol }; macvlan/macvtap: { mode }; vxlan: { id }. */
  data?: Record<string, number>;
  /** IFLA_INFO_DATA of other kinds, and attributes kring does not decode, as raw bytes. */
  raw?: RawAttribute[];
}

/** A network interface (RTM_NEWLINK / RTM_DELLINK). */
export interface Link {
  deleted: boolean;
  family: number;
  /** `ifi_type` (ARPHRD_*) */
  type: number;
  index: number;
  /** `ifi_flags` (IFF_*) */
  flags: number;
  change: number;
  name?: string;
  mtu?: number;
  minMtu?: number;
  maxMtu?: number;
  /** IFLA_LINK: the lower or peer device's index (in `linkNetnsid`'s namespace when that is set). */
  link?: number;
  linkNetnsid?: number;
  master?: number;
  qdisc?: string;
  operstate?: number;
  linkmode?: number;
  group?: number;
  txqlen?: number;
  address?: Uint8Array;
  broadcast?: Uint8Array;
  permAddress?: Uint8Array;
  altnames?: string[];
  alias?: string;
  carrier?: number;
  promiscuity?: number;
  numTxQueues?: number;
  numRxQueues?: number;
  protoDown?: number;
  info?: LinkInfo;
  stats64?: LinkStats64;
  unknown: RawAttribute[];
}

function linkinfo(a: AttrCursor): LinkInfo {
  const info: LinkInfo = {};
  const c = a.nestedCursor();
  let data: AttrCursor | null = null;
  while (c.next()) {
    if (c.type === IFLA_INFO_KIND) info.kind = c.string();
    else if (c.type === IFLA_INFO_SLAVE_KIND) info.slaveKind = c.string();
    else if (c.type === IFLA_INFO_DATA) data = c.nestedCursor();
    else (info.raw ??= []).push(rawAttribute(c));
  }
  if (data) {
    const d: Record<string, number> = {};
    const known: Record<string, Record<number, [string, 'u16' | 'u32' | 'be16']>> = {
      vlan: { [IFLA_VLAN_ID]: ['id', 'u16'], [IFLA_VLAN_PROTOCOL]: ['protocol', 'be16'] },
      macvlan: { [IFLA_MACVLAN_MODE]: ['mode', 'u32'] },
      macvtap: { [IFLA_MACVLAN_MODE]: ['mode', 'u32'] },
      vxlan: { [IFLA_VXLAN_ID]: ['id', 'u32'] },
    };
    const table = known[info.kind ?? ''] ?? {};
    while (data.next()) {
      const k = table[data.type];
      const v = k ? data[k[1]]() : undefined;
      if (k && v !== undefined) d[k[0]] = v;
      else (info.raw ??= []).push(rawAttribute(data));
    }
    info.data = d;
  }
  return info;
}

/** Decodes a link message's payload at `[at, at + len)`. Malformed input is an error value. */
export function decodeLink(dv: DataView, at: number, len: number, type: number): Link | NetlinkParseError {
  if (len < IFINFOMSG_SIZE) return new NetlinkParseError(`a link message needs ${IFINFOMSG_SIZE} bytes of ifinfomsg, got ${len}`, at);
  const l: Link = {
    deleted: type === RTM_DELLINK,
    family: dv.getUint8(at + IFINFOMSG.ifi_family),
    type: dv.getUint16(at + IFINFOMSG.ifi_type, true),
    index: dv.getInt32(at + IFINFOMSG.ifi_index, true),
    flags: dv.getUint32(at + IFINFOMSG.ifi_flags, true),
    change: dv.getUint32(at + IFINFOMSG.ifi_change, true),
    unknown: [],
  };
  const a = new AttrCursor(dv, at + IFINFOMSG_SIZE, at + len);
  while (a.next()) {
    switch (a.type) {
      case IFLA_IFNAME:
        l.name = a.string();
        break;
      case IFLA_MTU:
        l.mtu = a.u32();
        break;
      case IFLA_MIN_MTU:
        l.minMtu = a.u32();
        break;
      case IFLA_MAX_MTU:
        l.maxMtu = a.u32();
        break;
      case IFLA_LINK:
        l.link = a.u32();
        break;
      case IFLA_LINK_NETNSID:
        l.linkNetnsid = a.s32();
        break;
      case IFLA_MASTER:
        l.master = a.u32();
        break;
      case IFLA_QDISC:
        l.qdisc = a.string();
        break;
      case IFLA_OPERSTATE:
        l.operstate = a.u8();
        break;
      case IFLA_LINKMODE:
        l.linkmode = a.u8();
        break;
      case IFLA_GROUP:
        l.group = a.u32();
        break;
      case IFLA_TXQLEN:
        l.txqlen = a.u32();
        break;
      case IFLA_ADDRESS:
        l.address = a.bytes();
        break;
      case IFLA_BROADCAST:
        l.broadcast = a.bytes();
        break;
      case IFLA_PERM_ADDRESS:
        l.permAddress = a.bytes();
        break;
      case IFLA_IFALIAS:
        l.alias = a.string();
        break;
      case IFLA_CARRIER:
        l.carrier = a.u8();
        break;
      case IFLA_PROMISCUITY:
        l.promiscuity = a.u32();
        break;
      case IFLA_NUM_TX_QUEUES:
        l.numTxQueues = a.u32();
        break;
      case IFLA_NUM_RX_QUEUES:
        l.numRxQueues = a.u32();
        break;
      case IFLA_PROTO_DOWN:
        l.protoDown = a.u8();
        break;
      case IFLA_LINKINFO:
        l.info = linkinfo(a);
        break;
      case IFLA_PROP_LIST: {
        const c = a.nestedCursor();
        while (c.next()) if (c.type === IFLA_ALT_IFNAME) (l.altnames ??= []).push(c.string());
        break;
      }
      case IFLA_STATS64:
        if (a.dataLen >= 80) {
          const g = (i: number) => dv.getBigUint64(a.data + 8 * i, true);
          l.stats64 = {
            rxPackets: g(0),
            txPackets: g(1),
            rxBytes: g(2),
            txBytes: g(3),
            rxErrors: g(4),
            txErrors: g(5),
            rxDropped: g(6),
            txDropped: g(7),
            multicast: g(8),
            collisions: g(9),
          };
        }
        break;
      case IFLA_STATS:
        break; // the 32-bit copy of IFLA_STATS64
      default:
        l.unknown.push(rawAttribute(a));
    }
  }
  return a.error ?? l;
}

/**
 * An RTM_GETLINK dump request. `family` 0 (default) asks for every attribute; AF_INET6 is answered
 * by IPv6's own handler with fewer (what `ip -6 addr` shows).
 */
export function linkDumpRequest(family = 0): Uint8Array {
  return dumpRequest(RTM_GETLINK, IFINFOMSG_SIZE, family);
}
