/**
 * The worker thread of {@link QueueWorkers}: one NfQueue on one queue, each packet handed to the
 * user's judge (a module loaded here), what it returns posted back in one message per batch.
 * @packageDocumentation
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorFields as fields, WorkerError } from '../worker-threads';
import { NfPacket } from './packet';
import { NfQueue, NfQueueOptions } from './queue';

/** What the main thread sends. */
export type ToWorker = { type: 'stats' } | { type: 'close' };
/** What a worker sends. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'reports'; values: unknown[] }
  | { type: 'stats'; stats: ReturnType<NfQueue['stats']> }
  | { type: 'closed'; stats: ReturnType<NfQueue['stats']> }
  | { type: 'error'; error: WorkerError };
/** The worker's data. */
export interface WorkerSetup {
  module: string;
  options: NfQueueOptions;
}

type Judge = (packet: NfPacket, queue: NfQueue) => unknown;

async function run(port: NonNullable<typeof parentPort>, setup: WorkerSetup): Promise<void> {
  const post = (m: FromWorker) => port.postMessage(m);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(setup.module) as Judge | { default: Judge };
  const judge: Judge = typeof loaded === 'function' ? loaded : loaded.default;
  if (typeof judge !== 'function') throw new TypeError(`${setup.module} exports no judge function`);
  const q = await NfQueue.open(setup.options);
  const sub = q.batches().subscribe({
    next: (packets) => {
      const values: unknown[] = [];
      for (const p of packets) {
        const v = judge(p, q);
        if (v !== undefined) values.push(v);
      }
      if (values.length) post({ type: 'reports', values });
    },
    error: (e: unknown) => post({ type: 'error', error: fields(e) }),
  });
  port.on('message', (m: ToWorker) => {
    if (m.type === 'stats') post({ type: 'stats', stats: q.stats() });
    else {
      sub.unsubscribe();
      q.close();
      post({ type: 'closed', stats: q.stats() });
      port.close();
    }
  });
  post({ type: 'ready' });
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as WorkerSetup).catch((e: unknown) => {
    port.postMessage({ type: 'error', error: fields(e) } satisfies FromWorker);
    port.close();
  });
}
