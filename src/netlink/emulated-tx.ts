/**
 * The emulated NETLINK_TX_RING (docs/netlink-ring.md §3.2 and §7): user space fills frames and marks them VALID;
 * {@link EmulatedTxRing.send} walks VALID frames from the emulated kernel's TX head with 4.5's rules
 * and sends them in one sendmmsg, one datagram per frame, marking each UNUSED once it is sent.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { NL_MMAP_HDRLEN, NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_VALID } from '../constants';
import { NL_MMAP_HDR, nlMmap } from '../layouts/nl-mmap';
import { RingError } from '../errors';
import { NativeSendPlan, native } from '../native';
import type { RingGeometry } from '../layouts/types';
import { Ring } from '../ring/ring';
import { nlRingMemory } from './ring-memory';
import { RingWriter } from '../ring/writer';

const { EINVAL, ENOBUFS, ENOMEM, EAGAIN } = osConstants.errno;

/** What one {@link EmulatedTxRing.send} did. */
export interface TxResult {
  /** Frames sent (a documented extension: the kernel reports only bytes or the error). */
  sent: number;
  /** Bytes sent. */
  bytes: number;
  /** The error that stopped the walk, or 0. */
  errno: number;
}

/** The emulated kernel side of a TX ring over a netlink socket's fd. */
export class EmulatedTxRing {
  readonly buffer: ArrayBuffer;
  /** The generic ring over the frames (user side: takeTx/submitTx, or {@link writer}). */
  readonly ring: Ring<typeof nlMmap>;
  /** Frame payload capacity: frame_size - NL_MMAP_HDRLEN. */
  readonly capacity: number;
  #fd: number;
  #dv: DataView;
  #head = 0;
  #offsets: Float64Array;
  #lengths: Uint32Array;
  #frames: Uint32Array;
  #plans = new Map<Uint8Array | null, NativeSendPlan>();

  /** @throws TypeError / RangeError for a geometry the kernel would refuse */
  constructor(fd: number, geometry: RingGeometry, pageSize = 4096) {
    const mem = nlRingMemory(geometry, pageSize, 'NETLINK_TX_RING');
    this.#fd = fd;
    this.buffer = mem.buffer;
    this.#dv = mem.dv;
    this.ring = mem.ring;
    this.capacity = mem.capacity;
    this.#offsets = new Float64Array(this.ring.size);
    this.#lengths = new Uint32Array(this.ring.size);
    this.#frames = new Uint32Array(this.ring.size);
  }

  // The send plan for one destination (there is one per socket, or one per NFQUEUE writer: a few).
  #plan(address: Uint8Array | null): NativeSendPlan {
    let plan = this.#plans.get(address);
    if (!plan) {
      plan = new native.SendPlan({ fd: this.#fd, buffer: this.buffer, offsets: this.#offsets, lengths: this.#lengths, address, op: 'NETLINK_TX_RING' });
      this.#plans.set(address, plan);
    }
    return plan;
  }

  /** The emulated kernel's TX head. */
  get head(): number {
    return this.#head;
  }

  /** Detaches the ring's memory (stale views and writers then throw TypeError) and unmaps it. Idempotent; the fd is the owner's. */
  close(): void {
    native.krMunmap(this.buffer, 'NETLINK_TX_RING');
  }

  /** A fill-then-flush writer whose kick is {@link send}. */
  writer(address: Uint8Array | null = null): RingWriter<typeof nlMmap> {
    return new RingWriter({
      ring: this.ring,
      buffer: this.buffer,
      payloadOffset: NL_MMAP_HDRLEN,
      capacity: this.capacity,
      writeLength: (dv, at, len) => dv.setUint32(at + NL_MMAP_HDR.nm_len, len, true),
      kick: () => this.send(address).sent,
    });
  }

  /**
   * sendto(fd, NULL, 0) on the emulated ring: from the TX head, every VALID frame (stopping at the
   * first that is not) goes out in one sendmmsg to `address` (a sockaddr_nl; default: the kernel).
   * An nm_len larger than a frame stops the walk with EINVAL, that frame left VALID. A send error
   * on a frame: ENOBUFS/ENOMEM/EAGAIN leave it VALID; any other loses it (UNUSED), as the kernel
   * does. Frames sent before the error are reported in `sent`.
   */
  send(address: Uint8Array | null = null): TxResult {
    const ring = this.ring;
    const result: TxResult = { sent: 0, bytes: 0, errno: 0 };
    // Collect the run of VALID frames, reading each nm_len once (the kernel's single fetch).
    let n = 0;
    for (let i = this.#head; n < ring.size && ring.status(i) === NL_MMAP_STATUS_VALID; i = i + 1 === ring.size ? 0 : i + 1) {
      const len = this.#dv.getUint32(ring.slotOffsets[i] + NL_MMAP_HDR.nm_len, true);
      if (len > this.capacity) {
        result.errno = EINVAL;
        break;
      }
      this.#frames[n] = i;
      this.#offsets[n] = ring.slotOffsets[i] + NL_MMAP_HDRLEN;
      this.#lengths[n] = len;
      n++;
    }
    // Datagrams sent from frame `from`, or the first one's failure as a negative errno (EAGAIN for
    // "not now", which krSendmmsg answers with 0 sent).
    // One N-API crossing per sendmmsg: the send list's arrays were handed over once (SendPlan).
    const plan = this.#plan(address);
    const send = (from: number, count: number): number => {
      try {
        const sent = plan.send(from, count);
        return sent === 0 ? -EAGAIN : sent;
      } catch (e) {
        if (e instanceof RingError) return -e.errno;
        throw e;
      }
    };
    let k = 0;
    while (k < n) {
      const r = send(k, n - k);
      const ok = r > 0 ? r : 0;
      for (let j = k; j < k + ok; j++) this.#sent(j, result);
      k += ok;
      if (k === n) break;
      // A short count or a failure: learn the errno of frame k by sending it alone.
      const alone = r > 0 ? send(k, 1) : r;
      if (alone === 1) {
        this.#sent(k++, result);
        continue;
      }
      const errno = -alone;
      if (errno !== ENOBUFS && errno !== ENOMEM && errno !== EAGAIN) {
        // Lost, as in the kernel: the frame was already consumed when delivery failed.
        ring.setStatus(this.#frames[k], NL_MMAP_STATUS_UNUSED);
        this.#head = this.#next(this.#frames[k]);
      }
      result.errno = errno;
      return result;
    }
    return result;
  }

  #sent(j: number, result: TxResult): void {
    const f = this.#frames[j];
    // Handed back to the writer, which reads it on this thread (Ring.takeTx; the ring's ordering is 'same-thread').
    this.ring.setStatus(f, NL_MMAP_STATUS_UNUSED);
    this.#head = this.#next(f);
    result.sent++;
    result.bytes += this.#lengths[j];
  }

  #next(i: number): number {
    return i + 1 === this.ring.size ? 0 : i + 1;
  }
}
