/**
 * Routes: `struct rtmsg` and its attributes (rtnetlink.h) decoded into {@link Route}, and the
 * dump request for them.
 * @packageDocumentation
 */
import {
  AF_INET,
  AF_INET6,
  RTA_CACHEINFO,
  RTA_DST,
  RTA_ENCAP,
  RTA_ENCAP_TYPE,
  RTA_EXPIRES,
  RTA_FLOW,
  RTA_GATEWAY,
  RTA_IIF,
  RTA_MARK,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_NEWDST,
  RTA_NH_ID,
  RTA_OIF,
  RTA_PREF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_SRC,
  RTA_TABLE,
  RTA_TTL_PROPAGATE,
  RTA_UID,
  RTA_VIA,
  RTAX_CC_ALGO,
  RTAX_LOCK,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTMSG_SIZE,
  RTNEXTHOP_SIZE,
} from '../constants';
import { RTMSG, RTNEXTHOP } from '../layouts/rtnetlink';
import { AttrCursor, NetlinkParseError } from '../netlink/message';
import { formatAddress } from './ip-address';
import { dumpRequest, RawAttribute, rawAttribute } from './types';

/** Names of the RTAX_* metrics, by number, as iproute2 prints them. */
export const METRIC_NAMES = [
  '',
  'lock',
  'mtu',
  'window',
  'rtt',
  'rttvar',
  'ssthresh',
  'cwnd',
  'advmss',
  'reordering',
  'hoplimit',
  'initcwnd',
  'features',
  'rto_min',
  'initrwnd',
  'quickack',
  'congestion',
  'fastopen_no_cookie',
];

/** An RTA_VIA address (a gateway of another family: IPv4 routes via IPv6, MPLS). */
export interface RouteVia {
  family: number;
  address: string;
}

/** One nexthop of RTA_MULTIPATH (`struct rtnexthop` and its attributes). */
export interface Nexthop {
  /** `rtnh_ifindex` */
  ifindex: number;
  /** Weight 1..256 (`rtnh_hops + 1`). */
  weight: number;
  /** `rtnh_flags` (RTNH_F_*) */
  flags: number;
  gateway?: string;
  via?: RouteVia;
  /** RTA_FLOW realms. */
  realms?: number;
  encapType?: number;
  encap?: Uint8Array;
  /** Attributes kring does not decode, kept as raw bytes. */
  unknown?: RawAttribute[];
}

/** `struct rta_cacheinfo` */
export interface RouteCacheInfo {
  clntref: number;
  lastuse: number;
  /** Remaining lifetime in jiffies (USER_HZ ticks); 0 when the route does not expire. */
  expires: number;
  error: number;
  used: number;
  id: number;
  ts: number;
  tsage: number;
}

/** A route as the kernel dumps it (RTM_NEWROUTE) or announces it (RTM_NEWROUTE / RTM_DELROUTE). */
export interface Route {
  /** True for RTM_DELROUTE notifications. */
  deleted: boolean;
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** RTA_TABLE when present (ids above 255), else `rtm_table`. */
  table: number;
  protocol: number;
  scope: number;
  /** `rtm_type` (RTN_*) */
  type: number;
  /** `rtm_flags` (RTNH_F_* and RTM_F_*) */
  flags: number;
  dst?: string;
  src?: string;
  gateway?: string;
  via?: RouteVia;
  /** RTA_OIF */
  oif?: number;
  iif?: number;
  /** RTA_PRIORITY: the metric. */
  priority?: number;
  prefsrc?: string;
  /** RTA_METRICS by iproute2 name ('mtu', 'advmss', …), raw kernel values; 'congestion' is a string. */
  metrics?: Record<string, number | string>;
  /** RTAX_LOCK: bit n locks metric n. */
  metricsLock?: number;
  multipath?: Nexthop[];
  /** RTA_PREF (IPv6 router preference: 0 medium, 1 high, 3 low). */
  pref?: number;
  /** RTA_EXPIRES (seconds), as sent in requests; dumps carry the lifetime in {@link cacheinfo}. */
  expires?: number;
  /** RTA_NH_ID: the nexthop object the route uses. */
  nhid?: number;
  encapType?: number;
  encap?: Uint8Array;
  cacheinfo?: RouteCacheInfo;
  mark?: number;
  /** RTA_FLOW realms (from << 16 | to). */
  realms?: number;
  uid?: number;
  ttlPropagate?: number;
  newdst?: Uint8Array;
  /** Attributes kring does not decode, kept as raw bytes: never dropped silently. */
  unknown: RawAttribute[];
}

function addr(a: AttrCursor, family: number): string | undefined {
  const want = family === AF_INET ? 4 : family === AF_INET6 ? 16 : a.dataLen;
  if (a.dataLen < want) return undefined;
  return formatAddress(family, a.view(), 0, want);
}

function via(a: AttrCursor): RouteVia | undefined {
  if (a.dataLen < 2) return undefined;
  const family = a.dv.getUint16(a.data, true);
  const b = new Uint8Array(a.dv.buffer, a.dv.byteOffset + a.data + 2, a.dataLen - 2);
  return { family, address: formatAddress(family, b) };
}

function metrics(r: Route, a: AttrCursor): void {
  const m: Record<string, number | string> = {};
  const c = a.nestedCursor();
  while (c.next()) {
    if (c.type === RTAX_LOCK) r.metricsLock = c.u32();
    else if (c.type === RTAX_CC_ALGO) m[METRIC_NAMES[c.type]] = c.string();
    else {
      const v = c.u32();
      if (v !== undefined) m[METRIC_NAMES[c.type] || `metric ${c.type}`] = v;
    }
  }
  r.metrics = m;
}

function multipath(r: Route, a: AttrCursor): NetlinkParseError | null {
  const out: Nexthop[] = [];
  const dv = a.dv;
  let at = a.data;
  const end = a.data + a.dataLen;
  while (end - at >= RTNEXTHOP_SIZE) {
    const len = dv.getUint16(at + RTNEXTHOP.rtnh_len, true);
    if (len < RTNEXTHOP_SIZE || len > end - at) return new NetlinkParseError(`rtnh_len ${len} is outside ${RTNEXTHOP_SIZE}..${end - at}`, at);
    const nh: Nexthop = {
      flags: dv.getUint8(at + RTNEXTHOP.rtnh_flags),
      weight: dv.getUint8(at + RTNEXTHOP.rtnh_hops) + 1,
      ifindex: dv.getInt32(at + RTNEXTHOP.rtnh_ifindex, true),
    };
    const c = new AttrCursor(dv, at + RTNEXTHOP_SIZE, at + len);
    while (c.next()) {
      switch (c.type) {
        case RTA_GATEWAY:
          nh.gateway = addr(c, r.family);
          break;
        case RTA_VIA:
          nh.via = via(c);
          break;
        case RTA_FLOW:
          nh.realms = c.u32();
          break;
        case RTA_ENCAP_TYPE:
          nh.encapType = c.u16();
          break;
        case RTA_ENCAP:
          nh.encap = c.bytes();
          break;
        default:
          (nh.unknown ??= []).push(rawAttribute(c));
      }
    }
    if (c.error) return c.error;
    out.push(nh);
    at += (len + 3) & ~3;
  }
  r.multipath = out;
  return null;
}

/**
 * Decodes a route message's payload (`struct rtmsg` and attributes) at `[at, at + len)` of `dv`.
 * `type` is the nlmsg_type (RTM_NEWROUTE or RTM_DELROUTE). Malformed input is an error value.
 */
export function decodeRoute(dv: DataView, at: number, len: number, type: number): Route | NetlinkParseError {
  if (len < RTMSG_SIZE) return new NetlinkParseError(`a route message needs ${RTMSG_SIZE} bytes of rtmsg, got ${len}`, at);
  const r: Route = {
    deleted: type === RTM_DELROUTE,
    family: dv.getUint8(at + RTMSG.rtm_family),
    dstLen: dv.getUint8(at + RTMSG.rtm_dst_len),
    srcLen: dv.getUint8(at + RTMSG.rtm_src_len),
    tos: dv.getUint8(at + RTMSG.rtm_tos),
    table: dv.getUint8(at + RTMSG.rtm_table),
    protocol: dv.getUint8(at + RTMSG.rtm_protocol),
    scope: dv.getUint8(at + RTMSG.rtm_scope),
    type: dv.getUint8(at + RTMSG.rtm_type),
    flags: dv.getUint32(at + RTMSG.rtm_flags, true),
    unknown: [],
  };
  const a = new AttrCursor(dv, at + RTMSG_SIZE, at + len);
  while (a.next()) {
    switch (a.type) {
      case RTA_DST:
        r.dst = addr(a, r.family);
        break;
      case RTA_SRC:
        r.src = addr(a, r.family);
        break;
      case RTA_IIF:
        r.iif = a.u32();
        break;
      case RTA_OIF:
        r.oif = a.u32();
        break;
      case RTA_GATEWAY:
        r.gateway = addr(a, r.family);
        break;
      case RTA_PRIORITY:
        r.priority = a.u32();
        break;
      case RTA_PREFSRC:
        r.prefsrc = addr(a, r.family);
        break;
      case RTA_METRICS:
        metrics(r, a);
        break;
      case RTA_MULTIPATH: {
        const e = multipath(r, a);
        if (e) return e;
        break;
      }
      case RTA_FLOW:
        r.realms = a.u32();
        break;
      case RTA_CACHEINFO:
        if (a.dataLen >= 32) {
          const g = (i: number) => dv.getUint32(a.data + 4 * i, true);
          r.cacheinfo = { clntref: g(0), lastuse: g(1), expires: dv.getInt32(a.data + 8, true), error: g(3), used: g(4), id: g(5), ts: g(6), tsage: g(7) };
        }
        break;
      case RTA_TABLE:
        r.table = a.u32() ?? r.table;
        break;
      case RTA_MARK:
        r.mark = a.u32();
        break;
      case RTA_VIA:
        r.via = via(a);
        break;
      case RTA_NEWDST:
        r.newdst = a.bytes();
        break;
      case RTA_PREF:
        r.pref = a.u8();
        break;
      case RTA_ENCAP_TYPE:
        r.encapType = a.u16();
        break;
      case RTA_ENCAP:
        r.encap = a.bytes();
        break;
      case RTA_EXPIRES:
        r.expires = a.u32();
        break;
      case RTA_UID:
        r.uid = a.u32();
        break;
      case RTA_TTL_PROPAGATE:
        r.ttlPropagate = a.u8();
        break;
      case RTA_NH_ID:
        r.nhid = a.u32();
        break;
      default:
        r.unknown.push(rawAttribute(a));
    }
  }
  return a.error ?? r;
}

/** What a route dump asks the kernel for (with strict checking, the kernel filters by these). */
export interface RouteDumpFilter {
  family?: number;
  /** Table id; the kernel filters by it under NETLINK_GET_STRICT_CHK (RTA_TABLE). */
  table?: number;
  protocol?: number;
  type?: number;
  /** Output interface index (RTA_OIF). */
  oif?: number;
}

/** An RTM_GETROUTE dump request. Under strict checking its fields and attributes filter kernel-side. */
export function routeDumpRequest(f: RouteDumpFilter = {}): Uint8Array {
  return dumpRequest(
    RTM_GETROUTE,
    RTMSG_SIZE,
    f.family ?? 0,
    (hdr) => {
      if (f.table !== undefined && f.table < 256) hdr[RTMSG.rtm_table] = f.table;
      hdr[RTMSG.rtm_protocol] = f.protocol ?? 0;
      hdr[RTMSG.rtm_type] = f.type ?? 0;
    },
    (b) => {
      if (f.table !== undefined) b.u32(RTA_TABLE, f.table);
      if (f.oif !== undefined) b.u32(RTA_OIF, f.oif);
    },
  );
}

/** The plain-object form of a route (a {@link RouteRecord}'s decode; a plain Route as it is). */
export function plainRoute(r: Route): Route {
  const j = (r as { toJSON?: () => Route }).toJSON;
  return typeof j === 'function' ? j.call(r) : r;
}
