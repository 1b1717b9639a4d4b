/**
 * What every command of the CLI shares: its errors (a usage error exits 2, a command error with
 * ip's exit code), the options the rtnetlink commands have in common, and output with back-pressure.
 * @packageDocumentation
 */
import { AF_INET, AF_INET6 } from '../constants';
import type { AddressFamily } from '../rtnetlink/readers';
import type { Observable } from 'rxjs/internal/Observable';
/** A bad command line (exit code 2). */
export class UsageError extends Error {}

/** A command that failed the way `ip` fails for the same request: the message, and ip's exit code. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Options of the rtnetlink commands. */
export const common = {
  4: { type: 'boolean', short: '4' },
  6: { type: 'boolean', short: '6' },
  json: { type: 'boolean', short: 'j' },
  netns: { type: 'string', short: 'n' }, // -n NS: iproute2's spelling
} as const;

export function family(v: { 4?: boolean; 6?: boolean }): AddressFamily | undefined {
  if (v[4] && v[6]) throw new UsageError('-4 and -6 exclude each other');
  return v[4] ? AF_INET : v[6] ? AF_INET6 : undefined;
}

/** Writes to stdout, resolving once the stream took it (or drained). */
export function write(s: string): Promise<void> {
  return new Promise((resolve) => (process.stdout.write(s) ? resolve() : process.stdout.once('drain', resolve)));
}

/** A positive integer option (undefined when absent). @throws UsageError */
export function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Runs a streaming command: subscribes `next` to `source` until it calls `finish(code)`, a signal
 * comes (SIGINT, SIGTERM: exit 0) or the stream errors (its message on stderr, exit 1). `end`
 * runs once, after the subscription ended and before the promise resolves (summaries, close).
 */
export function untilDone<T>(source: Observable<T>, next: (value: T, finish: (code: number) => void) => void, end: () => void): Promise<number> {
  return new Promise<number>((resolve) => {
    let done = false;
    // Set once subscribed; a source that errors while subscribing finishes before that.
    const held: { sub?: { unsubscribe(): void } } = {};
    const finish = (code: number) => {
      if (done) return;
      done = true;
      held.sub?.unsubscribe();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      end();
      resolve(code);
    };
    const onSignal = () => finish(0);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    held.sub = source.subscribe({
      next: (v) => next(v, finish),
      error: (e) => {
        process.stderr.write(`kring: ${(e as Error).message}\n`);
        finish(1);
      },
    });
    if (done) held.sub.unsubscribe();
  });
}
