/**
 * The worker thread of {@link FanoutWorkers}: one PacketSocket, one member of the fanout group,
 * each batch's frames packed and posted (transferred) to the main thread while the main thread
 * consumes.
 * @packageDocumentation
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Subscription } from 'rxjs';
import { errorFields, WorkerError } from '../worker-threads';
import { packFrames, PackedFrames } from './frame-transfer';
import type { PacketSocketOptions } from './options';
import { LossEvent, PacketSocket, PacketStats } from './socket';

/** What the main thread sends. */
export type ToFanoutWorker = { type: 'start' } | { type: 'stop' } | { type: 'stats' } | { type: 'close' };
/** What a worker sends. */
export type FromFanoutWorker =
  | { type: 'ready'; group: number }
  | { type: 'batch'; frames: PackedFrames }
  | { type: 'loss'; loss: LossEvent }
  | { type: 'stats'; stats: PacketStats }
  | { type: 'closed'; stats: PacketStats }
  | { type: 'error'; error: WorkerError };

function run(port: NonNullable<typeof parentPort>, options: PacketSocketOptions): void {
  const post = (m: FromFanoutWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  const socket = PacketSocket.open(options);
  let sub: Subscription | null = null;
  const losses = socket.losses().subscribe((loss) => post({ type: 'loss', loss }));
  port.on('message', (m: ToFanoutWorker) => {
    if (m.type === 'start' && !sub) {
      sub = socket.batches().subscribe({
        next: (batch) => {
          const frames = packFrames(batch);
          post({ type: 'batch', frames }, [frames.fields.buffer as ArrayBuffer, frames.bytes]);
        },
        error: (e: unknown) => post({ type: 'error', error: errorFields(e) }),
      });
    } else if (m.type === 'stop') {
      sub?.unsubscribe();
      sub = null;
    } else if (m.type === 'stats') {
      post({ type: 'stats', stats: socket.stats() });
    } else if (m.type === 'close') {
      sub?.unsubscribe();
      losses.unsubscribe();
      socket.close();
      post({ type: 'closed', stats: socket.stats() });
      port.close();
    }
  });
  post({ type: 'ready', group: socket.fanoutGroup ?? -1 });
}

if (parentPort) {
  const port = parentPort;
  try {
    run(port, workerData as PacketSocketOptions);
  } catch (e) {
    port.postMessage({ type: 'error', error: errorFields(e) } satisfies FromFanoutWorker);
    port.close();
  }
}
