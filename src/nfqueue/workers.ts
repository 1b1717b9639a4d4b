/**
 * {@link QueueWorkers}: one queue per worker thread (the queues of an iptables `--queue-balance
 * from:to` rule), their judges' reports merged into one stream, their counters per queue.
 * @packageDocumentation
 */
import { isAbsolute } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Observable } from 'rxjs/internal/Observable';
import { guarded } from '../guarded';
import { Subject } from 'rxjs/internal/Subject';
import { reviveError, workerEntry } from '../worker-threads';
import { describe, int, optionsObject } from '../validate';
import { CancelOptions, cancellable, checkCancelOptions } from '../cancel';
import { NfQueueOptions, NfQueueStats } from './queue';
import type { FromWorker, ToWorker, WorkerSetup } from './worker';

/**
 * Options for {@link QueueWorkers.start}: a queue's options, and `signal`/`timeoutMs` for the whole
 * start (every worker stopped, nothing left bound, if they come before all the queues are bound).
 */
export interface QueueWorkersOptions extends Omit<NfQueueOptions, 'queue'> {
  /** The queues, one worker each (iptables -j NFQUEUE --queue-balance from:to). */
  queues: { from: number; to: number };
  /**
   * An absolute path to a module whose export (module.exports or default) is
   * `judge(packet: NfPacket, queue: NfQueue): unknown`, called in the worker for every packet. It
   * decides the packet (`queue.accept(packet)`, …) and may return a value to report (structured-cloned
   * to {@link QueueWorkers.reports}); undefined reports nothing.
   */
  module: string;
}

/** A report of a worker's judge. */
export interface QueueReport {
  readonly queue: number;
  readonly value: unknown;
}

/**
 * Worker threads running one NfQueue each: the whole consumer (read, judge, verdicts) on its own
 * thread, the judge being a module the worker loads.
 */
export class QueueWorkers {
  readonly queues: readonly number[];
  #workers = new Map<number, Worker>();
  #reports = new Subject<QueueReport>();
  // Answers awaited from each worker (stats, its last counters at close), settled in order.
  #waiting = new Map<number, { resolve(s: NfQueueStats): void; reject(e: Error): void }[]>();
  #closed = false;

  private constructor(queues: number[]) {
    this.queues = queues;
  }

  /**
   * Starts a worker per queue and resolves once every one has bound its queue.
   * @throws TypeError / RangeError for invalid options
   * @throws the first worker's failure (RingError, UnsupportedError, …) after stopping them all
   */
  static async start(o: QueueWorkersOptions): Promise<QueueWorkers> {
    optionsObject('QueueWorkers.start()', o);
    const range = optionsObject('queues', o.queues);
    const from = int('queues.from', range.from, 0, 0xffff);
    const to = int('queues.to', range.to, from, 0xffff);
    if (typeof o.module !== 'string' || !isAbsolute(o.module)) throw new TypeError(`module must be an absolute path, got ${describe(o.module)}`);
    // signal and timeoutMs act here, on the whole start (an AbortSignal cannot go to a thread).
    const { queues: _q, module, signal, timeoutMs, ...options } = o;
    void _q;
    checkCancelOptions({ signal, timeoutMs });
    signal?.throwIfAborted();
    const w = new QueueWorkers(Array.from({ length: to - from + 1 }, (_, k) => from + k));
    try {
      const all = () => Promise.all(w.queues.map((queue) => w.#spawn(queue, { module, options: { ...options, queue } })));
      await cancellable(all, { signal, timeoutMs }, 'the queue workers did not all bind their queues');
    } catch (e) {
      await w.close();
      throw e;
    }
    return w;
  }

  #spawn(queue: number, setup: WorkerSetup): Promise<void> {
    const worker = new Worker(workerEntry(__dirname, 'nfqueue', 'worker'), { workerData: setup });
    this.#workers.set(queue, worker);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'reports') for (const value of m.values) this.#reports.next({ queue, value });
        else if (m.type === 'stats' || m.type === 'closed') for (const w of this.#waiting.get(queue)?.splice(0) ?? []) w.resolve(m.stats);
        else {
          const e = reviveError(m.error);
          reject(e);
          this.#reports.error(e);
        }
      });
      worker.on('error', (e) => {
        reject(e);
        this.#reports.error(e);
      });
      worker.on('exit', () => {
        this.#workers.delete(queue);
        const e = new Error(`the worker of queue ${queue} exited`);
        reject(e);
        // Nothing awaits an answer that cannot come; a queue lost while running errors the stream.
        for (const w of this.#waiting.get(queue)?.splice(0) ?? []) w.reject(e);
        if (!this.#closed) this.#reports.error(e);
      });
    });
  }

  /** What the judges returned, tagged with their queue. Hot; errors with a worker's failure; completes on close. */
  reports(): Observable<QueueReport> {
    return guarded(this.#reports.asObservable());
  }

  /**
   * Each worker's counters, by queue. Rejects when a worker exits before it answers, or with the
   * abort reason or a timeout (a judge that never returns keeps its worker from answering).
   */
  async stats(options: CancelOptions = {}): Promise<Map<number, NfQueueStats>> {
    const entries = await cancellable(
      () => Promise.all([...this.#workers].map(([queue, worker]) => this.#ask(queue, worker, { type: 'stats' }).then((s) => [queue, s] as const))),
      options,
      'the queue workers did not answer',
    );
    return new Map(entries);
  }

  #ask(queue: number, worker: Worker, m: ToWorker): Promise<NfQueueStats> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(queue) ?? [];
      list.push({ resolve, reject });
      this.#waiting.set(queue, list);
      worker.postMessage(m);
    });
  }

  /** Closes every worker's queue (their last counters, by queue), ends the threads, completes {@link reports}. Idempotent. */
  async close(): Promise<Map<number, NfQueueStats>> {
    const last = new Map<number, NfQueueStats>();
    if (this.#closed) return last;
    this.#closed = true;
    await Promise.all(
      [...this.#workers].map(async ([queue, worker]) => {
        // A worker that does not answer within 5 s (its judge stuck) is ended without its counters.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<undefined>((r) => (timer = setTimeout(r, 5000, undefined)));
        const stats = await Promise.race([this.#ask(queue, worker, { type: 'close' }).catch(() => undefined), late]);
        clearTimeout(timer);
        if (stats) last.set(queue, stats);
        await worker.terminate();
      }),
    );
    this.#reports.complete();
    return last;
  }
}
