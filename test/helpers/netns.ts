/**
 * Test topology: two network namespaces joined by a veth pair, created per suite with unique names
 * (all start with "kring") and removed in afterAll, on SIGINT/SIGTERM and at process exit, even when
 * a test fails. IPv6 is off and `lo` is up in both, so the only frames on the link are the test's.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface VethPair {
  /** Namespace that captures. */
  capNs: string;
  /** Namespace that sends. */
  genNs: string;
  /** Interface in capNs. */
  capIf: string;
  /** Interface in genNs. */
  genIf: string;
  capIfindex: number;
  genIfindex: number;
  capMac: Buffer;
  genMac: Buffer;
  /** Removes both namespaces (idempotent). */
  destroy(): void;
}

let counter = 0;
const live = new Set<string>();

function ip(args: string[], netns?: string): string {
  const argv = netns ? ['-n', netns, ...args] : args;
  return execFileSync('ip', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
}

function cleanupAll(): void {
  for (const ns of live) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  live.clear();
}
process.once('exit', cleanupAll);

function link(netns: string, ifname: string): { ifindex: number; mac: Buffer } {
  const j = JSON.parse(ip(['-j', 'link', 'show', 'dev', ifname], netns))[0];
  return { ifindex: j.ifindex, mac: Buffer.from(j.address.split(':').map((h: string) => parseInt(h, 16))) };
}

function sysctl(netns: string, key: string, value: string): void {
  execFileSync('ip', ['netns', 'exec', netns, 'sysctl', '-qw', `${key}=${value}`], { stdio: 'ignore' });
}

/** Creates a fresh capture/generator namespace pair joined by veth. */
export function createVethPair(opts: { mtu?: number } = {}): VethPair {
  const tag = `${process.pid.toString(36)}${(counter++).toString(36)}`;
  const capNs = `kring-${tag}-cap`;
  const genNs = `kring-${tag}-gen`;
  const capIf = `kc${tag}`.slice(0, 15);
  const genIf = `kg${tag}`.slice(0, 15);
  const destroy = () => {
    for (const ns of [capNs, genNs]) {
      if (!live.has(ns)) continue;
      live.delete(ns);
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const ns of [capNs, genNs]) {
      ip(['netns', 'add', ns]);
      live.add(ns);
      sysctl(ns, 'net.ipv6.conf.all.disable_ipv6', '1');
      sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', '1');
      ip(['link', 'set', 'lo', 'up'], ns);
    }
    ip(['link', 'add', genIf, 'type', 'veth', 'peer', 'name', capIf, 'netns', capNs], genNs);
    if (opts.mtu) {
      ip(['link', 'set', genIf, 'mtu', String(opts.mtu)], genNs);
      ip(['link', 'set', capIf, 'mtu', String(opts.mtu)], capNs);
    }
    ip(['link', 'set', genIf, 'up'], genNs);
    ip(['link', 'set', capIf, 'up'], capNs);
    const c = link(capNs, capIf);
    const g = link(genNs, genIf);
    return { capNs, genNs, capIf, genIf, capIfindex: c.ifindex, genIfindex: g.ifindex, capMac: c.mac, genMac: g.mac, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** rx_packets of an interface, from the kernel's counters. */
export function rxPackets(netns: string, ifname: string): number {
  const j = JSON.parse(ip(['-j', '-s', 'link', 'show', 'dev', ifname], netns))[0];
  return j.stats64.rx.packets;
}

/** A namespace of its own (IPv6 on, duplicate address detection off, `lo` up), removed like the pairs. */
export function createNamespace(): { ns: string; destroy(): void } {
  const ns = `kring-${process.pid.toString(36)}${(counter++).toString(36)}-rt`;
  const destroy = () => {
    if (!live.delete(ns)) return;
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  };
  try {
    ip(['netns', 'add', ns]);
    live.add(ns);
    // No DAD: addresses are final at once, so two listings taken moments apart agree.
    for (const k of ['all', 'default']) sysctl(ns, `net.ipv6.conf.${k}.accept_dad`, '0');
    ip(['link', 'set', 'lo', 'up'], ns);
    return { ns, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** `ip -n ns -batch -` with `lines`; `force` goes on past failing lines. Returns ip's stderr lines. */
export function ipBatch(ns: string, lines: string[], force = false): string[] {
  try {
    execFileSync('ip', ['-n', ns, ...(force ? ['-force'] : []), '-batch', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
    return [];
  } catch (e) {
    if (!force) throw e;
    return String((e as { stderr?: Buffer }).stderr ?? '')
      .split('\n')
      .filter(Boolean);
  }
}

/** `ip -n ns -j ARGS` parsed. */
export function ipJson(ns: string, args: string[]): unknown {
  return JSON.parse(ip(['-j', ...args], ns));
}

/**
 * Every route of `ns` as iproute2 lists it (`ip -j -4 route show table all` then `-6`), each record
 * as JSON text, sorted: the outside truth the route mirror is compared with.
 */
export function ipRoutesAll(ns: string): string[] {
  const both = [...(ipJson(ns, ['-4', 'route', 'show', 'table', 'all']) as unknown[]), ...(ipJson(ns, ['-6', 'route', 'show', 'table', 'all']) as unknown[])];
  return both.map((r) => JSON.stringify(r)).sort();
}

/** Runs a python3 script inside `ns` (`ip netns exec`), beside this process: its exit code resolves `exited`. */
export function spawnPython(ns: string, script: string, unbuffered = false): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', ...(unbuffered ? ['-u'] : []), '-c', script]);
  return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}
