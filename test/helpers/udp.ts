/**
 * UDP traffic the tests send and count themselves, from outside kring: a Python receiver bound in
 * one namespace (each datagram printed as hex), a Python sender in another.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
while True:
    print(s.recv(65535).hex(), flush=True)
`;

/** A receiver counting what reaches a UDP port in `ns`. */
export interface UdpReceiver {
  /** Datagrams received so far, in order. */
  readonly received: Buffer[];
  /** Waits until `n` datagrams came or `ms` passed; returns what came. */
  waitFor(n: number, ms: number): Promise<Buffer[]>;
  stop(): void;
}

export async function udpReceiver(ns: string, port: number): Promise<UdpReceiver> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', RECEIVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Buffer[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      if (l === 'ready') ready();
      else received.push(Buffer.from(l, 'hex'));
    }
  });
  await isReady;
  return {
    received,
    async waitFor(n, ms) {
      const until = Date.now() + ms;
      while (received.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return received.slice();
    },
    stop: () => void child.kill('SIGKILL'),
  };
}

/** Sends each payload as one datagram from `ns` to `dst:port` (from `src`, default any address, port 40000). */
export function sendUdp(ns: string, dst: string, port: number, payloads: Buffer[], src = '0.0.0.0'): void {
  const script = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('${src}', 40000))
for h in sys.argv[1:]:
    s.sendto(bytes.fromhex(h), ('${dst}', ${port}))`;
  execFileSync('ip', ['netns', 'exec', ns, 'python3', '-c', script, ...payloads.map((p) => p.toString('hex'))]);
}

/** The kernel's counters of a queue in `ns` (/proc/net/netfilter/nfnetlink_queue). */
export function queueCounters(
  ns: string,
  queue: number,
): { total: number; copyMode: number; copyRange: number; queueDropped: number; userDropped: number; idSequence: number } | undefined {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/netfilter/nfnetlink_queue'], { encoding: 'utf8' });
  for (const line of text.trim().split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f[0] === queue) return { total: f[2], copyMode: f[3], copyRange: f[4], queueDropped: f[5], userDropped: f[6], idSequence: f[7] };
  }
  return undefined;
}

/** Runs iptables-legacy in `ns`. */
export function iptables(ns: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'iptables-legacy', ...args], { encoding: 'utf8' });
}

/** The packet counter of rule `n` (1-based) of a chain. */
export function rulepackets(ns: string, table: string, chain: string, n: number): number {
  const out = iptables(ns, ['-t', table, '-L', chain, '-v', '-x', '-n', '--line-numbers']);
  const line = out.split('\n').find((l) => l.trim().startsWith(`${n} `));
  if (!line) throw new Error(`no rule ${n} in ${table} ${chain}:\n${out}`);
  return Number(line.trim().split(/\s+/)[1]);
}
