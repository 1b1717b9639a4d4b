/**
 * `ip`'s output for decoded records: the JSON of `ip -j` (iproute2 6.1: same keys, same value
 * formats, same omissions) and its text layout. Names come from {@link ./names}, interface names
 * from the caller's link table.
 * @packageDocumentation
 */
import {
  AF_INET,
  AF_INET6,
  IFA_F_DADFAILED,
  IFA_F_DEPRECATED,
  IFA_F_HOMEADDRESS,
  IFA_F_MANAGETEMPADDR,
  IFA_F_MCAUTOJOIN,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_F_OPTIMISTIC,
  IFA_F_PERMANENT,
  IFA_F_SECONDARY,
  IFA_F_STABLE_PRIVACY,
  IFA_F_TENTATIVE,
  IFF_POINTOPOINT,
  IFF_RUNNING,
  IFF_UP,
  NTF_EXT_LEARNED,
  NTF_OFFLOADED,
  NTF_PROXY,
  NTF_ROUTER,
  NTF_STICKY,
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTAX_FEATURE_ECN,
  RTM_F_CLONED,
  RTM_F_NOTIFY,
  RTM_F_OFFLOAD,
  RTM_F_OFFLOAD_FAILED,
  RTM_F_TRAP,
  RTN_UNICAST,
  RTNH_F_DEAD,
  RTNH_F_LINKDOWN,
  RTNH_F_OFFLOAD,
  RTNH_F_ONLINK,
  RTNH_F_PERVASIVE,
  RTNH_F_TRAP,
  RTNH_F_UNRESOLVED,
  RTPROT_BOOT,
} from '../constants';
import { Address } from '../rtnetlink/address';
import { formatAddress, formatHardware } from '../rtnetlink/ip-address';
import { Link } from '../rtnetlink/link';
import {
  dsfieldName,
  familyName,
  groupName,
  linkmodeName,
  linkTypeName,
  operstateName,
  protocolName,
  realmName,
  routeTypeName,
  scopeName,
  tableName,
} from '../rtnetlink/names';
import { Neighbour } from '../rtnetlink/neighbour';
import { METRIC_NAMES, Nexthop, Route } from '../rtnetlink/route';

/** A JSON object as `ip -j` prints one. */
export type IpJson = Record<string, unknown>;

/** What formatting needs beyond the record: interface names and flags by index. */
export interface IpContext {
  /** ll_index_to_name: the name, or `if<N>` when unknown. */
  ifname(index: number): string;
  /** The flags of interface `index` (for M-DOWN), or undefined when unknown. */
  ifflags?(index: number): number | undefined;
}

/** An {@link IpContext} over a link dump. */
export function ipContext(links: Iterable<Link>): IpContext {
  const names = new Map<number, string>();
  const flags = new Map<number, number>();
  for (const l of links) {
    if (l.name !== undefined) names.set(l.index, l.name);
    flags.set(l.index, l.flags);
  }
  return { ifname: (i) => names.get(i) ?? `if${i}`, ifflags: (i) => flags.get(i) };
}

const RT_FLAGS: [number, string][] = [
  [RTNH_F_DEAD, 'dead'],
  [RTNH_F_ONLINK, 'onlink'],
  [RTNH_F_PERVASIVE, 'pervasive'],
  [RTNH_F_OFFLOAD, 'offload'],
  [RTNH_F_TRAP, 'trap'],
  [RTM_F_NOTIFY, 'notify'],
  [RTNH_F_LINKDOWN, 'linkdown'],
  [RTNH_F_UNRESOLVED, 'unresolved'],
  [RTM_F_OFFLOAD, 'rt_offload'],
  [RTM_F_TRAP, 'rt_trap'],
  [RTM_F_OFFLOAD_FAILED, 'rt_offload_failed'],
];
const rtFlags = (flags: number): string[] => RT_FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);

const PREF = ['medium', 'high', '2', 'low'];
/** USER_HZ: the kernel reports rta_expires in clock ticks (jiffies_to_clock_t). */
const USER_HZ = 100;

function prefix(addr: string | undefined, len: number, hostLen: number): string | undefined {
  if (addr !== undefined) return len !== hostLen ? `${addr}/${len}` : addr;
  return len ? `0/${len}` : undefined;
}

function flow(realms: number): IpJson {
  const from = realms >>> 16;
  const o: IpJson = {};
  if (from) o.from = realmName(from);
  o.to = realmName(realms & 0xffff);
  return o;
}

// print_rta_metrics: RTT and RTTVAR are stored scaled (x8, x4); hoplimit -1 means unset.
function metricsJson(m: Record<string, number | string>): IpJson {
  const o: IpJson = {};
  for (let i = 2; i < METRIC_NAMES.length; i++) {
    const name = METRIC_NAMES[i];
    const v = m[name];
    if (v === undefined) continue;
    if (typeof v === 'string') o[name] = v;
    else if (name === 'hoplimit' && (v | 0) === -1) continue;
    else if (name === 'rtt') o[name] = Math.floor(v / 8);
    else if (name === 'rttvar') o[name] = Math.floor(v / 4);
    else if (name === 'features') {
      if (v & RTAX_FEATURE_ECN) o.ecn = null;
      if (v & ~RTAX_FEATURE_ECN) o.features = `0x${v.toString(16)}`;
    } else o[name] = v;
  }
  return o;
}

function nexthopJson(r: Route, nh: Nexthop, ctx: IpContext): IpJson {
  const o: IpJson = {};
  if (nh.gateway !== undefined) o.gateway = nh.gateway;
  if (nh.via) o.via = { family: familyName(nh.via.family), host: nh.via.address };
  if (nh.realms !== undefined) o.flow = flow(nh.realms);
  o.dev = ctx.ifname(nh.ifindex);
  o.weight = nh.weight;
  o.flags = rtFlags(nh.flags);
  return o;
}

/**
 * A route as `ip -j route show` prints it. `tableShown`: ip names the table only when the listing
 * is not of one table (`table all`), and then not for main.
 */
export function routeJson(r: Route, ctx: IpContext, tableShown = true): IpJson {
  const o: IpJson = {};
  const hostLen = r.family === AF_INET6 ? 128 : r.family === AF_INET ? 32 : -1;
  if (r.deleted) o.deleted = true;
  if (r.type !== RTN_UNICAST) o.type = routeTypeName(r.type);
  o.dst = prefix(r.dst, r.dstLen, hostLen) ?? 'default';
  const from = prefix(r.src, r.srcLen, hostLen);
  if (from !== undefined) o.from = from;
  if (r.nhid !== undefined) o.nhid = r.nhid;
  if (r.tos) o.tos = dsfieldName(r.tos);
  if (r.gateway !== undefined) o.gateway = r.gateway;
  if (r.via) o.via = { family: familyName(r.via.family), host: r.via.address };
  if (r.oif !== undefined) o.dev = ctx.ifname(r.oif);
  if (tableShown && r.table && r.table !== RT_TABLE_MAIN) o.table = tableName(r.table);
  if (!(r.flags & RTM_F_CLONED)) {
    if (r.protocol !== RTPROT_BOOT) o.protocol = protocolName(r.protocol);
    if (r.scope !== RT_SCOPE_UNIVERSE) o.scope = scopeName(r.scope);
  }
  if (r.prefsrc !== undefined) o.prefsrc = r.prefsrc;
  if (r.priority !== undefined) o.metric = r.priority;
  o.flags = rtFlags(r.flags);
  if (r.realms !== undefined) o.flow = flow(r.realms);
  const ci = r.cacheinfo;
  if (r.family === AF_INET6 && ci && (r.flags & RTM_F_CLONED || ci.expires)) {
    if (ci.expires) o.expires = Math.trunc(ci.expires / USER_HZ);
    if (ci.error) o.error = ci.error;
  } else if (r.family === AF_INET6 && ci?.error) o.error = ci.error;
  if (r.metrics) o.metrics = [metricsJson(r.metrics)];
  if (r.iif !== undefined) o.iif = ctx.ifname(r.iif);
  // ip prints the preference before the nexthops (print_route()), in JSON as in text.
  if (r.pref !== undefined) o.pref = PREF[r.pref] ?? String(r.pref);
  if (r.multipath) o.nexthops = r.multipath.map((nh) => nexthopJson(r, nh, ctx));
  return o;
}

/** A route in `ip route show`'s text layout (one line; nexthops on continuation lines; no trailing blanks). */
export function routeText(r: Route, ctx: IpContext, tableShown = true): string {
  const j = routeJson(r, ctx, tableShown);
  const t: string[] = [];
  if (j.deleted) t.push('Deleted');
  if (j.type) t.push(String(j.type));
  t.push(String(j.dst));
  if (j.from) t.push('from', String(j.from));
  if (j.nhid !== undefined) t.push('nhid', String(j.nhid));
  if (j.tos) t.push('tos', String(j.tos));
  if (j.gateway) t.push('via', String(j.gateway));
  const via = j.via as { family: string; host: string } | undefined;
  if (via) t.push('via', via.family, via.host);
  if (j.dev) t.push('dev', String(j.dev));
  if (j.table) t.push('table', String(j.table));
  if (j.protocol) t.push('proto', String(j.protocol));
  if (j.scope) t.push('scope', String(j.scope));
  if (j.prefsrc) t.push('src', String(j.prefsrc));
  if (j.metric !== undefined) t.push('metric', String(j.metric));
  t.push(...(j.flags as string[]));
  const f = j.flow as { from?: string; to: string } | undefined;
  if (f) t.push(f.from ? 'realms' : 'realm', f.from ? `${f.from}/${f.to}` : f.to);
  if (j.expires !== undefined) t.push('expires', `${j.expires}sec`);
  if (j.metrics) {
    const m = (j.metrics as IpJson[])[0];
    const lock = r.metricsLock ?? 0;
    for (const [k, v] of Object.entries(m)) {
      const idx = METRIC_NAMES.indexOf(k);
      const name = k === 'congestion' ? 'congctl' : k;
      if (k === 'ecn') t.push('features', 'ecn');
      else if (k === 'rtt' || k === 'rttvar' || k === 'rto_min')
        t.push(name, ...(lock & (1 << idx) ? ['lock'] : []), (v as number) >= 1000 ? `${(v as number) / 1e3}s` : `${v}ms`);
      else t.push(name, ...(lock & (1 << idx) ? ['lock'] : []), String(v));
    }
  }
  if (j.iif) t.push('iif', String(j.iif));
  if (j.pref) t.push('pref', String(j.pref));
  const lines = [t.join(' ')];
  for (const nh of (j.nexthops as IpJson[] | undefined) ?? []) {
    const n: string[] = ['\tnexthop'];
    if (nh.gateway) n.push('via', String(nh.gateway));
    const v = nh.via as { family: string; host: string } | undefined;
    if (v) n.push('via', v.family, v.host);
    n.push('dev', String(nh.dev), 'weight', String(nh.weight), ...(nh.flags as string[]));
    lines.push(n.join(' '));
  }
  return lines.join('\n');
}

// print_link_flags: NO-CARRIER first, then the IFF names in this order, leftover bits in hex.
const IFF_NAMES: [number, string][] = [
  [0x8, 'LOOPBACK'],
  [0x2, 'BROADCAST'],
  [0x10, 'POINTOPOINT'],
  [0x1000, 'MULTICAST'],
  [0x80, 'NOARP'],
  [0x200, 'ALLMULTI'],
  [0x100, 'PROMISC'],
  [0x400, 'MASTER'],
  [0x800, 'SLAVE'],
  [0x4, 'DEBUG'],
  [0x8000, 'DYNAMIC'],
  [0x4000, 'AUTOMEDIA'],
  [0x2000, 'PORTSEL'],
  [0x20, 'NOTRAILERS'],
  [0x1, 'UP'],
  [0x10000, 'LOWER_UP'],
  [0x20000, 'DORMANT'],
  [0x40000, 'ECHO'],
];
function linkFlags(flags: number, mdown: boolean): string[] {
  const out: string[] = [];
  if (flags & IFF_UP && !(flags & IFF_RUNNING)) out.push('NO-CARRIER');
  let left = flags & ~IFF_RUNNING;
  for (const [bit, name] of IFF_NAMES) {
    if (left & bit) {
      left &= ~bit;
      out.push(name);
    }
  }
  if (left) out.push(left.toString(16));
  if (mdown) out.push('M-DOWN');
  return out;
}

// ll_addr_n2a: tunnels carry IP addresses as their link-layer address.
function llAddr(type: number, b: Uint8Array): string {
  if ((type === 768 || type === 776 || type === 778) && b.length === 4) return formatAddress(AF_INET, b);
  if ((type === 769 || type === 823) && b.length === 16) return formatAddress(AF_INET6, b);
  return formatHardware(b);
}

/**
 * A link as `ip -j link show` prints it. `addrShow`: as `ip -j addr show` does (without linkmode);
 * `linkLayer: false`: without the link type and addresses, as `ip -4/-6 addr show` does.
 */
export function linkJson(l: Link, ctx: IpContext, addrShow = false, linkLayer = true): IpJson {
  const o: IpJson = {};
  if (l.deleted) o.deleted = true;
  o.ifindex = l.index;
  let mdown = false;
  if (l.link !== undefined) {
    if (l.link === 0) o.link = null;
    else if (l.linkNetnsid !== undefined) o.link_index = l.link;
    else {
      o.link = ctx.ifname(l.link);
      const f = ctx.ifflags?.(l.link);
      mdown = f !== undefined && !(f & IFF_UP);
    }
  }
  o.ifname = l.name;
  o.flags = linkFlags(l.flags, mdown);
  if (l.mtu !== undefined) o.mtu = l.mtu;
  if (l.qdisc !== undefined) o.qdisc = l.qdisc;
  if (l.master !== undefined) o.master = ctx.ifname(l.master);
  if (l.operstate !== undefined) o.operstate = operstateName(l.operstate);
  if (!addrShow && l.linkmode !== undefined) o.linkmode = linkmodeName(l.linkmode);
  if (l.group !== undefined) o.group = groupName(l.group);
  if (l.txqlen) o.txqlen = l.txqlen; // print_queuelen: 0 is not printed
  if (linkLayer) linkLayerJson(l, o);
  if (l.linkNetnsid !== undefined) o.link_netnsid = l.linkNetnsid;
  if (l.protoDown) o.proto_down = true;
  if (l.altnames?.length) o.altnames = l.altnames;
  return o;
}

function linkLayerJson(l: Link, o: IpJson): void {
  o.link_type = linkTypeName(l.type);
  if (l.address) o.address = llAddr(l.type, l.address);
  // Only when it differs from the current address.
  if (l.permAddress && !(l.address && Buffer.compare(l.address, l.permAddress) === 0)) o.permaddr = llAddr(l.type, l.permAddress);
  if (l.broadcast) {
    if (l.flags & IFF_POINTOPOINT) {
      o.link_pointtopoint = true;
      o.peer = llAddr(l.type, l.broadcast);
    } else o.broadcast = llAddr(l.type, l.broadcast);
  }
}

// print_ifa_flags (6.1): "secondary" for IPv4, "temporary" for IPv6; the rest IPv6-only but for
// noprefixroute and autojoin; PERMANENT is never named, its absence is "dynamic".
const IFA_NAMES: [number, string, 'v4' | 'v6' | 'any'][] = [
  [IFA_F_SECONDARY, 'secondary', 'v4'],
  [IFA_F_SECONDARY, 'temporary', 'v6'],
  [IFA_F_NODAD, 'nodad', 'v6'],
  [IFA_F_OPTIMISTIC, 'optimistic', 'v6'],
  [IFA_F_DADFAILED, 'dadfailed', 'v6'],
  [IFA_F_HOMEADDRESS, 'home', 'v6'],
  [IFA_F_DEPRECATED, 'deprecated', 'v6'],
  [IFA_F_TENTATIVE, 'tentative', 'v6'],
  [IFA_F_MANAGETEMPADDR, 'mngtmpaddr', 'v6'],
  [IFA_F_NOPREFIXROUTE, 'noprefixroute', 'any'],
  [IFA_F_MCAUTOJOIN, 'autojoin', 'any'],
  [IFA_F_STABLE_PRIVACY, 'stable-privacy', 'v6'],
];

/** One entry of `addr_info` in `ip -j addr show`. */
export function addressJson(a: Address): IpJson {
  const o: IpJson = { family: familyName(a.family) };
  const local = a.local ?? a.address;
  if (local !== undefined) o.local = local;
  if (a.local !== undefined && a.address !== undefined && a.address !== a.local) o.address = a.address;
  o.prefixlen = a.prefixLen;
  if (a.broadcast !== undefined) o.broadcast = a.broadcast;
  if (a.anycast !== undefined) o.anycast = a.anycast;
  o.scope = scopeName(a.scope);
  let flags = a.flags;
  const v6 = a.family === AF_INET6;
  for (const [bit, name, fam] of IFA_NAMES) {
    if (fam === 'v4' && v6) continue;
    if (fam === 'v6' && !v6) continue;
    if (flags & bit) {
      flags &= ~bit;
      o[name] = true;
    }
  }
  if (!(flags & IFA_F_PERMANENT)) o.dynamic = true;
  flags &= ~IFA_F_PERMANENT;
  if (flags) o.flags = `0x${flags.toString(16)}`;
  if (a.label !== undefined) o.label = a.label;
  if (a.cacheinfo) {
    o.valid_life_time = a.cacheinfo.valid;
    o.preferred_life_time = a.cacheinfo.preferred;
  }
  if (a.metric !== undefined) o.metric = a.metric;
  return o;
}

/** `ip -j addr show`: every link with its addresses in dump order (`linkLayer` as in {@link linkJson}). */
export function addrShowJson(links: Link[], addrs: Address[], ctx: IpContext, linkLayer = true): IpJson[] {
  const by = new Map<number, IpJson[]>();
  for (const a of addrs) {
    let l = by.get(a.index);
    if (!l) by.set(a.index, (l = []));
    l.push(addressJson(a));
  }
  return links.map((l) => ({ ...linkJson(l, ctx, true, linkLayer), addr_info: by.get(l.index) ?? [] }));
}

const NUD: [number, string][] = [
  [NUD_INCOMPLETE, 'INCOMPLETE'],
  [NUD_REACHABLE, 'REACHABLE'],
  [NUD_STALE, 'STALE'],
  [NUD_DELAY, 'DELAY'],
  [NUD_PROBE, 'PROBE'],
  [NUD_FAILED, 'FAILED'],
  [NUD_NOARP, 'NOARP'],
  [NUD_PERMANENT, 'PERMANENT'],
];

/** Whether `ip neigh show` (no `nud` argument) lists the entry: not NOARP, not NONE, unless proxy or externally learned. */
export function neighbourShown(n: Neighbour): boolean {
  const filter = 0xff & ~NUD_NOARP;
  return (filter & n.state) !== 0 || (n.flags & (NTF_PROXY | NTF_EXT_LEARNED)) !== 0;
}

/** A neighbour as `ip -j neigh show` prints it. */
export function neighbourJson(n: Neighbour, ctx: IpContext): IpJson {
  const o: IpJson = {};
  if (n.deleted) o.deleted = true;
  if (n.dst !== undefined) o.dst = n.dst;
  o.dev = ctx.ifname(n.ifindex);
  if (n.lladdr) o.lladdr = formatHardware(n.lladdr);
  if (n.flags & NTF_ROUTER) o.router = null;
  if (n.flags & NTF_PROXY) o.proxy = null;
  if (n.flags & NTF_EXT_LEARNED) o.extern_learn = null;
  if (n.flags & NTF_OFFLOADED) o.offload = null;
  if (n.flags & NTF_STICKY) o.sticky = null;
  if (n.state) o.state = NUD.filter(([bit]) => n.state & bit).map(([, s]) => s);
  return o;
}

/** `ip neigh show`'s text line. */
export function neighbourText(n: Neighbour, ctx: IpContext): string {
  const j = neighbourJson(n, ctx);
  const t: string[] = [];
  if (j.deleted) t.push('Deleted');
  if (j.dst) t.push(String(j.dst));
  t.push('dev', String(j.dev));
  if (j.lladdr) t.push('lladdr', String(j.lladdr));
  for (const k of ['router', 'proxy', 'extern_learn', 'offload', 'sticky']) if (k in j) t.push(k);
  t.push(...((j.state as string[] | undefined) ?? []));
  return t.join(' ');
}

/** `ip link show`'s two lines for a link (`addrShow`: the `ip addr show` header, without mode). */
export function linkText(l: Link, ctx: IpContext, addrShow = false, linkLayer = true): string {
  const j = linkJson(l, ctx, addrShow, linkLayer);
  const at = j.link === null ? '@NONE' : j.link !== undefined ? `@${j.link}` : j.link_index !== undefined ? `@if${j.link_index}` : '';
  let s = `${j.ifindex}: ${j.ifname}${at}: <${(j.flags as string[]).join(',')}>`;
  if (j.mtu !== undefined) s += ` mtu ${j.mtu}`;
  if (j.qdisc) s += ` qdisc ${j.qdisc}`;
  if (j.master) s += ` master ${j.master}`;
  if (j.operstate) s += ` state ${j.operstate}`;
  if (j.linkmode) s += ` mode ${j.linkmode}`;
  if (j.group) s += ` group ${j.group}`;
  if (j.txqlen !== undefined) s += ` qlen ${j.txqlen}`;
  if (!linkLayer) return s;
  s += `\n    link/${j.link_type}`;
  if (j.address) s += ` ${j.address}`;
  if (j.broadcast) s += ` brd ${j.broadcast}`;
  if (j.peer) s += ` peer ${j.peer}`;
  if (j.link_netnsid !== undefined) s += ` link-netnsid ${j.link_netnsid}`;
  return s;
}

/** `ip addr show`'s lines for one address. */
export function addressText(a: Address): string {
  const j = addressJson(a);
  let s = `    ${j.family} ${j.local}`;
  if (j.address) s += ` peer ${j.address}`;
  s += `/${j.prefixlen}`;
  if (j.broadcast) s += ` brd ${j.broadcast}`;
  if (j.anycast) s += ` any ${j.anycast}`;
  s += ` scope ${j.scope}`;
  for (const [, name] of IFA_NAMES) if (j[name]) s += ` ${name}`;
  if (j.dynamic) s += ' dynamic';
  if (j.label) s += ` ${j.label}`;
  if (j.valid_life_time !== undefined) {
    const life = (v: unknown) => (v === 0xffffffff ? 'forever' : `${v}sec`);
    s += `\n       valid_lft ${life(j.valid_life_time)} preferred_lft ${life(j.preferred_life_time)}`;
  }
  return s;
}
