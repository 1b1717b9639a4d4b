/**
 * Received frames: {@link FrameBatch} (the primary RX shape: one per wake-up on V1/V2, one per
 * block on V3), its zero-copy {@link FrameView} flyweight, and the copied {@link Frame}.
 * @packageDocumentation
 */
import {
  ETH_P_8021Q,
  TP_STATUS_COPY,
  TP_STATUS_CSUMNOTREADY,
  TP_STATUS_CSUM_VALID,
  TP_STATUS_LOSING,
  TP_STATUS_VLAN_TPID_VALID,
  TP_STATUS_VLAN_VALID,
} from '../constants';
import { LeaseError } from '../errors';
import { GATHER_CHUNK_BYTES, native } from '../native';
import { SOCKADDR_LL } from '../layouts/sockaddr-ll';
import type { PacketFrameLayout } from '../layouts/types';
import { tpacketV3 } from '../layouts/tpacket-v3';
import { TimestampSource, timestampSourceOf } from './timestamps';

/**
 * A received frame, copied out of the ring: safe to keep for as long as you like. Fields marked
 * "derived" are getters (computed on access, not enumerable).
 */
export interface Frame {
  /** The captured bytes (from the link-layer header in raw mode, the network header in dgram mode). */
  data: Buffer;
  /** Length of the packet on the wire (`tp_len`). */
  len: number;
  /** Bytes captured (`data.length`); less than `len` when truncated. Derived. */
  readonly caplen: number;
  /** Kernel receive timestamp, nanoseconds since the epoch (V1 rings have microsecond resolution). Derived. */
  readonly timestamp: bigint;
  /** Seconds part of the timestamp. */
  sec: number;
  /** Nanoseconds part of the timestamp (0–999,999,999). */
  nsec: number;
  /** Where the timestamp came from (the status's TP_STATUS_TS_* bits). Derived. */
  readonly timestampSource: TimestampSource;
  /** Interface index the frame was received on. */
  ifindex: number;
  /** Link-layer protocol (ethertype), host order. */
  protocol: number;
  /** `PACKET_HOST`, `PACKET_BROADCAST`, `PACKET_MULTICAST`, `PACKET_OTHERHOST`, `PACKET_OUTGOING`. */
  pkttype: number;
  /** ARPHRD_* hardware type (1 = Ethernet). */
  hatype: number;
  /** The source link-layer address (a new Buffer on each access). Derived. */
  readonly address: Buffer;
  /**
   * The 802.1Q/802.1ad tag the kernel stripped from the packet (it is not in `data`), or null.
   * Always null on V1, which has no field for it.
   */
  vlan: { tci: number; tpid: number } | null;
  /** The raw `tp_status` flag bits. */
  status: number;
  /** TP_STATUS_COPY: the ring held a truncated copy; `data` is the whole packet, read with recv. Derived. */
  readonly copied: boolean;
  /** TP_STATUS_LOSING: the kernel dropped packets since statistics were last read. */
  readonly losing: boolean;
  /** TP_STATUS_CSUMNOTREADY: checksum to be completed by hardware (typical for outgoing frames). */
  readonly csumNotReady: boolean;
  /** TP_STATUS_CSUM_VALID: checksum verified. */
  readonly csumValid: boolean;
  /** `caplen < len`. */
  readonly truncated: boolean;
  /** Flow hash (V3 with `rxhash: true`), else 0. */
  rxhash: number;
}

/** How a batch gives its slots back; implemented by the socket's reader, which owns its batches. @internal */
export interface BatchOwner {
  releaseBatch(batch: FrameBatch): void;
}

/**
 * The frames of one wake-up (V1/V2: a {@link SlotBatch}) or one block (V3: a {@link BlockBatch}),
 * viewed in place in the ring.
 *
 * Lease: the frames' memory belongs to the batch until {@link FrameBatch.release}. Inside an
 * observer's `next` callback kring releases the batch when the callback returns, unless
 * {@link FrameBatch.hold} was called, in which case the caller must release it. After release or
 * socket close, every accessor throws {@link LeaseError}; Uint8Arrays obtained from
 * {@link FrameView.data} must not be used after release either (after close they are detached).
 * Holding a batch keeps its ring slots from the kernel: hold briefly, or copy.
 */
export abstract class FrameBatch implements Iterable<FrameView> {
  /** V3 block sequence number (`seq_num`), or -1 on V1/V2. */
  readonly sequence: number;
  /** Whether any frame (V1/V2) or the block (V3) carried TP_STATUS_LOSING. */
  readonly losing: boolean;
  /** @internal */ readonly _dv: DataView;
  /** @internal */ readonly _buf: Uint8Array;
  /** @internal */ readonly _layout: PacketFrameLayout;
  /** @internal frame header offsets in the mapping */ readonly _offsets: Float64Array;
  /** @internal each frame's tp_len, read when the batch was taken */ readonly _lens: Uint32Array;
  /** @internal each frame's captured length (tp_snaplen, or the whole packet's for a COPY frame) */ readonly _caplens: Uint32Array;
  /** @internal where each frame's captured bytes start in the mapping (header + tp_mac) */ readonly _data: Float64Array;
  /** @internal whole packets for TP_STATUS_COPY frames (V1/V2) */ readonly _copies: (Buffer | undefined)[] | null;
  /** @internal queued by an async iterator, which releases it after its step */ _queued = false;
  /** @internal the reader's arrays this batch's views are of, back to its free list on release */ _scratch: unknown = null;
  /** @internal */ protected _length: number;
  #owner: BatchOwner;
  #released = false;
  #held = false;
  #view: FrameView | null = null;

  /** @internal Created by the socket's reader. */
  protected constructor(
    owner: BatchOwner,
    dv: DataView,
    buf: Uint8Array,
    layout: PacketFrameLayout,
    offsets: Float64Array,
    lens: Uint32Array,
    caplens: Uint32Array,
    data: Float64Array,
    length: number,
    copies: (Buffer | undefined)[] | null,
    sequence: number,
    losing: boolean,
  ) {
    this.#owner = owner;
    this._dv = dv;
    this._buf = buf;
    this._layout = layout;
    this._offsets = offsets;
    this._lens = lens;
    this._caplens = caplens;
    this._data = data;
    this._copies = copies;
    this._length = length;
    this.sequence = sequence;
    this.losing = losing;
  }

  /**
   * Number of frames. For a V3 block it is the kernel's `num_pkts`, or, for a malformed block (a
   * `tp_next_offset` that leaves the block), the frames before the damage.
   */
  get length(): number {
    return this._length;
  }

  /**
   * Every frame's wire length (`tp_len`), read in one pass when the batch was taken: the fast way
   * to look at a whole batch, one lease check for all frames instead of one per field. A view of
   * the batch's own memory: valid until the batch is released (like {@link FrameView.data}); copy
   * it to keep it.
   * @throws LeaseError after release
   */
  get lengths(): Uint32Array {
    this.#check();
    return this._lens;
  }

  /** Every frame's captured length (`tp_snaplen`; the whole packet's for a TP_STATUS_COPY frame), as {@link lengths}. */
  get caplens(): Uint32Array {
    this.#check();
    return this._caplens;
  }

  /**
   * Where every frame's captured bytes start in {@link bytes}: frame i's data is
   * `bytes.subarray(dataOffsets[i], dataOffsets[i] + caplens[i])`, except for a TP_STATUS_COPY
   * frame (V1/V2 with `copyThreshold`), whose whole packet is in {@link FrameView.data}. As
   * {@link lengths}.
   * @throws LeaseError after release
   */
  get dataOffsets(): Float64Array {
    this.#check();
    return this._data;
  }

  /** The ring's memory, which {@link dataOffsets} index. Valid as {@link lengths}. @throws LeaseError after release */
  get bytes(): Uint8Array {
    this.#check();
    return this._buf;
  }

  /** @internal `tp_status` of frame `i` (header at `at`). */
  abstract _status(i: number, at: number): number;

  /** Whether the lease has ended. */
  get released(): boolean {
    return this.#released;
  }

  /** Whether {@link hold} was called (kring will not release it after the callback). */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Keeps the batch past the observer callback (or the iterator step). The caller must then call
   * {@link release}; until then the kernel cannot reuse these slots, so later frames may be
   * dropped if the ring fills.
   * @throws LeaseError if already released
   */
  hold(): this {
    this.#check();
    this.#held = true;
    return this;
  }

  /** Ends the lease and hands the slots back to the kernel. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#owner.releaseBatch(this);
  }

  /** @internal Ends the lease without touching the ring (socket closing). */
  _expire(): void {
    this.#released = true;
  }

  /**
   * The frame at `index`, as a flyweight: the same object is repositioned on every call, so read
   * what you need before asking for the next one, or {@link FrameView.copy} it.
   * @throws LeaseError after release; RangeError for an index outside 0..length-1
   */
  frame(index: number): FrameView {
    this.#check();
    if (!(index >= 0 && index < this._length && Number.isInteger(index))) {
      throw new RangeError(`frame index ${index} is outside 0..${this._length - 1}`);
    }
    const v = (this.#view ??= new FrameView(this));
    v._i = index;
    return v;
  }

  /** Iterates the frames through the flyweight (see {@link frame}). */
  *[Symbol.iterator](): Iterator<FrameView> {
    for (let i = 0; i < this.length; i++) yield this.frame(i);
  }

  /**
   * Copies every frame out of the ring, header and bytes, into stores of at most 64 KiB shared by
   * consecutive frames: what {@link PacketSocket.frames} emits. A frame reads its header's fields
   * from its store when they are read, and makes its `data` view on first access; the stores are
   * recycled memory, taken back once collected.
   */
  copyAll(): Frame[] {
    this.#check();
    const n = this._length;
    const out: Frame[] = new Array(n);
    const caplens = this._caplens;
    const offsets = this._offsets;
    const at = this._data;
    const copies = this._copies;
    // What each frame takes in a store: its header up to its captured bytes, then those. Copying
    // the header (80 bytes or so) instead of reading a dozen fields out of it per frame: 8 % less
    // CPU per frame at 64 B, 4 % more at 1500 B, for a consumer that reads two (docs/benchmarks.md).
    if (spans.length < n) spans = new Uint32Array(Math.max(n, spans.length * 2));
    for (let k = 0; k < n; k++) spans[k] = at[k] - offsets[k] + caplens[k];
    // Runs of consecutive frames share a store of at most GATHER_CHUNK_BYTES (a frame larger than
    // that has its own): few stores per batch, none the size of a whole block (a multi-megabyte
    // buffer per block costs more than it saves). One native call copies a run (krGather: pooled
    // stores, no typed array per frame); TP_STATUS_COPY frames (V1/V2) come from their recv.
    for (let i = 0; i < n;) {
      let j = i;
      let size = 0;
      while (j < n && (j === i || size + spans[j] <= GATHER_CHUNK_BYTES)) size += spans[j++];
      let store: Buffer;
      if (copies === null) {
        store = Buffer.from(native.krGather(this._buf.buffer as ArrayBuffer, offsets.subarray(i, j), spans.subarray(i, j)));
      } else {
        store = Buffer.allocUnsafe(size);
        for (let k = i, pos = 0; k < j; pos += spans[k++]) {
          const c = copies[k];
          if (c === undefined) store.set(this._buf.subarray(offsets[k], offsets[k] + spans[k]), pos);
          else {
            store.set(this._buf.subarray(offsets[k], at[k]), pos);
            store.set(c, pos + at[k] - offsets[k]);
          }
        }
      }
      const run: GatheredRun = { store, dv: new DataView(store.buffer, store.byteOffset, store.byteLength), layout: this._layout };
      for (let pos = 0; i < j; i++) {
        out[i] = new GatheredFrame(run, pos, pos + at[i] - offsets[i], caplens[i], this._lens[i], this._status(i, offsets[i]));
        pos += spans[i];
      }
    }
    return out;
  }

  /** @internal */
  _check(): void {
    this.#check();
  }

  #check(): void {
    if (this.#released) throw new LeaseError('a FrameBatch or FrameView');
  }
}

/**
 * A TPACKET_V1/V2 batch: the consecutive ready frame slots of one wake-up, each frame's status as
 * the ring loaded it (with acquire semantics).
 */
export class SlotBatch extends FrameBatch {
  /** @internal tp_status of each frame as the ring loaded it */ readonly _statuses: Uint32Array;
  /** @internal ring slots to release */ readonly _slots: Uint32Array;

  /** @internal Created by the V1/V2 reader. */
  constructor(
    owner: BatchOwner,
    dv: DataView,
    buf: Uint8Array,
    layout: PacketFrameLayout,
    offsets: Float64Array,
    lens: Uint32Array,
    caplens: Uint32Array,
    data: Float64Array,
    statuses: Uint32Array,
    slots: Uint32Array,
    copies: (Buffer | undefined)[] | null,
    losing: boolean,
  ) {
    super(owner, dv, buf, layout, offsets, lens, caplens, data, offsets.length, copies, -1, losing);
    this._statuses = statuses;
    this._slots = slots;
  }

  /** @internal */
  _status(i: number): number {
    return this._statuses[i];
  }
}

/**
 * A TPACKET_V3 block: its frames, found by the reader's one walk along `tp_next_offset`, which read
 * each frame's lengths on the way while its header's cache line was loaded. A malformed block never
 * reads outside itself: the batch holds the frames before the damage.
 */
export class BlockBatch extends FrameBatch {
  /** @internal the block's ring slot */ readonly _slot: number;

  /** @internal Created by the V3 reader with the frames it walked. */
  constructor(
    owner: BatchOwner,
    dv: DataView,
    buf: Uint8Array,
    offsets: Float64Array,
    lens: Uint32Array,
    caplens: Uint32Array,
    data: Float64Array,
    slot: number,
    sequence: number,
    losing: boolean,
  ) {
    super(owner, dv, buf, tpacketV3, offsets, lens, caplens, data, offsets.length, null, sequence, losing);
    this._slot = slot;
  }

  /** @internal Inside a block user space owns, tp_status is not a synchronisation word: a plain read. */
  _status(_i: number, at: number): number {
    return this._layout.status(this._dv, at);
  }
}

/**
 * One frame of a {@link FrameBatch}, read in place. Every getter checks the batch's lease and
 * throws {@link LeaseError} after release. Getters that return numbers do not allocate.
 */
export class FrameView {
  /** @internal */ _i = 0;
  /** @internal */ readonly _b: FrameBatch;

  /** @internal */
  constructor(batch: FrameBatch) {
    this._b = batch;
  }

  #at(): number {
    this._b._check();
    return this._b._offsets[this._i];
  }

  /** Index of this frame in its batch. */
  get index(): number {
    return this._i;
  }
  /** Raw `tp_status` bits. */
  get status(): number {
    return this.#status(this.#at());
  }

  // V1/V2: the word the ring loaded with acquire semantics. V3: a plain read of the header's flags
  // (inside a block user space owns, tp_status is not a synchronisation word).
  #status(at: number): number {
    return this._b._status(this._i, at);
  }
  /** Wire length (`tp_len`). */
  get len(): number {
    this._b._check();
    return this._b._lens[this._i];
  }
  /** Captured length: `tp_snaplen`, or the whole packet's length for a TP_STATUS_COPY frame. */
  get caplen(): number {
    this._b._check();
    return this._b._caplens[this._i];
  }
  /** Whether `caplen < len`. */
  get truncated(): boolean {
    return this.caplen < this.len;
  }
  /** Timestamp seconds. */
  get sec(): number {
    return this._b._layout.sec(this._b._dv, this.#at());
  }
  /** Timestamp nanoseconds within the second. */
  get nsec(): number {
    return this._b._layout.nsec(this._b._dv, this.#at());
  }
  /** Timestamp in nanoseconds since the epoch (allocates a bigint). */
  get timestamp(): bigint {
    const at = this.#at();
    const l = this._b._layout;
    return BigInt(l.sec(this._b._dv, at)) * 1_000_000_000n + BigInt(l.nsec(this._b._dv, at));
  }
  /** Where the timestamp came from (the status's TP_STATUS_TS_* bits). */
  get timestampSource(): TimestampSource {
    return timestampSourceOf(this.#status(this.#at()));
  }
  /** Interface index (`sll_ifindex`). */
  get ifindex(): number {
    return this._b._dv.getInt32(this.#ll() + SOCKADDR_LL.sll_ifindex, true);
  }
  /** Ethertype, host order (`sll_protocol`). */
  get protocol(): number {
    return this._b._dv.getUint16(this.#ll() + SOCKADDR_LL.sll_protocol, false);
  }
  /** `sll_pkttype` */
  get pkttype(): number {
    return this._b._dv.getUint8(this.#ll() + SOCKADDR_LL.sll_pkttype);
  }
  /** `sll_hatype` */
  get hatype(): number {
    return this._b._dv.getUint16(this.#ll() + SOCKADDR_LL.sll_hatype, true);
  }
  /** Source link-layer address (a copy). */
  get address(): Buffer {
    const ll = this.#ll();
    const halen = Math.min(8, this._b._dv.getUint8(ll + SOCKADDR_LL.sll_halen));
    return Buffer.from(this._b._buf.subarray(ll + SOCKADDR_LL.sll_addr, ll + SOCKADDR_LL.sll_addr + halen));
  }
  /** VLAN TCI, or -1 when the packet had no tag (always -1 on V1). */
  get vlanTci(): number {
    const at = this.#at();
    return this.#status(at) & TP_STATUS_VLAN_VALID ? this._b._layout.vlanTci(this._b._dv, at) : -1;
  }
  /** VLAN TPID, or -1 when the packet had no tag. 0x8100 when the kernel did not report it. */
  get vlanTpid(): number {
    const at = this.#at();
    const s = this.#status(at);
    if (!(s & TP_STATUS_VLAN_VALID)) return -1;
    return s & TP_STATUS_VLAN_TPID_VALID ? this._b._layout.vlanTpid(this._b._dv, at) : ETH_P_8021Q;
  }
  /** Flow hash (V3 with rxhash), else 0. */
  get rxhash(): number {
    return this._b._layout.rxhash(this._b._dv, this.#at());
  }
  /**
   * The captured bytes, zero-copy: a view into the ring valid until the batch is released (for a
   * TP_STATUS_COPY frame, the whole packet read with recv). Allocates the view object only.
   */
  get data(): Uint8Array {
    const b = this._b;
    b._check();
    const c = b._copies?.[this._i];
    if (c) return c;
    const start = b._data[this._i];
    return b._buf.subarray(start, start + b._caplens[this._i]);
  }

  /**
   * Copies the frame out of the ring: one Buffer for the bytes and one object for the metadata
   * (the timestamp bigint and the address Buffer are made on first access).
   */
  copy(): Frame {
    const b = this._b;
    b._check();
    const i = this._i;
    let data = b._copies?.[i];
    if (!data) {
      const start = b._data[i];
      const n = b._caplens[i];
      data = Buffer.allocUnsafe(n);
      data.set(b._buf.subarray(start, start + n));
    }
    return capturedFrame(b, i, data, 0, data.length);
  }

  #ll(): number {
    return this.#at() + this._b._layout.sockaddrOffset;
  }
}

/**
 * Frame `i` of `b` as a {@link CapturedFrame}: its header's fields read now, its bytes
 * `store[start .. start + caplen]` (already copied there by the caller).
 */
function capturedFrame(b: FrameBatch, i: number, store: Buffer, start: number, caplen: number): CapturedFrame {
  const at = b._offsets[i];
  const l = b._layout;
  const dv = b._dv;
  const status = b._status(i, at);
  const ll = at + l.sockaddrOffset;
  let vlan: Frame['vlan'] = null;
  if (status & TP_STATUS_VLAN_VALID) vlan = { tci: l.vlanTci(dv, at), tpid: status & TP_STATUS_VLAN_TPID_VALID ? l.vlanTpid(dv, at) : ETH_P_8021Q };
  return new CapturedFrame(
    store,
    start,
    caplen,
    b._lens[i],
    l.sec(dv, at),
    l.nsec(dv, at),
    dv.getInt32(ll + SOCKADDR_LL.sll_ifindex, true),
    dv.getUint16(ll + SOCKADDR_LL.sll_protocol, false),
    dv.getUint8(ll + SOCKADDR_LL.sll_pkttype),
    dv.getUint16(ll + SOCKADDR_LL.sll_hatype, true),
    Math.min(8, dv.getUint8(ll + SOCKADDR_LL.sll_halen)),
    dv.getUint32(ll + SOCKADDR_LL.sll_addr, false),
    dv.getUint32(ll + SOCKADDR_LL.sll_addr + 4, false),
    vlan,
    status,
    l.rxhash(dv, at),
  );
}

/** The fields every copied {@link Frame} derives from its status, lengths and timestamp. @internal */
abstract class DerivedFields {
  abstract readonly status: number;
  abstract readonly len: number;
  abstract readonly caplen: number;
  abstract readonly sec: number;
  abstract readonly nsec: number;
  get timestamp(): bigint {
    return BigInt(this.sec) * 1_000_000_000n + BigInt(this.nsec);
  }
  get timestampSource(): TimestampSource {
    return timestampSourceOf(this.status);
  }
  get copied(): boolean {
    return (this.status & TP_STATUS_COPY) !== 0;
  }
  get losing(): boolean {
    return (this.status & TP_STATUS_LOSING) !== 0;
  }
  get csumNotReady(): boolean {
    return (this.status & TP_STATUS_CSUMNOTREADY) !== 0;
  }
  get csumValid(): boolean {
    return (this.status & TP_STATUS_CSUM_VALID) !== 0;
  }
  get truncated(): boolean {
    return this.caplen < this.len;
  }
}

/**
 * The {@link Frame} that {@link FrameView.copy} returns (and that crosses threads): its header's
 * fields read when it was made. Derived fields are getters. @internal
 */
export class CapturedFrame extends DerivedFields implements Frame {
  #store: Buffer;
  #start: number;
  #caplen: number;
  #data: Buffer | null = null;
  /**
   * The bytes are `store[start .. start + caplen]`: one store per batch copied (its frames share
   * it; each frame's `data` view is made on first access), or the frame's own buffer.
   */
  constructor(
    store: Buffer,
    start: number,
    caplen: number,
    readonly len: number,
    readonly sec: number,
    readonly nsec: number,
    readonly ifindex: number,
    readonly protocol: number,
    readonly pkttype: number,
    readonly hatype: number,
    /** @internal */ readonly _halen: number,
    /** @internal */ readonly _addrHi: number,
    /** @internal */ readonly _addrLo: number,
    readonly vlan: { tci: number; tpid: number } | null,
    readonly status: number,
    readonly rxhash: number,
  ) {
    super();
    this.#store = store;
    this.#start = start;
    this.#caplen = caplen;
  }
  get data(): Buffer {
    if (this.#data === null) {
      const s = this.#store;
      this.#data = this.#start === 0 && this.#caplen === s.length ? s : s.subarray(this.#start, this.#start + this.#caplen);
    }
    return this.#data;
  }
  get caplen(): number {
    return this.#caplen;
  }
  get address(): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32BE(this._addrHi, 0);
    b.writeUInt32BE(this._addrLo, 4);
    return b.subarray(0, this._halen);
  }
}

// Each frame's span in a store, for copyAll: module scratch (krGather reads it within the call), grown as batches need.
let spans = new Uint32Array(1024);

/** A store of frames copied by {@link FrameBatch.copyAll}: their headers and bytes, back to back. */
interface GatheredRun {
  store: Buffer;
  dv: DataView;
  layout: PacketFrameLayout;
}

/**
 * The {@link Frame} that {@link PacketSocket.frames} emits: its header was copied with its bytes,
 * and each field is read from that copy when it is read. Derived fields are getters. @internal
 */
class GatheredFrame extends DerivedFields implements Frame {
  readonly #run: GatheredRun;
  readonly #hdr: number;
  readonly #start: number;
  #data: Buffer | null = null;
  #vlan: Frame['vlan'] | undefined = undefined;
  constructor(
    run: GatheredRun,
    hdr: number,
    start: number,
    readonly caplen: number,
    readonly len: number,
    readonly status: number,
  ) {
    super();
    this.#run = run;
    this.#hdr = hdr;
    this.#start = start;
  }
  get data(): Buffer {
    return (this.#data ??= this.#run.store.subarray(this.#start, this.#start + this.caplen));
  }
  get sec(): number {
    return this.#run.layout.sec(this.#run.dv, this.#hdr);
  }
  get nsec(): number {
    return this.#run.layout.nsec(this.#run.dv, this.#hdr);
  }
  get ifindex(): number {
    return this.#run.dv.getInt32(this.#ll() + SOCKADDR_LL.sll_ifindex, true);
  }
  get protocol(): number {
    return this.#run.dv.getUint16(this.#ll() + SOCKADDR_LL.sll_protocol, false);
  }
  get pkttype(): number {
    return this.#run.dv.getUint8(this.#ll() + SOCKADDR_LL.sll_pkttype);
  }
  get hatype(): number {
    return this.#run.dv.getUint16(this.#ll() + SOCKADDR_LL.sll_hatype, true);
  }
  get address(): Buffer {
    const ll = this.#ll();
    const halen = Math.min(8, this.#run.dv.getUint8(ll + SOCKADDR_LL.sll_halen));
    return Buffer.from(this.#run.store.subarray(ll + SOCKADDR_LL.sll_addr, ll + SOCKADDR_LL.sll_addr + halen));
  }
  get vlan(): Frame['vlan'] {
    if (this.#vlan === undefined) {
      const { layout, dv } = this.#run;
      const s = this.status;
      this.#vlan =
        s & TP_STATUS_VLAN_VALID
          ? { tci: layout.vlanTci(dv, this.#hdr), tpid: s & TP_STATUS_VLAN_TPID_VALID ? layout.vlanTpid(dv, this.#hdr) : ETH_P_8021Q }
          : null;
    }
    return this.#vlan;
  }
  get rxhash(): number {
    return this.#run.layout.rxhash(this.#run.dv, this.#hdr);
  }
  #ll(): number {
    return this.#hdr + this.#run.layout.sockaddrOffset;
  }
}
