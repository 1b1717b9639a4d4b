/**
 * The netlink ring consumer, the same for every ring: the kernel's (3.10–4.5) and kring's emulated
 * one. It takes VALID and COPY frames in ring order, resolves each COPY frame with exactly one
 * receive (in order, as docs/netlink-ring.md §5.3 requires), lets the caller hold a frame (parked as SKIP so the
 * producer steps over it) or release it, and finds the message inside a VALID frame, including the
 * offset dump chunks have on 4.3/4.4 kernels (docs/netlink-ring.md §8).
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { NETLINK_MAX_RECVMSG_LEN, NLMSG_GOODSIZE, NL_MMAP_HDRLEN, NL_MMAP_STATUS_COPY } from '../constants';
import { LeaseError } from '../errors';
import { decodeNlMmapHeader, nlMmap } from '../layouts/nl-mmap';
import { Ring } from '../ring/ring';
import { MessageCursor } from './message';
import { NLMSG_ALIGN, NLMSG_HDRLEN } from '../constants';

const { EAGAIN, ENOBUFS } = osConstants.errno;

/** Where frames come from: a kernel ring, or the emulated one. */
export interface NetlinkRingBackend {
  /** The consumer's generic ring over the RX frames. */
  readonly ring: Ring<typeof nlMmap>;
  /** The ring memory. */
  readonly buffer: ArrayBuffer;
  /** Lets the producer produce: the emulation's fill (one recvmmsg), the kernel's poll() (which also lets a dump go on). */
  produce(): void;
  /** The datagram behind the next COPY frame (recv), or an errno (ENOBUFS once after an overrun; EAGAIN). */
  recvCopy(length: number): Uint8Array | { errno: number };
  /**
   * Where a VALID frame's message starts, when the producer always puts it at one offset (the
   * emulation: NL_MMAP_HDRLEN). Absent for the kernel's ring, whose 4.3/4.4 dump chunks may sit
   * elsewhere: {@link locateMessage} finds them.
   */
  readonly messageOffset?: number;
}

/** One received frame. `data` of a VALID frame is a view into the ring: valid until released. */
export interface NetlinkFrame {
  /** Frame index in the ring. */
  readonly index: number;
  /** NL_MMAP_STATUS_VALID or NL_MMAP_STATUS_COPY, as taken. */
  readonly status: number;
  /** `nm_group`: the multicast group, 0 for unicast. */
  readonly group: number;
  /** `nm_pid`, `nm_uid`, `nm_gid`: the sender's credentials (0 for the kernel). */
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** The datagram: in place for VALID frames, the whole received datagram for COPY frames. */
  readonly data: Uint8Array;
}

/**
 * A {@link NetlinkFrame} as the reader makes it: the datagram is `[_at, _at + _len)` of `_dv` (the
 * ring's DataView for a VALID frame, shared by every frame; the received copy's for a COPY frame),
 * and `data` is a view of it made on first access, so a consumer that walks the messages through
 * `_dv` (NfQueue, a dump) allocates no typed array per frame.
 * @internal
 */
export class RingFrame implements NetlinkFrame {
  /** @internal the view once made (or the COPY frame's received datagram) */ _data: Uint8Array | null = null;
  constructor(
    readonly index: number,
    readonly status: number,
    readonly group: number,
    readonly pid: number,
    readonly uid: number,
    readonly gid: number,
    /** @internal */ readonly _dv: DataView,
    /** @internal */ readonly _at: number,
    /** @internal */ readonly _len: number,
  ) {}
  get data(): Uint8Array {
    if (this._data) return this._data;
    const b = this._dv.buffer;
    // First read after close(): the ring is detached; an empty view, as an earlier view now is.
    if (b.byteLength === 0) return new Uint8Array(0);
    return (this._data = new Uint8Array(b, this._dv.byteOffset + this._at, this._len));
  }
}

/**
 * A cursor over a frame's messages: through the frame's shared DataView when it has one (no
 * allocation but the cursor), else over its data.
 * @internal
 */
export function frameMessages(f: NetlinkFrame): MessageCursor {
  return f instanceof RingFrame ? new MessageCursor(f._dv, f._at, f._at + f._len) : new MessageCursor(f.data);
}

/**
 * Candidate allocation sizes of a trimmed 4.3/4.4 dump chunk: NLMSG_GOODSIZE as typical builds
 * have it (and as other cache-line and page sizes give it), then max_recvmsg_len values.
 */
const TRIMMED_ALLOC_SIZES = [NLMSG_GOODSIZE, 3840, 3904, 7872, NETLINK_MAX_RECVMSG_LEN, 32768];

/**
 * Finds the message of a VALID frame (docs/netlink-ring.md §8): at NL_MMAP_HDRLEN when a well-formed nlmsghdr chain
 * of exactly `len` bytes starts there; otherwise at `frameSize - allocSize` for the known
 * allocation sizes (4.3/4.4 trimmed dump chunks); otherwise the first 4-byte step where such a
 * chain starts. Returns the offset from the frame, or -1.
 */
export function locateMessage(view: Uint8Array, frame: number, frameSize: number, len: number): number {
  const fits = (off: number) => off >= NL_MMAP_HDRLEN && off + len <= frameSize && chainIsExactly(view, frame + off, len);
  if (len === 0 || fits(NL_MMAP_HDRLEN)) return NL_MMAP_HDRLEN;
  for (const alloc of TRIMMED_ALLOC_SIZES) if (fits(frameSize - alloc)) return frameSize - alloc;
  for (let off = NL_MMAP_HDRLEN + 4; off + len <= frameSize; off += 4) if (fits(off)) return off;
  return -1;
}

function chainIsExactly(view: Uint8Array, at: number, len: number): boolean {
  if (len < NLMSG_HDRLEN) return false;
  const m = new MessageCursor(new DataView(view.buffer, view.byteOffset + at, len));
  let total = 0;
  let last = 0;
  while (m.next()) {
    total = m.offset + NLMSG_ALIGN(m.len);
    last = m.offset + m.len;
  }
  return m.error === null && (total === len || last === len);
}

/** Reads frames from a {@link NetlinkRingBackend}. */
export class NetlinkReader {
  /** Overruns reported by the socket (ENOBUFS from a receive). */
  overruns = 0;
  /** Frames whose message could not be located (skipped, their frames released). */
  unreadable = 0;
  /** Other pending errors seen on a COPY receive (EMSGSIZE after an emulated truncation). */
  errors = 0;
  #b: NetlinkRingBackend;
  #bytes: Uint8Array;
  #dv: DataView;
  #idx: Uint32Array;
  #st: Uint32Array;
  #frameSize: number;
  /** 1 for each frame index handed out and not released (no Set: its table was reallocated as backlogs came and went). */
  #live: Uint8Array;

  constructor(backend: NetlinkRingBackend, frameSize: number) {
    this.#b = backend;
    this.#bytes = new Uint8Array(backend.buffer);
    this.#dv = new DataView(backend.buffer);
    this.#idx = new Uint32Array(backend.ring.size);
    this.#st = new Uint32Array(backend.ring.size);
    this.#frameSize = frameSize;
    this.#live = new Uint8Array(backend.ring.size);
  }

  /**
   * Lets the producer make progress, then takes every frame ready in ring order (stopping at the
   * first RESERVED or UNUSED one). COPY frames are received here, once each, in order.
   */
  read(): NetlinkFrame[] {
    this.#b.produce();
    const ring = this.#b.ring;
    const n = ring.takeRx(ring.size, this.#idx, this.#st);
    const out: NetlinkFrame[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.#idx[k];
      const at = ring.slotOffsets[i];
      const h = decodeNlMmapHeader(this.#dv, at);
      let frame: RingFrame;
      if (this.#st[k] === NL_MMAP_STATUS_COPY) {
        const data = this.#receive(h.len);
        frame = new RingFrame(i, this.#st[k], h.group, h.pid, h.uid, h.gid, new DataView(data.buffer, data.byteOffset, data.byteLength), 0, data.length);
        frame._data = data;
      } else {
        const off = this.#b.messageOffset ?? locateMessage(this.#bytes, at, this.#frameSize, h.len);
        if (off < 0) {
          this.unreadable++;
          ring.releaseRx(i);
          continue;
        }
        frame = new RingFrame(i, this.#st[k], h.group, h.pid, h.uid, h.gid, this.#dv, at + off, h.len);
      }
      this.#live[i] = 1;
      out.push(frame);
    }
    return out;
  }

  /** Keeps a frame while later ones are read: it is parked as SKIP, so the producer steps over it. */
  hold(frame: NetlinkFrame): void {
    if (this.#live[frame.index] !== 1) throw new LeaseError('a NetlinkFrame');
    this.#b.ring.parkRx(frame.index);
  }

  /** Hands a frame back (UNUSED). Frames may be released in any order. Idempotent. */
  release(frame: NetlinkFrame): void {
    if (this.#live[frame.index] !== 1) return;
    this.#live[frame.index] = 0;
    this.#b.ring.releaseRx(frame.index);
  }

  // One receive per COPY frame, never skipped: the queue and the ring must stay in step.
  #receive(length: number): Uint8Array {
    for (let tries = 0; tries < 4; tries++) {
      const r = this.#b.recvCopy(length);
      if (r instanceof Uint8Array) return r;
      if (r.errno === EAGAIN) break;
      // A pending error is answered once, before the data (sock_error()): count it, receive again.
      if (r.errno === ENOBUFS) this.overruns++;
      else this.errors++;
    }
    throw new Error(`the datagram behind a COPY frame was not queued (ring and queue out of step)`);
  }
}
