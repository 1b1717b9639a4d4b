/** `bin/kring.js` run as a child process, its output collected as it comes. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const KRING = join(__dirname, '..', '..', 'bin', 'kring.js');

export interface KringProcess {
  out(): string;
  err(): string;
  /** Resolves when `f()` holds, or after 10 s (the caller's expectations then fail with the output). */
  until(f: () => boolean): Promise<void>;
  /** SIGINT, then the exit code. */
  interrupt(): Promise<number | null>;
  /** SIGKILL (idempotent; for finally blocks). */
  kill(): void;
  /** The exit code, when the process ends by itself. */
  exited: Promise<number | null>;
}

/** Starts `kring ARGS` (`node -r PRELOAD` first when given, with `env` added to the environment). */
export function startKring(args: string[], opts: { preload?: string; env?: Record<string, string> } = {}): KringProcess {
  const argv = [...(opts.preload ? ['-r', opts.preload] : []), KRING, ...args];
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return {
    out: () => out,
    err: () => err,
    async until(f) {
      const deadline = Date.now() + 10_000;
      while (!f() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
    interrupt() {
      child.kill('SIGINT');
      return exited;
    },
    kill: () => void child.kill('SIGKILL'),
    exited,
  };
}
