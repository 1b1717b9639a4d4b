/**
 * tcpdump as the outside witness: a capture in a namespace, written to a pcap file, started and
 * awaited from tests.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tcpdump {
  /** Where the capture is written. */
  file: string;
  /** Resolves with the pcap file's bytes once tcpdump exited (after `count` packets, or stop()). */
  done: Promise<Buffer>;
  /** Ends the capture (SIGINT: tcpdump writes what it has and exits). */
  stop(): void;
}

const scratch: string[] = [];
process.once('exit', () => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A scratch directory for capture files, removed when the test process exits. */
export function scratchDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kring-test-'));
  scratch.push(d);
  return d;
}

/**
 * Starts `tcpdump -i IFACE -w FILE -U -c COUNT FILTER` in `ns` and resolves once it listens.
 * `nano`: --time-stamp-precision=nano (a nanosecond pcap).
 */
export async function startTcpdump(ns: string, iface: string, opts: { count?: number; filter?: string[]; nano?: boolean; file?: string }): Promise<Tcpdump> {
  const file = opts.file ?? join(scratchDir(), 'capture.pcap');
  const args = ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-w', file, '-U', '--immediate-mode', '-n', '-B', '16384'];
  if (opts.count) args.push('-c', String(opts.count));
  if (opts.nano) args.push('--time-stamp-precision=nano');
  args.push(...(opts.filter ?? []));
  const child: ChildProcess = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const done = new Promise<Buffer>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGINT') resolve(readFileSync(file));
      else reject(new Error(`tcpdump exited with ${code ?? signal}: ${stderr}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.on('exit', () => reject(new Error(`tcpdump did not start: ${stderr}`)));
  });
  return { file, done, stop: () => child.kill('SIGINT') };
}

/** The process's CPU time so far (user + system), in ms, from /proc/self/stat (clock ticks of 10 ms). */
export function cpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
