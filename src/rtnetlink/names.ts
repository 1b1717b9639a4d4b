/**
 * Names for rtnetlink numbers as iproute2 prints them: its built-in tables, extended by the same
 * files `ip` reads (/etc/iproute2/rt_protos, rt_tables, rt_scopes, rt_realms, rt_dsfield, group and
 * their `.d/*.conf` directories), so `kring --json` output names what `ip -j` names.
 * @packageDocumentation
 */
import { readdirSync, readFileSync } from 'node:fs';

type Table = Map<number, string>;

const BUILTIN: Record<string, [number, string][]> = {
  rt_protos: [
    [0, 'unspec'],
    [1, 'redirect'],
    [2, 'kernel'],
    [3, 'boot'],
    [4, 'static'],
    [8, 'gated'],
    [9, 'ra'],
    [10, 'mrt'],
    [11, 'zebra'],
    [12, 'bird'],
    [13, 'dnrouted'],
    [14, 'xorp'],
    [15, 'ntk'],
    [16, 'dhcp'],
    [18, 'keepalived'],
    [42, 'babel'],
    [99, 'openr'],
    [186, 'bgp'],
    [187, 'isis'],
    [188, 'ospf'],
    [189, 'rip'],
    [192, 'eigrp'],
  ],
  rt_tables: [
    [0, 'unspec'],
    [253, 'default'],
    [254, 'main'],
    [255, 'local'],
  ],
  rt_scopes: [
    [0, 'global'],
    [200, 'site'],
    [253, 'link'],
    [254, 'host'],
    [255, 'nowhere'],
  ],
  rt_realms: [[0, 'cosmos']],
  rt_dsfield: [],
  group: [[0, 'default']],
};

const cache = new Map<string, Table>();

/** Where the iproute2 name files are read from; tests may point it elsewhere. */
export let IPROUTE2_CONFIG_DIR = '/etc/iproute2';

/** Reads the name files again on next use (after changing {@link IPROUTE2_CONFIG_DIR} or the files). */
export function resetNameCache(dir?: string): void {
  if (dir !== undefined) IPROUTE2_CONFIG_DIR = dir;
  cache.clear();
}

// "number name" lines; '#' comments; numbers in decimal or 0x hex, as iproute2's rtnl_tab_initialize.
function parseInto(table: Table, text: string): void {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(0x[0-9a-fA-F]+|\d+)\s+(\S+)/.exec(line);
    if (m) table.set(Number(m[1]), m[2]);
  }
}

function table(name: string): Table {
  let t = cache.get(name);
  if (t) return t;
  t = new Map(BUILTIN[name]);
  const dir = IPROUTE2_CONFIG_DIR;
  try {
    parseInto(t, readFileSync(`${dir}/${name}`, 'utf8'));
  } catch {
    // no file: the built-in names, as ip has
  }
  try {
    for (const f of readdirSync(`${dir}/${name}.d`)
      .filter((f) => f.endsWith('.conf'))
      .sort())
      parseInto(t, readFileSync(`${dir}/${name}.d/${f}`, 'utf8'));
  } catch {
    // no directory
  }
  cache.set(name, t);
  return t;
}

/** `rtm_protocol` → 'kernel', 'static', … or the number as a string (rtnl_rtprot_n2a). */
export const protocolName = (n: number): string => table('rt_protos').get(n) ?? String(n);
/** Route table id → 'main', 'local', … or the number as a string (rtnl_rttable_n2a). */
export const tableName = (n: number): string => table('rt_tables').get(n) ?? String(n);
/** `rtm_scope` / `ifa_scope` → 'global', 'link', 'host', … or the number (rtnl_rtscope_n2a). */
export const scopeName = (n: number): string => table('rt_scopes').get(n) ?? String(n);
/** A realm → its name or the number (rtnl_rtrealm_n2a). */
export const realmName = (n: number): string => table('rt_realms').get(n) ?? String(n);
/** A link group → 'default' or the number (rtnl_group_n2a). */
export const groupName = (n: number): string => table('group').get(n) ?? String(n);
/** `rtm_tos` → its DS field name or `0x%02x` (rtnl_dsfield_n2a). */
export const dsfieldName = (n: number): string => table('rt_dsfield').get(n) ?? `0x${n.toString(16).padStart(2, '0')}`;

/** A name or number given on the command line → the number; undefined when unknown. */
export function tableId(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  for (const [k, v] of table('rt_tables')) if (v === name) return k;
  return undefined;
}

const RTN_NAMES = ['none', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve'];
/** `rtm_type` → 'unicast', 'blackhole', … (rtnl_rtntype_n2a). */
export const routeTypeName = (n: number): string => RTN_NAMES[n] ?? String(n);

const FAMILIES: Record<number, string> = { 0: 'unspec', 1: 'unix', 2: 'inet', 10: 'inet6', 4: 'ipx', 12: 'dnet', 17: 'link', 7: 'bridge', 28: 'mpls' };
/** Address family → 'inet', 'inet6', … (family_name). */
export const familyName = (n: number): string => FAMILIES[n] ?? '???';

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];
/** `IFLA_OPERSTATE` → 'UP', 'DOWN', … */
export const operstateName = (n: number): string => OPERSTATES[n] ?? String(n);
const LINKMODES = ['DEFAULT', 'DORMANT', 'TESTING'];
/** `IFLA_LINKMODE` → 'DEFAULT', 'DORMANT', 'TESTING'. */
export const linkmodeName = (n: number): string => LINKMODES[n] ?? 'none';

const ARPHRD: Record<number, string> = {
  0: 'netrom',
  1: 'ether',
  2: 'eether',
  3: 'ax25',
  4: 'pronet',
  5: 'chaos',
  6: 'ieee802',
  7: 'arcnet',
  8: 'appletlk',
  15: 'dlci',
  19: 'atm',
  23: 'metricom',
  24: 'ieee1394',
  27: 'eui64',
  32: 'infiniband',
  256: 'slip',
  257: 'cslip',
  258: 'slip6',
  259: 'cslip6',
  260: 'rsrvd',
  264: 'adapt',
  270: 'rose',
  271: 'x25',
  272: 'hwx25',
  280: 'can',
  512: 'ppp',
  513: 'cisco',
  516: 'lapb',
  517: 'ddcmp',
  518: 'rawhdlc',
  519: 'rawip',
  768: 'ipip',
  769: 'tunnel6',
  770: 'frad',
  771: 'skip',
  772: 'loopback',
  773: 'localtlk',
  774: 'fddi',
  775: 'bif',
  776: 'sit',
  777: 'ip/ddp',
  778: 'gre',
  779: 'pimreg',
  780: 'hippi',
  781: 'ash',
  782: 'econet',
  783: 'irda',
  784: 'fcpp',
  785: 'fcal',
  786: 'fcpl',
  787: 'fcfb0',
  800: 'tr',
  801: 'tr+ieee802',
  802: 'ieee802.11',
  803: 'ieee802.11/prism',
  804: 'ieee802.11/radiotap',
  805: 'ieee802.15.4',
  806: 'ieee802.15.4/monitor',
  820: 'phonet',
  821: 'phonet_pipe',
  822: 'caif',
  823: 'ip6gre',
  824: 'netlink',
  825: '6lowpan',
  826: 'vsockmon',
  0xfffe: 'none',
  0xffff: 'void',
};
/** `ifi_type` (ARPHRD_*) → 'ether', 'loopback', … (ll_type_n2a). */
export const linkTypeName = (n: number): string => ARPHRD[n] ?? `[${n}]`;
