/**
 * A randomized but reproducible routing setup (seeded PRNG): links (veth pairs, macvlan, vlan when
 * the kernel has it), addresses, and IPv4 and IPv6 routes of every kind `ip` can add: all prefix
 * lengths, gateways, onlink, multipath with weights, metrics, protocols, scopes, types, tables.
 */
import { execFileSync } from 'node:child_process';
import { ipBatch } from './netns';

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whether `ip link add ... type vlan` works on this kernel (needs the 8021q driver). */
export function hasVlan(ns: string): boolean {
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'kvprobe', 'type', 'veth', 'peer', 'name', 'kvprobe2'], { stdio: 'ignore' });
    execFileSync('ip', ['-n', ns, 'link', 'add', 'link', 'kvprobe', 'name', 'kvprobe.1', 'type', 'vlan', 'id', '1'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('ip', ['-n', ns, 'link', 'del', 'kvprobe'], { stdio: 'ignore' });
  }
}

/** Links and addresses: r0/r1 and d0/d1 (d1 down: NO-CARRIER, M-DOWN) veth pairs, mv0 macvlan, r0.7 vlan when available. */
export function setUpLinks(ns: string, vlan: boolean): void {
  const lines = [
    'link add r0 type veth peer name r1',
    'link add d0 type veth peer name d1',
    'link add link r0 name mv0 type macvlan mode bridge',
    ...(vlan ? ['link add link r0 name r0.7 type vlan id 7', 'link set r0.7 up', 'addr add 10.77.0.1/24 dev r0.7'] : []),
    'link set r0 up',
    'link set r1 up',
    'link set d0 up',
    'link set mv0 up mtu 1400',
    'link set r1 txqueuelen 0',
    'addr add 10.0.0.1/16 dev r0',
    'addr add 10.0.1.1/24 brd + dev r0 label r0:a',
    'addr add 10.0.2.1/24 dev r0',
    'addr add 10.0.2.2/24 dev r0',
    'addr add 10.1.0.1/16 dev r1',
    'addr add 192.168.5.1 peer 192.168.5.2 dev mv0',
    'addr add 172.16.0.1/12 dev mv0 label mv0:x',
    'addr add 2001:db8::1/64 dev r0',
    'addr add 2001:db8:1::1/64 dev r1 nodad',
    'addr add 2001:db8:2::1/48 dev mv0 noprefixroute',
  ];
  ipBatch(ns, lines);
}

const TABLES = ['', ' table 100', ' table 200', ' table 1000'];
const PROTOS = ['', ' proto static', ' proto bird', ' proto 99', ' proto 250', ' proto boot', ' proto zebra'];

function v4(r: () => number, len: number): string {
  const n = Math.floor(r() * 2 ** 32) >>> 0;
  const masked = len === 0 ? 0 : (n & (~0 << (32 - len))) >>> 0;
  return `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${len}`;
}

function v6(r: () => number, len: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, len - 16 * i));
    const w = Math.floor(r() * 65536);
    words.push(bits === 0 ? 0 : w & (0xffff << (16 - bits)) & 0xffff);
  }
  // 2001:db8::/32-ish prefixes for the long ones, so they don't collide with link-locals.
  if (len >= 32) {
    words[0] = 0x2001;
    words[1] = 0x0db8 | (words[1] & 0);
  }
  return `${words.map((w) => w.toString(16)).join(':')}/${len}`;
}

// ip wants route options before the first "nexthop"; the family comes from the prefix.
function place(body: string, options: string): string {
  const nh = body.indexOf(' nexthop ');
  return nh < 0 ? `route add ${body}${options}` : `route add ${body.slice(0, nh)}${options}${body.slice(nh)}`;
}

/** `count` IPv4 and `count` IPv6 `route add` lines from `seed`. */
export function randomRoutes(seed: number, count: number): string[] {
  const r = prng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = Math.floor(r() * 33);
    const table = pick(TABLES);
    const proto = pick(PROTOS);
    const metric = r() < 0.4 ? ` metric ${Math.floor(r() * 5000)}` : '';
    const kind = r();
    let body: string;
    if (kind < 0.1) body = `${pick(['blackhole', 'unreachable', 'prohibit', 'throw'])} ${v4(r, len)}`;
    else if (kind < 0.3) body = `${v4(r, len)} dev ${pick(['r0', 'r1', 'mv0'])} scope link`;
    else if (kind < 0.45) body = `${v4(r, len)} via 10.9.${Math.floor(r() * 255)}.${1 + Math.floor(r() * 250)} dev r0 onlink`;
    else if (kind < 0.6)
      body = `${v4(r, len)} nexthop via 10.0.0.${2 + Math.floor(r() * 200)} dev r0 weight ${1 + Math.floor(r() * 20)} nexthop via 10.1.0.${2 + Math.floor(r() * 200)} dev r1 weight ${1 + Math.floor(r() * 20)}`;
    else if (kind < 0.65) body = `${v4(r, len)} tos ${pick(['0x10', 'CS1', 'AF21', '0x08'])} via 10.0.0.9`;
    else if (kind < 0.7) body = `${pick(['local', 'broadcast'])} ${v4(r, len)} dev r0`;
    else
      body = `${v4(r, len)} via 10.0.${Math.floor(r() * 2)}.${2 + Math.floor(r() * 250)}${r() < 0.3 ? ` mtu ${1280 + Math.floor(r() * 200)}` : ''}${r() < 0.2 ? ` advmss ${1000 + Math.floor(r() * 200)}` : ''}${r() < 0.2 ? ` src 10.0.0.1` : ''}`;
    lines.push(place(body, `${table}${proto}${metric}`));
  }
  for (let i = 0; i < count; i++) {
    const len = Math.floor(r() * 129);
    const table = pick(TABLES);
    const proto = pick(PROTOS);
    const metric = r() < 0.5 ? ` metric ${Math.floor(r() * 5000)}` : '';
    const kind = r();
    let body: string;
    if (kind < 0.1) body = `${pick(['blackhole', 'unreachable', 'prohibit'])} ${v6(r, len)}`;
    else if (kind < 0.3) body = `${v6(r, len)} dev ${pick(['r0', 'r1', 'mv0'])}`;
    else if (kind < 0.5)
      body = `${v6(r, len)} nexthop via 2001:db8::${(2 + Math.floor(r() * 200)).toString(16)} dev r0 weight ${1 + Math.floor(r() * 20)} nexthop via 2001:db8:1::${(2 + Math.floor(r() * 200)).toString(16)} dev r1 weight ${1 + Math.floor(r() * 20)}`;
    else if (kind < 0.6) body = `${v6(r, len)} via 2001:db8::${(2 + Math.floor(r() * 200)).toString(16)} dev r0 pref ${pick(['low', 'medium', 'high'])}`;
    else
      body = `${v6(r, len)} via 2001:db8:1::${(2 + Math.floor(r() * 200)).toString(16)}${r() < 0.3 ? ` mtu ${1280 + Math.floor(r() * 200)}` : ''}${r() < 0.3 ? ` hoplimit ${1 + Math.floor(r() * 200)}` : ''}`;
    lines.push(place(body, `${table}${proto}${metric}`));
  }
  return lines;
}
