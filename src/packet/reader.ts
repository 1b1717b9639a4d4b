/**
 * RX readers: turn a ring's user-ready slots into {@link FrameBatch}es. One per layout family:
 * V1/V2 take every consecutive ready frame slot at once; V3 takes one block and walks its frames.
 * Both run on the same {@link Ring} and its status vocabulary. No native call and no allocation
 * per frame: a few typed arrays per batch, a recv only for TP_STATUS_COPY frames.
 * @internal
 * @packageDocumentation
 */
import { TP_STATUS_COPY, TP_STATUS_LOSING } from '../constants';
import { tpacketV3, v3FirstFrame, v3NextOffset, v3NumPackets, v3SequenceNumber } from '../layouts/tpacket-v3';
import type { PacketFrameLayout, SlotLayout } from '../layouts/types';
import { Ring } from '../ring/ring';
import { BatchOwner, FrameBatch } from './batch';

/** What a reader needs from its socket. */
export interface ReaderHost {
  /** Reads the next queued datagram whole (`recv` with MSG_TRUNC into a buffer of `size`). */
  recvWhole(size: number): Buffer;
  /** A batch arrived with TP_STATUS_LOSING: the kernel dropped frames. */
  onLosing(): void;
  /** V3 blocks were skipped in sequence. */
  onSequenceGap(missing: number): void;
  /** A batch's slots went back to the kernel. */
  onRelease(batch: FrameBatch): void;
}

/** Takes batches from a ring. */
export interface RxReader extends BatchOwner {
  readonly ring: Ring<SlotLayout>;
  /** The next batch, or null when the kernel has handed over nothing new. */
  next(): FrameBatch | null;
}

/** TPACKET_V1/V2: each ring slot is one frame. */
export class FrameSlotReader implements RxReader {
  readonly ring: Ring<SlotLayout>;
  #dv: DataView;
  #buf: Uint8Array;
  #layout: PacketFrameLayout;
  #host: ReaderHost;
  #idx: Uint32Array;
  #st: Uint32Array;

  constructor(ring: Ring<SlotLayout & PacketFrameLayout>, dv: DataView, buf: Uint8Array, host: ReaderHost) {
    this.ring = ring;
    this.#layout = ring.layout;
    this.#dv = dv;
    this.#buf = buf;
    this.#host = host;
    this.#idx = new Uint32Array(ring.size);
    this.#st = new Uint32Array(ring.size);
  }

  next(): FrameBatch | null {
    const n = this.ring.takeRx(this.ring.size, this.#idx, this.#st);
    if (n === 0) return null;
    const slots = this.#idx.slice(0, n);
    const statuses = this.#st.slice(0, n);
    const offsets = new Float64Array(n);
    let copies: (Buffer | undefined)[] | null = null;
    let losing = false;
    for (let k = 0; k < n; k++) {
      const s = statuses[k];
      offsets[k] = this.ring.slotOffsets[slots[k]];
      if (s & TP_STATUS_LOSING) losing = true;
      if (s & TP_STATUS_COPY) {
        // The kernel queued the whole packet on the socket before it set this frame's status
        // (tpacket_rcv), in frame order, so the next datagram is this frame's.
        copies ??= new Array(n);
        copies[k] = this.#host.recvWhole(this.#layout.len(this.#dv, offsets[k]));
      }
    }
    const batch = new FrameBatch(this, this.#dv, this.#buf, this.#layout, offsets, statuses, slots, copies, -1, losing);
    if (losing) this.#host.onLosing();
    return batch;
  }

  releaseBatch(batch: FrameBatch): void {
    const slots = batch._slots;
    for (let k = 0; k < slots.length; k++) this.ring.releaseRx(slots[k]);
    this.#host.onRelease(batch);
  }
}

/** TPACKET_V3: each ring slot is a block of variable-size frames. */
export class BlockReader implements RxReader {
  readonly ring: Ring<SlotLayout>;
  #dv: DataView;
  #buf: Uint8Array;
  #host: ReaderHost;
  #idx = new Uint32Array(1);
  #st = new Uint32Array(1);
  #lastSeq = -1;
  #blockSize: number;

  constructor(ring: Ring<SlotLayout>, blockSize: number, dv: DataView, buf: Uint8Array, host: ReaderHost) {
    this.ring = ring;
    this.#blockSize = blockSize;
    this.#dv = dv;
    this.#buf = buf;
    this.#host = host;
  }

  next(): FrameBatch | null {
    for (;;) {
      if (this.ring.takeRx(1, this.#idx, this.#st) === 0) return null;
      const slot = this.#idx[0];
      const block = this.ring.slotOffsets[slot];
      const dv = this.#dv;
      const seq = v3SequenceNumber(dv, block);
      if (this.#lastSeq >= 0 && seq !== this.#lastSeq + 1) this.#host.onSequenceGap(seq - this.#lastSeq - 1);
      this.#lastSeq = seq;
      const n = v3NumPackets(dv, block);
      if (n === 0) {
        // The kernel does not retire empty blocks today; if one comes, give it straight back.
        this.ring.releaseRx(slot);
        continue;
      }
      const offsets = new Float64Array(n);
      const statuses = new Uint32Array(n);
      let at = v3FirstFrame(dv, block);
      const end = block + this.#blockSize;
      for (let k = 0; k < n; k++) {
        offsets[k] = at;
        // Plain read: inside a block we own, tp_status carries flags, not ownership.
        statuses[k] = tpacketV3.status(dv, at);
        const next = v3NextOffset(dv, at);
        if (k < n - 1 && (next === 0 || at + next >= end)) {
          // A malformed block never reads outside itself: keep the frames walked so far.
          return this.#batch(slot, offsets.subarray(0, k + 1), statuses.subarray(0, k + 1), seq);
        }
        at += next;
      }
      return this.#batch(slot, offsets, statuses, seq);
    }
  }

  #batch(slot: number, offsets: Float64Array, statuses: Uint32Array, seq: number): FrameBatch {
    const losing = (this.#st[0] & TP_STATUS_LOSING) !== 0;
    const batch = new FrameBatch(this, this.#dv, this.#buf, tpacketV3, offsets, statuses, Uint32Array.of(slot), null, seq, losing);
    if (losing) this.#host.onLosing();
    return batch;
  }

  releaseBatch(batch: FrameBatch): void {
    this.ring.releaseRx(batch._slots[0]);
    this.#host.onRelease(batch);
  }
}
