/**
 * The verdict book: which delivered packets are undecided, decided, or judged, and the messages a
 * flush sends. NFQNL_MSG_VERDICT_BATCH judges every packet still queued in the kernel with an id up
 * to (and including) its id (nfqnl_recv_verdict_batch walks the queue in id order, wrap-safe), so
 * a batch verdict is written only over a prefix of the delivered packets in delivery order (the
 * kernel's queue order) in which every packet was decided, and the verdicts go out in delivery
 * order (a flush never reorders a flow).
 * @packageDocumentation
 */
import { NFQNL_MSG_VERDICT, NFQNL_MSG_VERDICT_BATCH } from '../constants';

const UNDECIDED = 0;
const DECIDED = 1;
const JUDGED = 2;

/** A decision's options beyond the verdict: any of them makes the packet's verdict a single one. */
export interface VerdictExtras {
  /** NFQA_MARK: the packet's new mark. */
  mark?: number;
  /** NFQA_PAYLOAD: the packet's new bytes (the network header on; checksums are the caller's). */
  payload?: Uint8Array;
}

/** What a flush sends, in order: `type` is NFQNL_MSG_VERDICT or NFQNL_MSG_VERDICT_BATCH. */
export type VerdictSink = (type: number, queue: number, verdict: number, id: number, extras: VerdictExtras | undefined) => void;

/** Why {@link VerdictBook.decide} refused a decision. */
export class VerdictError extends Error {
  /** Always `'ERR_KRING_VERDICT'`. */
  readonly code = 'ERR_KRING_VERDICT';
  constructor(message: string) {
    super(message);
    this.name = 'VerdictError';
  }
}

/**
 * The packets of one queue, in delivery order: a ring of slots (typed arrays, grown by doubling).
 * Ids are the kernel's per-queue sequence (u32, wrapping). No allocation per packet: a packet's
 * slot is found from its id ({@link find}), not kept in a Map (whose table, grown and shrunk as a
 * backlog comes and goes, was reallocated again and again: fresh pages, a fault each).
 */
class QueueBook {
  ids = new Uint32Array(64);
  state = new Uint8Array(64);
  verdicts = new Uint32Array(64);
  extras: (VerdictExtras | undefined)[] = new Array(64).fill(undefined);
  head = 0;
  count = 0;
  /** The last id delivered, -1 before the first. */
  last = -1;
  /** Delivered packets not judged yet (decided ones included). */
  live = 0;
  decided = 0;

  push(id: number): void {
    if (this.count === this.ids.length) this.#grow();
    const slot = (this.head + this.count) % this.ids.length;
    this.ids[slot] = id;
    this.state[slot] = UNDECIDED;
    this.extras[slot] = undefined;
    this.count++;
    this.live++;
  }

  /**
   * The slot of packet `id` among those delivered and not trimmed, or -1. The kernel numbers a
   * packet and queues its message under one lock (`__nfqnl_enqueue_packet`), so delivery order is
   * id order: the slot is the id's distance from the oldest one when ids are consecutive, else
   * found by a binary search over those distances (gaps: packets the kernel could not deliver).
   * A producer that breaks the order (a fake kernel) is still answered, by a scan.
   */
  find(id: number): number {
    const n = this.ids.length;
    const c = this.count;
    if (c === 0) return -1;
    const base = this.ids[this.head];
    const d = (id - base) >>> 0;
    if (d < c) {
      const s = (this.head + d) % n;
      if (this.ids[s] === id) return s;
    }
    let lo = 0;
    let hi = c - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = (this.head + mid) % n;
      const dm = (this.ids[s] - base) >>> 0;
      if (dm === d) return s;
      if (dm < d) lo = mid + 1;
      else hi = mid - 1;
    }
    for (let k = 0; k < c; k++) {
      const s = (this.head + k) % n;
      if (this.ids[s] === id) return s;
    }
    return -1;
  }

  #grow(): void {
    const n = this.ids.length;
    const ids = new Uint32Array(n * 2);
    const state = new Uint8Array(n * 2);
    const verdicts = new Uint32Array(n * 2);
    const extras: (VerdictExtras | undefined)[] = new Array(n * 2).fill(undefined);
    for (let k = 0; k < this.count; k++) {
      const s = (this.head + k) % n;
      ids[k] = this.ids[s];
      state[k] = this.state[s];
      verdicts[k] = this.verdicts[s];
      extras[k] = this.extras[s];
    }
    Object.assign(this, { ids, state, verdicts, extras, head: 0 });
  }

  // Drops judged slots from the front.
  trim(): void {
    while (this.count > 0 && this.state[this.head] === JUDGED) {
      this.extras[this.head] = undefined;
      this.head = (this.head + 1) % this.ids.length;
      this.count--;
    }
  }
}

/** Every queue's book. */
export class VerdictBook {
  #queues = new Map<number, QueueBook>();

  /**
   * Records a delivered packet (in delivery order). Returns how many ids the kernel skipped since
   * the last packet delivered on `queue` (packets it could not deliver), 0 for the first.
   */
  deliver(queue: number, id: number): number {
    let q = this.#queues.get(queue);
    if (!q) this.#queues.set(queue, (q = new QueueBook()));
    const missing = q.last < 0 ? 0 : (id - q.last - 1) >>> 0;
    q.last = id;
    q.push(id);
    return missing;
  }

  /** Packets delivered and not yet judged (decided ones included). */
  get outstanding(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.live;
    return n;
  }

  /** Decided packets waiting for the next flush. */
  get decided(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.decided;
    return n;
  }

  /**
   * Records a decision. @throws VerdictError for a packet that was never delivered on `queue`, or
   * one already decided
   */
  decide(queue: number, id: number, verdict: number, extras?: VerdictExtras): void {
    const q = this.#queues.get(queue);
    const slot = q === undefined ? -1 : q.find(id);
    // One throw site: with two, TurboFan computed the messages' number-to-string conversions
    // (shared by both) ahead of the branches, on every call (1.3 % of an NFQUEUE consumer's user time).
    const state = q === undefined || slot < 0 ? JUDGED : q.state[slot];
    if (state !== UNDECIDED)
      throw new VerdictError(`packet ${id} of queue ${queue} ${state === DECIDED ? 'is decided already' : 'was not delivered, or is judged already'}`);
    q!.state[slot] = DECIDED;
    q!.verdicts[slot] = verdict >>> 0;
    q!.extras[slot] = extras;
    q!.decided++;
  }

  /**
   * Writes every decided packet's verdict to `sink`, in delivery order, and marks it judged. Over
   * the decided prefix, each run of packets with one plain verdict (no options) goes as one batch
   * verdict at the run's last id (everything before the run is judged by then, in this flush or an
   * earlier one, so the batch meets only the run); a run of one, a packet with options, and every
   * decided packet after the first undecided one go singly. Returns how many packets were judged.
   */
  flush(sink: VerdictSink): number {
    let judged = 0;
    for (const [queue, q] of this.#queues) {
      if (q.decided === 0) continue;
      const n = q.ids.length;
      let inPrefix = true;
      // The open run: its last slot, length, and verdict.
      let runLast = 0;
      let runLen = 0;
      let runVerdict = 0;
      const endRun = (): void => {
        if (runLen === 0) return;
        sink(runLen === 1 ? NFQNL_MSG_VERDICT : NFQNL_MSG_VERDICT_BATCH, queue, runVerdict, q.ids[runLast], undefined);
        runLen = 0;
      };
      for (let k = 0; k < q.count; k++) {
        const s = (q.head + k) % n;
        const state = q.state[s];
        if (state === JUDGED) continue;
        if (state === UNDECIDED) {
          if (inPrefix) endRun();
          inPrefix = false;
          continue;
        }
        const plain = q.extras[s] === undefined;
        if (inPrefix && plain) {
          if (runLen > 0 && runVerdict !== q.verdicts[s]) endRun();
          runVerdict = q.verdicts[s];
          runLast = s;
          runLen++;
        } else {
          if (inPrefix) endRun();
          sink(NFQNL_MSG_VERDICT, queue, q.verdicts[s], q.ids[s], q.extras[s]);
        }
        q.state[s] = JUDGED;
        q.live--;
        q.extras[s] = undefined;
        judged++;
      }
      if (inPrefix) endRun();
      q.decided = 0;
      q.trim();
    }
    return judged;
  }

  /** Forgets a queue's packets (the socket closed: the kernel reinjects or drops them itself). */
  clear(): void {
    this.#queues.clear();
  }
}
