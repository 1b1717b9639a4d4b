/**
 * A batched writer for TX rings, generic over {@link Ring}: fill free slots in ring order, then
 * one kick per batch. Header layouts differ only in where the payload starts and how its length is
 * recorded, which the caller supplies: netlink's emulated and kernel rings and the AF_PACKET TX
 * ring (src/packet/tx.ts) use it.
 * @packageDocumentation
 */
import type { SlotLayout } from '../layouts/types';
import { Ring } from './ring';

/** How a {@link RingWriter} reaches its ring and its kernel. */
export interface RingWriterTarget<Hdr extends SlotLayout> {
  readonly ring: Ring<Hdr>;
  /** The ring memory. */
  readonly buffer: ArrayBuffer;
  /** Where a slot's payload starts, from the slot (NL_MMAP_HDRLEN for netlink). */
  readonly payloadOffset: number;
  /** Payload bytes a slot holds. */
  readonly capacity: number;
  /** Records the payload length in the slot header (everything but the status). */
  writeLength(dv: DataView, at: number, length: number): void;
  /** Tells the kernel to send what was submitted: one call per batch. Returns frames sent. */
  kick(): number;
}

/** Fill-then-flush writer over a TX ring. */
export class RingWriter<Hdr extends SlotLayout> {
  #t: RingWriterTarget<Hdr>;
  #bytes: Uint8Array;
  #dv: DataView;
  #pending = 0;
  #views: (Uint8Array | undefined)[] = [];
  #observer: ((payload: Uint8Array) => void) | null = null;

  constructor(target: RingWriterTarget<Hdr>) {
    this.#t = target;
    this.#bytes = new Uint8Array(target.buffer);
    this.#dv = new DataView(target.buffer);
  }

  /** Payload bytes a slot holds: the largest message {@link tryWrite} takes. */
  get capacity(): number {
    return this.#t.capacity;
  }

  /** Slots submitted since the last flush. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Copies `payload` into the next free slot and submits it (no syscall). False when the ring has
   * no free slot: flush, and wait for the kernel to free slots, before writing more.
   * @throws RangeError when `payload` is larger than a slot
   */
  tryWrite(payload: Uint8Array): boolean {
    const i = this.#free(payload.length);
    if (i < 0) return false;
    this.#bytes.set(payload, this.#t.ring.slotOffsets[i] + this.#t.payloadOffset);
    this.#submit(i, payload.length);
    return true;
  }

  /**
   * Like {@link tryWrite}, but `fill` writes the `length` payload bytes itself, in place in the
   * slot (a view valid during the call only). If `fill` throws, nothing is submitted and the slot
   * stays free.
   * @throws RangeError when `length` is larger than a slot
   */
  tryWriteWith(length: number, fill: (payload: Uint8Array) => void): boolean {
    const i = this.#free(length);
    if (i < 0) return false;
    // One view per slot, made again only when the length changes: a steady stream of one frame
    // size allocates nothing per write once the ring has gone round.
    let view = this.#views[i];
    if (view === undefined || view.length !== length) {
      const start = this.#t.ring.slotOffsets[i] + this.#t.payloadOffset;
      view = this.#views[i] = this.#bytes.subarray(start, start + length);
    }
    fill(view);
    this.#submit(i, length);
    return true;
  }

  // The free slot at the head (not taken yet: a fill that throws leaves it free), or -1 when the ring is full.
  #free(length: number): number {
    const t = this.#t;
    if (length > t.capacity) throw new RangeError(`a ${length}-byte message does not fit a ${t.capacity}-byte slot`);
    return t.ring.peekTx();
  }

  /**
   * Calls `f` with each payload as it is submitted (a view of the slot, valid during the call):
   * what a trace records. One observer; null removes it.
   * @internal
   */
  observe(f: ((payload: Uint8Array) => void) | null): void {
    this.#observer = f;
  }

  // Takes the head slot `i` (the one #free returned) and hands it to the kernel.
  #submit(i: number, length: number): void {
    const t = this.#t;
    if (this.#observer) {
      const start = t.ring.slotOffsets[i] + t.payloadOffset;
      this.#observer(this.#bytes.subarray(start, start + length));
    }
    t.writeLength(this.#dv, t.ring.slotOffsets[i], length);
    t.ring.advanceTx();
    t.ring.submitTx(i);
    this.#pending++;
  }

  /** One kick for everything submitted. Returns frames sent. */
  flush(): number {
    if (this.#pending === 0) return 0;
    this.#pending = 0;
    return this.#t.kick();
  }

  /**
   * Writes every payload: fills, flushes when the ring is full and once at the end. With
   * `waitWritable` the writer awaits it when a flush frees nothing (a kernel that sends later),
   * instead of spinning; without it, a ring still full after a flush is an error.
   */
  async writeAll(payloads: Iterable<Uint8Array>, waitWritable?: () => Promise<void>): Promise<number> {
    let sent = 0;
    for (const p of payloads) {
      while (!this.tryWrite(p)) {
        sent += this.flush();
        if (this.tryWrite(p)) break;
        if (!waitWritable) throw new Error('TX ring still full after a flush');
        await waitWritable();
      }
    }
    return sent + this.flush();
  }
}
