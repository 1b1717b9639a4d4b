/**
 * `Ring<Hdr>`: a ring of slots in one shared mapping, each slot headed by a status word that
 * passes ownership between the kernel and user space.
 *
 * The ring knows slot addresses and the status protocol of its layout ({@link SlotLayout}) and
 * nothing else: TPACKET_V1/V2 frames, TPACKET_V3 blocks and `nl_mmap_hdr` frames all run on this
 * class without a branch on which one it is.
 *
 * Memory ordering. The kernel writes a slot's contents, then its status with release semantics
 * (`__packet_set_status()`: `smp_wmb()` before the store, net/packet/af_packet.c at v6.18).
 * {@link Ring.status} is the matching acquire load: `Atomics.load` is sequentially consistent, so
 * no read of the slot's contents can be reordered before it. Handing a slot back is
 * {@link Ring.setStatus}, an `Atomics.store` (sequentially consistent, so at least release): every
 * read of the slot finishes before the kernel can see it free, pairing with the kernel's
 * `smp_rmb()` in `__packet_get_status()` before it reuses the slot. Never read or write a status
 * word through a DataView.
 *
 * A ring whose other side is not the kernel but JavaScript on the same thread is made with
 * `ordering: 'same-thread'`, and its status words are plain loads and stores: the emulated netlink
 * rings (src/netlink/emulated-rx.ts and emulated-tx.ts write every status word on the consumer's
 * thread; kring's receive thread writes payloads only, and its completion reaches this thread
 * through a mutex, which orders them: native/recv.cc). There is no other side to pair with, and
 * `Atomics.load`/`store` are builtin calls that V8 does not inline (6 % of an NFQUEUE consumer's
 * user time at 50k packets/s: docs/benchmarks.md).
 * @packageDocumentation
 */
import type { SlotLayout } from '../layouts/types';

/**
 * A ring of slots over one mapping.
 * @typeParam Hdr the slot header layout
 */
export class Ring<Hdr extends SlotLayout> {
  /** The layout that gives the status word's place and meaning. */
  readonly layout: Hdr;
  /** Byte offset of each slot in the mapping, in ring order. */
  readonly slotOffsets: Float64Array;
  /** Number of slots. */
  readonly size: number;
  /** The mapping's status words, as 32-bit cells, for Atomics. */
  #words: Int32Array;
  /** Index in #words of each slot's status word. */
  #statusAt: Uint32Array;
  /** 'same-thread': plain loads and stores (see the top of this file). */
  #plain: boolean;
  /** Slot index the next RX read looks at. */
  #head = 0;
  /** 1 while user space holds a slot it took from the ring (delivered, not yet released). */
  #held: Uint8Array;
  #heldCount = 0;
  /** Slot index the next TX write looks at. */
  #txHead = 0;
  /**
   * Parked slots the RX walk stepped over since it last took a slot at the head, in ring order
   * (see {@link takeRx}: released ones are looked at again before the head).
   */
  #stepped: number[] = [];

  /**
   * @param mapping the ring's mapping (the ring keeps views over it; after the mapping is
   *   detached every access throws)
   * @param slotOffsets byte offset of each slot
   * @param layout where the status word is and what it means
   * @param ordering 'kernel' (default): the kernel is the other side, status words are read and
   *   written with Atomics; 'same-thread': the other side runs on this thread (an emulated ring)
   */
  constructor(mapping: ArrayBuffer, slotOffsets: Float64Array, layout: Hdr, ordering: 'kernel' | 'same-thread' = 'kernel') {
    if (layout.statusOffset % 4 !== 0) throw new RangeError(`${layout.name}: status word offset must be a multiple of 4`);
    this.layout = layout;
    this.slotOffsets = slotOffsets;
    this.size = slotOffsets.length;
    this.#words = new Int32Array(mapping, 0, mapping.byteLength >>> 2);
    this.#statusAt = Uint32Array.from(slotOffsets, (o) => (o + layout.statusOffset) >>> 2);
    this.#held = new Uint8Array(this.size);
    this.#plain = ordering === 'same-thread';
  }

  /** Index of the slot the next {@link takeRx} looks at. */
  get head(): number {
    return this.#head;
  }

  /** How many slots user space holds. */
  get heldCount(): number {
    return this.#heldCount;
  }

  /**
   * The status word of slot `i`, loaded with acquire semantics: pairs with the kernel's release
   * store of the status after it filled the slot.
   */
  status(i: number): number {
    if (!this.#plain) return Atomics.load(this.#words, this.#statusAt[i]);
    const v = this.#words[this.#statusAt[i]];
    // A detached mapping (the ring is closed) reads as undefined: throw as Atomics.load does.
    if (v === undefined) throw detached();
    return v;
  }

  /**
   * Stores slot `i`'s status with release semantics: pairs with the kernel's acquire
   * (`smp_rmb()` after reading the status) before it touches the slot again.
   */
  setStatus(i: number, value: number): void {
    if (!this.#plain) {
      Atomics.store(this.#words, this.#statusAt[i], value);
      return;
    }
    const k = this.#statusAt[i];
    // A store to a detached mapping would be dropped silently: throw as Atomics.store does.
    if (k >= this.#words.length) throw detached();
    this.#words[k] = value;
  }

  /** RX: whether the slot at the head has been handed to user space and is not already held. */
  rxReady(): boolean {
    return this.#held[this.#head] === 0 && this.layout.rxUserReady(this.status(this.#head));
  }

  /**
   * RX: takes up to `max` consecutive user-ready slots from the head, marks them held and writes
   * their indices to `out` and their status words (as loaded) to `statuses`. Stops at the first
   * slot the kernel still owns or user space still holds (out-of-order release lets a later slot
   * come back before an earlier one, but the kernel fills in ring order, so the head waits), except
   * that a slot parked with the layout's `rxHeldStatus` is stepped over, as the kernel does.
   *
   * A stepped-over slot released later may be where the kernel writes next: netlink's COPY path
   * and dump flow control stop at a parked (SKIP) frame at the kernel's head instead of stepping
   * over it (af_netlink.c v4.4, netlink_alloc_skb vs. __netlink_sendskb's head check), so the kernel
   * can still be at that slot while this walk is past it. Such a released slot is therefore looked
   * at first; if instead the head slot is ready first, the kernel was past it, and it comes round
   * again in ring order.
   * @returns the number of slots taken
   */
  takeRx(max: number, out: Uint32Array, statuses?: Uint32Array): number {
    let n = 0;
    const held = this.#held;
    const ready = this.layout.rxUserReady;
    const stepped = this.#stepped;
    // Released slots the walk stepped over: the kernel writes the first of them next, if any.
    // Slots still parked stay listed (they may be released later); the kernel steps over them.
    for (let k = 0; k < stepped.length && n < max;) {
      const i = stepped[k];
      if (held[i] !== 0) {
        k++;
        continue;
      }
      const s = this.status(i);
      if (!ready(s)) break;
      stepped.splice(k, 1);
      held[i] = 1;
      out[n] = i;
      if (statuses) statuses[n] = s;
      n++;
    }
    const parked = this.layout.rxHeldStatus;
    for (let lap = 0; n < max;) {
      const i = this.#head;
      if (held[i] !== 0) {
        // A slot parked with rxHeldStatus (netlink SKIP) is stepped over, as the kernel's allocator
        // steps over it, at most one lap; any other held slot stops the walk (TPACKET: the kernel
        // cannot pass it either).
        if (parked === undefined || lap >= this.size || this.status(i) !== parked) break;
        lap++;
        if (!stepped.includes(i)) stepped.push(i);
        this.#head = i + 1 === this.size ? 0 : i + 1;
        continue;
      }
      const s = this.status(i);
      if (!ready(s)) break;
      // The kernel wrote past every slot stepped over so far: none of them is next any more.
      if (stepped.length !== 0) stepped.length = 0;
      held[i] = 1;
      out[n] = i;
      if (statuses) statuses[n] = s;
      n++;
      this.#head = i + 1 === this.size ? 0 : i + 1;
    }
    this.#heldCount += n;
    return n;
  }

  /** RX: hands held slot `i` back to the kernel. Releasing a slot that is not held does nothing. */
  releaseRx(i: number): void {
    if (this.#held[i] === 0) return;
    this.#held[i] = 0;
    this.#heldCount--;
    this.setStatus(i, this.layout.rxKernelStatus);
  }

  /**
   * RX: user space keeps held slot `i` past its batch. Layouts whose kernel can step over a kept
   * slot (`rxHeldStatus`: NL_MMAP_STATUS_SKIP) get that status stored with release semantics, so
   * later messages still land; for the others (TPACKET) the slot simply stays the user's.
   */
  parkRx(i: number): void {
    const held = this.layout.rxHeldStatus;
    if (this.#held[i] !== 0 && held !== undefined) this.setStatus(i, held);
  }

  /** Index of the slot the next {@link takeTx} looks at. */
  get txHead(): number {
    return this.#txHead;
  }

  /**
   * TX: the slot at the TX head if user space may fill it (the layout's `txUserReady`), advancing
   * the head; -1 when the kernel still owns it (the ring is full: flush, then wait). Slots are
   * filled strictly in ring order, because the kernel sends them in ring order from its own head.
   * @throws TypeError for a layout without a TX direction
   */
  takeTx(): number {
    const i = this.peekTx();
    if (i >= 0) this.#txHead = i + 1 === this.size ? 0 : i + 1;
    return i;
  }

  /** TX: moves the TX head past the slot {@link peekTx} returned (the caller filled it). */
  advanceTx(): void {
    const i = this.#txHead;
    this.#txHead = i + 1 === this.size ? 0 : i + 1;
  }

  /** TX: the slot {@link takeTx} would take, without taking it; -1 when the kernel still owns it. */
  peekTx(): number {
    const ready = this.layout.txUserReady;
    if (!ready) throw new TypeError(`${this.layout.name} has no TX direction`);
    const i = this.#txHead;
    return ready(this.status(i)) ? i : -1;
  }

  /** TX: hands filled slot `i` to the kernel (`txKernelStatus`), with release semantics: the slot's bytes are written before the kernel can see it. */
  submitTx(i: number): void {
    this.setStatus(i, this.layout.txKernelStatus!);
  }

  /** Forgets every hold without touching the mapping (after it is unmapped). */
  dropHolds(): void {
    this.#held.fill(0);
    this.#heldCount = 0;
    this.#stepped.length = 0;
  }
}

function detached(): TypeError {
  return new TypeError('the ring is closed (its mapping is detached)');
}
