/**
 * RX readers: turn a ring's user-ready slots into {@link FrameBatch}es. One per layout family:
 * V1/V2 take every consecutive ready frame slot at once; V3 takes one block and walks its frames.
 * Both run on the same {@link Ring} and its status vocabulary. No native call and no allocation
 * per frame: a few typed arrays per batch, a recv only for TP_STATUS_COPY frames; V3 makes one
 * native call per block (the walk).
 * @internal
 * @packageDocumentation
 */
import { BLK_PLUS_PRIV, TPACKET_ALIGN, TP_STATUS_COPY, TP_STATUS_LOSING } from '../constants';
import { tpacketV3, V3_WALK, v3FirstFrame, v3NumPackets, v3SequenceNumber } from '../layouts/tpacket-v3';
import { native, NativeWalkPlan, WALK_BYTES_PER_FRAME } from '../native';
import type { PacketFrameLayout, SlotLayout } from '../layouts/types';
import { Ring } from '../ring/ring';
import { BatchOwner, BlockBatch, FrameBatch, SlotBatch } from './batch';

/** What a reader needs from its socket. */
export interface ReaderHost {
  /** Reads the next queued datagram whole (`recv` with MSG_TRUNC into a buffer of `size`). */
  recvWhole(size: number): Buffer;
  /** A batch arrived with TP_STATUS_LOSING: the kernel dropped frames. */
  onLosing(): void;
  /** V3 blocks were skipped in sequence. */
  onSequenceGap(missing: number): void;
}

/**
 * Takes batches from a ring, and owns them until they are released: the socket asks it to give
 * every outstanding batch back (a consumer leaving) or to end their leases (close).
 */
export abstract class RxReader implements BatchOwner {
  abstract readonly ring: Ring<SlotLayout>;
  #outstanding = new Set<FrameBatch>();

  /** The next batch, or null when the kernel has handed over nothing new. */
  next(): FrameBatch | null {
    const b = this.take();
    if (b) this.#outstanding.add(b);
    return b;
  }

  /** Gives every outstanding batch's slots back (the consumer left). */
  releaseAll(): void {
    for (const b of [...this.#outstanding]) b.release();
  }

  /** Ends every outstanding lease without touching the ring (it is being unmapped). */
  expireAll(): void {
    for (const b of this.#outstanding) b._expire();
    this.#outstanding.clear();
    this.ring.dropHolds();
  }

  releaseBatch(batch: FrameBatch): void {
    this.#outstanding.delete(batch);
    this.giveBack(batch);
  }

  /** The layout family's take: the next batch from the ring. */
  protected abstract take(): FrameBatch | null;
  /** The layout family's release: the batch's slots back to the kernel. */
  protected abstract giveBack(batch: FrameBatch): void;
}

/** A V1/V2 batch's arrays, reused from batch to batch. */
interface SlotScratch {
  slots: Uint32Array;
  statuses: Uint32Array;
  offsets: Float64Array;
  lens: Uint32Array;
  caplens: Uint32Array;
  data: Float64Array;
}

/** A V3 batch's arrays, reused from block to block: views of one buffer the native walk fills. */
interface BlockScratch {
  buffer: ArrayBuffer;
  offsets: Float64Array;
  lens: Uint32Array;
  caplens: Uint32Array;
  data: Float64Array;
}

// The views of a walk's scratch, in the order native/walk.cc lays them out (each `max` long):
// header offsets, data offsets, word0 (tp_len), word1 (tp_snaplen).
function blockScratch(max: number): BlockScratch {
  const buffer = new ArrayBuffer(max * WALK_BYTES_PER_FRAME);
  return {
    buffer,
    offsets: new Float64Array(buffer, 0, max),
    data: new Float64Array(buffer, 8 * max, max),
    lens: new Uint32Array(buffer, 16 * max, max),
    caplens: new Uint32Array(buffer, 20 * max, max),
  };
}

/** TPACKET_V1/V2: each ring slot is one frame. */
export class FrameSlotReader extends RxReader {
  readonly ring: Ring<SlotLayout>;
  #dv: DataView;
  #buf: Uint8Array;
  #layout: PacketFrameLayout;
  #host: ReaderHost;
  #free: SlotScratch[] = [];

  constructor(ring: Ring<SlotLayout & PacketFrameLayout>, dv: DataView, buf: Uint8Array, host: ReaderHost) {
    super();
    this.ring = ring;
    this.#layout = ring.layout;
    this.#dv = dv;
    this.#buf = buf;
    this.#host = host;
  }

  protected take(): FrameBatch | null {
    // Scratch arrays come from a free list refilled by releases: in the steady state a batch
    // allocates only views, never a backing store.
    const size = this.ring.size;
    const scratch = this.#free.pop() ?? {
      slots: new Uint32Array(size),
      statuses: new Uint32Array(size),
      offsets: new Float64Array(size),
      lens: new Uint32Array(size),
      caplens: new Uint32Array(size),
      data: new Float64Array(size),
    };
    const n = this.ring.takeRx(this.ring.size, scratch.slots, scratch.statuses);
    if (n === 0) {
      this.#free.push(scratch);
      return null;
    }
    const slots = scratch.slots.subarray(0, n);
    const statuses = scratch.statuses.subarray(0, n);
    const offsets = scratch.offsets.subarray(0, n);
    const lens = scratch.lens.subarray(0, n);
    const caplens = scratch.caplens.subarray(0, n);
    const data = scratch.data.subarray(0, n);
    const layout = this.#layout;
    const dv = this.#dv;
    let copies: (Buffer | undefined)[] | null = null;
    let losing = false;
    for (let k = 0; k < n; k++) {
      const s = statuses[k];
      const at = this.ring.slotOffsets[slots[k]];
      offsets[k] = at;
      lens[k] = layout.len(dv, at);
      caplens[k] = layout.snaplen(dv, at);
      data[k] = at + layout.mac(dv, at);
      if (s & TP_STATUS_LOSING) losing = true;
      if (s & TP_STATUS_COPY) {
        // The kernel queued the whole packet on the socket before it set this frame's status
        // (tpacket_rcv), in frame order, so the next datagram is this frame's.
        copies ??= new Array(n);
        const whole = this.#host.recvWhole(lens[k]);
        copies[k] = whole;
        caplens[k] = whole.length;
      }
    }
    const batch = new SlotBatch(this, dv, this.#buf, layout, offsets, lens, caplens, data, statuses, slots, copies, losing);
    batch._scratch = scratch;
    if (losing) this.#host.onLosing();
    return batch;
  }

  protected giveBack(batch: SlotBatch): void {
    const slots = batch._slots;
    for (let k = 0; k < slots.length; k++) this.ring.releaseRx(slots[k]);
    if (this.#free.length < 4) this.#free.push(batch._scratch as SlotScratch);
  }
}

/** TPACKET_V3: each ring slot is a block of variable-size frames. */
export class BlockReader extends RxReader {
  readonly ring: Ring<SlotLayout>;
  #dv: DataView;
  #buf: Uint8Array;
  #host: ReaderHost;
  #idx = new Uint32Array(1);
  #st = new Uint32Array(1);
  #lastSeq = -1;
  #blockSize: number;
  #walk: NativeWalkPlan;
  #maxFrames: number;
  #free: BlockScratch[] = [];

  constructor(ring: Ring<SlotLayout>, blockSize: number, dv: DataView, buf: Uint8Array, host: ReaderHost) {
    super();
    this.ring = ring;
    this.#blockSize = blockSize;
    // The walk is native (one call per block): in JavaScript it cost about as much again as the
    // C reader's whole loop (docs/benchmarks.md). It is told the header's shape here, once.
    this.#walk = new native.WalkPlan({ buffer: buf.buffer as ArrayBuffer, ...V3_WALK });
    // The most frames a block can hold: each takes at least TPACKET_ALIGN(tp_hdrlen).
    this.#maxFrames = Math.ceil(blockSize / TPACKET_ALIGN(tpacketV3.hdrLen));
    this.#dv = dv;
    this.#buf = buf;
    this.#host = host;
  }

  protected take(): FrameBatch | null {
    for (;;) {
      if (this.ring.takeRx(1, this.#idx, this.#st) === 0) return null;
      const slot = this.#idx[0];
      const block = this.ring.slotOffsets[slot];
      const dv = this.#dv;
      const seq = v3SequenceNumber(dv, block);
      if (this.#lastSeq >= 0 && seq !== this.#lastSeq + 1) this.#host.onSequenceGap(seq - this.#lastSeq - 1);
      this.#lastSeq = seq;
      // A num_pkts beyond what the block can hold is damage: the walk cuts the batch where it shows.
      const n = Math.min(v3NumPackets(dv, block), this.#maxFrames);
      const first = v3FirstFrame(dv, block);
      const end = block + this.#blockSize;
      // The arrays come from a free list refilled by releases: no backing store is allocated per
      // block once the ring has turned over (the batch gets views).
      const scratch = this.#free.pop() ?? blockScratch(this.#maxFrames);
      // 0 frames: empty (the kernel does not retire empty blocks today) or damaged at the first
      // frame (before the block's private area, misaligned, or not fitting): give it straight back.
      const k = n === 0 || first < block + BLK_PLUS_PRIV(0) ? 0 : this.#walk.walk(first, end, n, scratch.buffer);
      if (k === 0) {
        this.#free.push(scratch);
        this.ring.releaseRx(slot);
        continue;
      }
      const losing = (this.#st[0] & TP_STATUS_LOSING) !== 0;
      const batch = new BlockBatch(
        this,
        dv,
        this.#buf,
        scratch.offsets.subarray(0, k),
        scratch.lens.subarray(0, k),
        scratch.caplens.subarray(0, k),
        scratch.data.subarray(0, k),
        slot,
        seq,
        losing,
      );
      batch._scratch = scratch;
      if (losing) this.#host.onLosing();
      return batch;
    }
  }

  protected giveBack(batch: BlockBatch): void {
    this.ring.releaseRx(batch._slot);
    if (this.#free.length < this.ring.size) this.#free.push(batch._scratch as BlockScratch);
  }
}
