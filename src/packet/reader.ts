/**
 * RX readers: turn a ring's user-ready slots into {@link FrameBatch}es. One per layout family:
 * V1/V2 take every consecutive ready frame slot at once; V3 takes one block and walks its frames.
 * Both run on the same {@link Ring} and its status vocabulary. No native call and no allocation
 * per frame: a few typed arrays per batch, a recv only for TP_STATUS_COPY frames.
 * @internal
 * @packageDocumentation
 */
import { TPACKET_ALIGN, TP_STATUS_COPY, V3_ALIGNMENT, TP_STATUS_LOSING } from '../constants';
import { TPACKET3_HDR, tpacketV3, v3FirstFrame, v3NumPackets, v3SequenceNumber } from '../layouts/tpacket-v3';
import type { PacketFrameLayout, SlotLayout } from '../layouts/types';

const TP3_STATUS_WORD = TPACKET3_HDR.tp_status >>> 2;
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
  #free: { slots: Uint32Array; statuses: Uint32Array; offsets: Float64Array }[] = [];

  constructor(ring: Ring<SlotLayout & PacketFrameLayout>, dv: DataView, buf: Uint8Array, host: ReaderHost) {
    this.ring = ring;
    this.#layout = ring.layout;
    this.#dv = dv;
    this.#buf = buf;
    this.#host = host;
  }

  next(): FrameBatch | null {
    // Scratch arrays come from a free list refilled by releases: in the steady state a batch
    // allocates only views, never a backing store.
    const scratch = this.#free.pop() ?? { slots: new Uint32Array(this.ring.size), statuses: new Uint32Array(this.ring.size), offsets: new Float64Array(this.ring.size) };
    const n = this.ring.takeRx(this.ring.size, scratch.slots, scratch.statuses);
    if (n === 0) {
      this.#free.push(scratch);
      return null;
    }
    const slots = scratch.slots.subarray(0, n);
    const statuses = scratch.statuses.subarray(0, n);
    const offsets = scratch.offsets.subarray(0, n);
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
    if (this.#free.length < 4) {
      this.#free.push({ slots: new Uint32Array(slots.buffer), statuses: new Uint32Array(batch._statuses.buffer), offsets: new Float64Array(batch._offsets.buffer) });
    }
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
  #u32: Uint32Array;
  #maxFrames: number;
  #free: { offsets: Float64Array; statuses: Uint32Array }[] = [];

  constructor(ring: Ring<SlotLayout>, blockSize: number, dv: DataView, buf: Uint8Array, host: ReaderHost) {
    this.ring = ring;
    this.#blockSize = blockSize;
    this.#u32 = new Uint32Array(buf.buffer, 0, buf.byteLength >>> 2);
    // The most frames a block can hold: each takes at least TPACKET_ALIGN(tp_hdrlen).
    this.#maxFrames = Math.ceil(blockSize / TPACKET_ALIGN(tpacketV3.hdrLen));
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
      // Scratch arrays come from a free list refilled by releases: no backing store is allocated
      // per block once the ring has turned over (the batch gets views of them).
      const scratch = this.#free.pop() ?? { offsets: new Float64Array(this.#maxFrames), statuses: new Uint32Array(this.#maxFrames) };
      const offsets = scratch.offsets.subarray(0, n);
      const statuses = scratch.statuses.subarray(0, n);
      // Frames are V3_ALIGNMENT (8-byte) aligned, so their 32-bit fields are read as aligned array
      // elements (the fastest load V8 has); tp_next_offset is word 0, tp_status word 5.
      const u32 = this.#u32;
      let at = v3FirstFrame(dv, block);
      const end = block + this.#blockSize;
      for (let k = 0; k < n; k++) {
        offsets[k] = at;
        const w = at >>> 2;
        // Plain read: inside a block we own, tp_status carries flags, not ownership.
        statuses[k] = u32[w + TP3_STATUS_WORD];
        const next = u32[w];
        if (k < n - 1 && (next === 0 || (next & (V3_ALIGNMENT - 1)) !== 0 || at + next >= end)) {
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
    const offsets = batch._offsets;
    const statuses = batch._statuses;
    if (offsets.buffer.byteLength === this.#maxFrames * 8 && this.#free.length < this.ring.size) {
      this.#free.push({ offsets: new Float64Array(offsets.buffer), statuses: new Uint32Array(statuses.buffer) });
    }
    this.#host.onRelease(batch);
  }
}
