/**
 * The kernel's own counters of each queue: /proc/net/netfilter/nfnetlink_queue (one line per
 * queue, seq_printf in nfqnl_show_instance, net/netfilter/nfnetlink_queue.c), read through a
 * descriptor opened in the queue's namespace.
 * @packageDocumentation
 */
import { RingError } from '../errors';
import { native } from '../native';

/** One queue's line. */
export interface KernelQueueCounters {
  /** queue_total: packets waiting for a verdict. */
  readonly waiting: number;
  /** queue_dropped: packets dropped because the queue was full (not counted with failOpen, which lets them pass). */
  readonly queueDropped: number;
  /** queue_user_dropped: packets the kernel could not deliver to the socket (its buffer was full). */
  readonly userDropped: number;
  /** id_sequence: the last id handed out. */
  readonly idSequence: number;
}

const PATH = '/proc/thread-self/net/netfilter/nfnetlink_queue';

/** An open counters file; null when this kernel has none to open (ENOENT). */
export class QueueCountersFile {
  #fd: number;
  #buf = new Uint8Array(128 * 1024);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens the file in the namespace at `netns` (a path; null: this thread's). @throws RingError but ENOENT */
  static open(netns: string | null): QueueCountersFile | null {
    try {
      return new QueueCountersFile(native.krOpen({ path: PATH, netns, op: 'nfnetlink_queue counters' }));
    } catch (e) {
      if (e instanceof RingError && e.code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Every queue's counters, by queue number. @throws RingError */
  read(): Map<number, KernelQueueCounters> {
    const n = native.krPread(this.#fd, this.#buf, 'nfnetlink_queue counters');
    return parseQueueCounters(Buffer.from(this.#buf.buffer, 0, n).toString('latin1'));
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    native.krClose(fd, 'nfnetlink_queue counters');
  }
}

/** Parses the file's lines ("queue portid total copy_mode copy_range dropped user_dropped id_sequence 1"). */
export function parseQueueCounters(text: string): Map<number, KernelQueueCounters> {
  const out = new Map<number, KernelQueueCounters>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isInteger(x))) continue;
    out.set(f[0], { waiting: f[2], queueDropped: f[5], userDropped: f[6], idSequence: f[7] });
  }
  return out;
}
