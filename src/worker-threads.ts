/**
 * What kring's worker-thread helpers ({@link QueueWorkers}, {@link FanoutWorkers}) share: where a
 * worker's entry file is, and errors crossing from a worker as instances of their class.
 * @internal
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RingError, UnsupportedError } from './errors';

/**
 * A worker entry `room/name.js`: beside the calling module when running compiled (`here` is its
 * `__dirname`), else — the TypeScript sources under a test runner — in the package's build.
 */
export function workerEntry(here: string, room: string, name: string): string {
  const beside = join(here, `${name}.js`);
  return existsSync(beside) ? beside : join(dirname(require.resolve('kring')), room, `${name}.js`);
}

/** An error's fields, as they cross to the main thread (RingError's and UnsupportedError's included). */
export interface WorkerError {
  name: string;
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  op?: string;
  hint?: string;
  feature?: string;
}

/** The fields of `e` that survive structured cloning and that {@link reviveError} restores. */
export function errorFields(e: unknown): WorkerError {
  const x = e as Record<string, unknown>;
  const out: Record<string, unknown> = { name: String(x?.name ?? 'Error'), message: String(x?.message ?? e) };
  for (const k of ['code', 'errno', 'syscall', 'op', 'hint', 'feature']) if (x?.[k] !== undefined) out[k] = x[k];
  return out as unknown as WorkerError;
}

/** A worker's error, again an instance of its class (RingError, UnsupportedError) with its fields. */
export function reviveError(e: WorkerError): Error {
  const proto = e.name === 'RingError' ? RingError.prototype : e.name === 'UnsupportedError' ? UnsupportedError.prototype : Error.prototype;
  return Object.assign(Object.create(proto) as Error, e);
}
