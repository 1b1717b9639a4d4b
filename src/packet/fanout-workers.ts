/**
 * {@link FanoutWorkers}: N members of one PACKET_FANOUT group, each a PacketSocket with its own
 * ring on its own worker thread, their frames merged into one Observable on the main thread.
 * @packageDocumentation
 */
import { Worker } from 'node:worker_threads';
import { Observable } from 'rxjs/internal/Observable';
import { GuardedObservable, guarded } from '../guarded';
import { Subject } from 'rxjs/internal/Subject';
import { int, optionsObject } from '../validate';
import { CancelOptions, cancellable, checkCancelOptions } from '../cancel';
import { reviveError, workerEntry } from '../worker-threads';
import type { Frame } from './batch';
import type { FromFanoutWorker, ToFanoutWorker } from './fanout-worker';
import { unpackFrames } from './frame-transfer';
import { FanoutOptions, normalizePacketOptions, PacketSocketOptions } from './options';
import type { LossEvent, PacketStats } from './socket';

/** Options for {@link FanoutWorkers.start}: a {@link PacketSocketOptions} for every member, and the group. */
export interface FanoutWorkersOptions extends Omit<PacketSocketOptions, 'fanout' | 'tx' | 'rx'>, CancelOptions {
  // signal, timeoutMs (CancelOptions): end start() (every member stopped) if they come first.
  /** How many members (threads), 1–64. */
  members: number;
  /** The group every member joins (`group` is required: members join one id). */
  fanout: Omit<FanoutOptions, 'uniqueId'> & { group: number };
}

/** One member's batch, copied out of its ring: safe to keep. */
export interface MemberBatch {
  /** Which member (0-based) received it. */
  readonly member: number;
  readonly frames: Frame[];
}

/** A member's totals. */
export interface MemberStats {
  readonly member: number;
  /** Batches and frames delivered to the main thread. */
  readonly batches: number;
  readonly frames: number;
  /** The member socket's PACKET_STATISTICS totals. */
  readonly kernel: PacketStats;
}

interface Member {
  worker: Worker;
  batches: number;
  frames: number;
  waiting: { resolve(s: PacketStats): void; reject(e: Error): void }[];
  /** Set when the thread exited: nothing asked of it can be answered. */
  exited: Error | null;
}

/**
 * Members of one fanout group on worker threads. Each member reads its own ring on its thread and
 * posts each batch, copied once, to the main thread, where {@link batches} merges them.
 */
export class FanoutWorkers {
  /** The group id. */
  readonly group: number;
  #members: Member[] = [];
  #batches = new Subject<MemberBatch>();
  #losses = new Subject<LossEvent & { member: number }>();
  #consumers = 0;
  #closed = false;

  private constructor(group: number) {
    this.group = group;
  }

  /**
   * Starts the members and resolves once every one has joined the group. Frames arriving before
   * {@link batches} is subscribed wait in the members' rings.
   * @throws TypeError / RangeError for invalid options (checked here, before any thread starts)
   * @throws the first member's failure (RingError, …) after stopping them all
   */
  static async start(o: FanoutWorkersOptions): Promise<FanoutWorkers> {
    optionsObject('FanoutWorkers.start()', o);
    const n = int('members', o.members, 1, 64);
    // signal and timeoutMs act here, on the whole start (an AbortSignal cannot go to a thread).
    const { members: _m, signal, timeoutMs, ...options } = o;
    void _m;
    checkCancelOptions({ signal, timeoutMs });
    normalizePacketOptions(options); // throws what the members would, before any thread starts
    if ((options.fanout as FanoutOptions).uniqueId) throw new RangeError('FanoutWorkers members join one group id: give fanout.group, not fanout.uniqueId');
    signal?.throwIfAborted();
    const w = new FanoutWorkers(options.fanout.group);
    try {
      const all = () => Promise.all(Array.from({ length: n }, (_, i) => w.#spawn(i, options)));
      await cancellable(all, { signal, timeoutMs }, 'the fanout members did not all join');
    } catch (e) {
      await w.close();
      throw e;
    }
    return w;
  }

  #spawn(index: number, options: PacketSocketOptions): Promise<void> {
    const worker = new Worker(workerEntry(__dirname, 'packet', 'fanout-worker'), { workerData: options });
    const member: Member = { worker, batches: 0, frames: 0, waiting: [], exited: null };
    this.#members[index] = member;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromFanoutWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'batch') {
          member.batches++;
          member.frames += m.frames.count;
          this.#batches.next({ member: index, frames: unpackFrames(m.frames) });
        } else if (m.type === 'loss') this.#losses.next({ ...m.loss, member: index });
        else if (m.type === 'stats' || m.type === 'closed') for (const w of member.waiting.splice(0)) w.resolve(m.stats);
        else {
          const e = reviveError(m.error);
          reject(e);
          this.#fail(e);
        }
      });
      worker.on('error', (e) => {
        reject(e);
        this.#fail(e);
      });
      worker.on('exit', () => {
        const e = new Error(`fanout member ${index} exited`);
        member.exited = e;
        reject(e);
        for (const w of member.waiting.splice(0)) w.reject(e);
        if (!this.#closed) this.#fail(e);
      });
    });
  }

  #fail(e: Error): void {
    this.#batches.error(e);
    this.#losses.error(e);
  }

  /** Members' threads. */
  get members(): number {
    return this.#members.length;
  }

  /**
   * Every member's batches, merged in arrival order on the main thread. The first subscription
   * starts the members reading (frames that arrived since start wait in their rings), the last
   * unsubscription stops them. Errors with a member's failure; completes on close.
   */
  batches(): Observable<MemberBatch> {
    return new GuardedObservable<MemberBatch>((subscriber) => {
      const sub = this.#batches.subscribe(subscriber);
      if (this.#consumers++ === 0) this.#post({ type: 'start' });
      return () => {
        sub.unsubscribe();
        if (--this.#consumers === 0 && !this.#closed) this.#post({ type: 'stop' });
      };
    });
  }

  /** Every member's losses ({@link PacketSocket.losses}), tagged with the member. Hot; completes on close. */
  losses(): Observable<LossEvent & { member: number }> {
    return guarded(this.#losses.asObservable());
  }

  /** Each member's totals. Rejects when a member exits before it answers, or with the abort reason or a timeout. */
  stats(options: CancelOptions = {}): Promise<MemberStats[]> {
    return cancellable(
      () => Promise.all(this.#members.map((m, i) => this.#ask(m, { type: 'stats' }).then((kernel) => this.#statsOf(i, kernel)))),
      options,
      'the fanout members did not answer',
    );
  }

  #statsOf(member: number, kernel: PacketStats): MemberStats {
    const m = this.#members[member];
    return { member, batches: m.batches, frames: m.frames, kernel };
  }

  #ask(m: Member, message: ToFanoutWorker): Promise<PacketStats> {
    if (m.exited) return Promise.reject(m.exited); // an exited thread answers nothing
    return new Promise((resolve, reject) => {
      m.waiting.push({ resolve, reject });
      m.worker.postMessage(message);
    });
  }

  #post(message: ToFanoutWorker): void {
    for (const m of this.#members) if (m) m.worker.postMessage(message);
  }

  /** Closes every member (their last totals), ends the threads, completes the streams. Idempotent. */
  async close(): Promise<MemberStats[]> {
    if (this.#closed) return [];
    this.#closed = true;
    const last: MemberStats[] = [];
    await Promise.all(
      this.#members.map(async (m, i) => {
        if (!m) return;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<undefined>((r) => (timer = setTimeout(r, 5000, undefined)));
        const kernel = await Promise.race([this.#ask(m, { type: 'close' }).catch(() => undefined), late]);
        clearTimeout(timer);
        if (kernel) last.push(this.#statsOf(i, kernel));
        await m.worker.terminate();
      }),
    );
    this.#batches.complete();
    this.#losses.complete();
    return last.sort((a, b) => a.member - b.member);
  }
}
