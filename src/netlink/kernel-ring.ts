/**
 * The kernel's own netlink rings (NETLINK_RX_RING / NETLINK_TX_RING, Linux 3.10–4.5): setup with
 * setsockopt then one mmap of RX followed by TX (docs/netlink-ring.md §1.3), the consumer's produce step (poll, which is
 * what lets a dump go on: docs/netlink-ring.md §5.2), COPY frames received with recv, and the TX kick
 * `sendto(fd, NULL, 0)` (docs/netlink-ring.md §3.2).
 *
 * Every call that touches the kernel's ring goes through {@link KernelRingCalls}: the native
 * syscalls in production, `kring/testing`'s simulator in tests (no CI kernel has the ring).
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { NETLINK_RX_RING, NETLINK_TX_RING, NL_MMAP_HDRLEN, NL_MMAP_STATUS_VALID, POLLERR, POLLIN, SOL_NETLINK } from '../constants';
import { RingError } from '../errors';
import { encodeNlMmapReq, NL_MMAP_HDR, nlMmap } from '../layouts/nl-mmap';
import { native } from '../native';
import { takeSocketError } from '../sockopt';
import { frameOffsets } from '../ring/addressing';
import { RingGeometry } from '../layouts/types';
import { Ring } from '../ring/ring';
import { RingWriter } from '../ring/writer';
import type { NetlinkRingBackend } from './reader';

const { EAGAIN, ENOPROTOOPT, EPERM } = osConstants.errno;

/**
 * The syscalls of a kernel-mode netlink ring, answering as syscalls do: a count or 0 on success,
 * a negative errno on failure.
 */
export interface KernelRingCalls {
  /** setsockopt(SOL_NETLINK, NETLINK_RX_RING or NETLINK_TX_RING, nl_mmap_req). */
  setRing(which: 'rx' | 'tx', req: RingGeometry): number;
  /** mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0): the RX ring, then the TX ring. */
  mmap(length: number): ArrayBuffer | number;
  /** munmap of that mapping (detaching it first, so stale views throw). */
  munmap(mapping: ArrayBuffer): void;
  /** poll() without waiting; whether an error is pending. Calling it lets a running dump go on. */
  poll(): { err: boolean };
  /** recv() into `buf`: the bytes received, or a negative errno (-EAGAIN when nothing is queued). */
  recv(buf: Uint8Array): number;
  /** getsockopt(SO_ERROR): reads and clears the pending error. */
  soError(): number;
  /** sendto(fd, NULL, 0): sends the TX ring's VALID frames. Bytes sent, or a negative errno. */
  kick(): number;
  /**
   * A simulated kernel's answer to setsockopt(level, name, value) for the options newer than the
   * ring (NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK): 0, or a negative errno (-ENOPROTOOPT where the
   * simulated kernel lacks it). Undefined (or absent): the real socket answers.
   */
  option?(level: number, name: number, value: number): number | undefined;
}

/** {@link KernelRingCalls} as the native syscalls on `fd`. */
export function nativeRingCalls(fd: number): KernelRingCalls {
  // The seam answers as syscalls do: the result, or a negative errno for a RingError.
  const asSyscall = <T>(f: () => T): T | number => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RingError) return -e.errno;
      throw e;
    }
  };
  return {
    setRing: (which, req) => {
      const op = which === 'rx' ? 'NETLINK_RX_RING' : 'NETLINK_TX_RING';
      const name = which === 'rx' ? NETLINK_RX_RING : NETLINK_TX_RING;
      return asSyscall(() => native.krSetsockopt({ fd, level: SOL_NETLINK, name, value: encodeNlMmapReq(req), op })) ?? 0;
    },
    mmap: (length) => asSyscall(() => native.krMmap(fd, length, 'NETLINK_RX_RING')),
    munmap: (mapping) => native.krMunmap(mapping, 'NETLINK_RX_RING'),
    poll: () => ({ err: (native.krPoll(fd, POLLIN, 'NETLINK_RX_RING') & POLLERR) !== 0 }),
    recv: (buf) => {
      const n = asSyscall(() => native.krRecv({ fd, buf, flags: 0, op: 'NETLINK_RX_RING' }));
      return n === -1 ? -EAGAIN : n; // -1: nothing queued
    },
    soError: () => takeSocketError(fd),
    kick: () => {
      const n = asSyscall(() => native.krRingKick(fd, 'NETLINK_TX_RING'));
      return n === -1 ? -EAGAIN : n; // -1: the kernel took nothing now
    },
  };
}

/** The smallest buffer a COPY receive offers: dump chunks are sized from it (docs/netlink-ring.md §4, max_recvmsg_len). */
const COPY_RECV_BYTES = 32768;

/**
 * The kernel's RX and TX rings of one socket, mapped. Construct with {@link KernelRings.setUp}.
 */
export class KernelRings {
  /** The whole mapping: the RX ring's blocks, then the TX ring's. */
  readonly mapping: ArrayBuffer;
  readonly rx: Ring<typeof nlMmap>;
  readonly tx: Ring<typeof nlMmap>;
  /** The consumer's side of the RX ring, for {@link NetlinkReader}. */
  readonly backend: NetlinkRingBackend;
  #calls: KernelRingCalls;
  #errPending = false;
  #scratch = new Uint8Array(COPY_RECV_BYTES);
  #closed = false;
  #txCapacity: number;

  private constructor(calls: KernelRingCalls, mapping: ArrayBuffer, rx: RingGeometry, tx: RingGeometry) {
    this.#calls = calls;
    this.mapping = mapping;
    this.#txCapacity = tx.frameSize - NL_MMAP_HDRLEN;
    this.rx = new Ring(mapping, frameOffsets(rx), nlMmap);
    const rxBytes = rx.blockSize * rx.blockCount;
    this.tx = new Ring(
      mapping,
      frameOffsets(tx).map((o) => o + rxBytes),
      nlMmap,
    );
    this.backend = {
      ring: this.rx,
      buffer: mapping,
      produce: () => {
        this.#errPending = calls.poll().err;
      },
      recvCopy: (length) => this.#recvCopy(length),
    };
  }

  /**
   * Sets both rings up (RX, then TX: the order the mmap layout follows) and maps them. Returns
   * `{ refused: errno }` when the kernel has no ring for this socket: ENOPROTOOPT (Linux ≥ 4.6,
   * late 4.4.y) or EPERM (no CAP_NET_ADMIN). That answer is the probe `ring: 'auto'` falls back
   * on: the setsockopt itself, never the version number.
   * @throws RingError for any other refusal, with op NETLINK_RX_RING / NETLINK_TX_RING / mmap
   */
  static setUp(calls: KernelRingCalls, rx: RingGeometry, tx: RingGeometry): KernelRings | { refused: number } {
    const probe = calls.setRing('rx', rx);
    if (probe === -ENOPROTOOPT || probe === -EPERM) return { refused: -probe };
    if (probe < 0) throw new RingError(-probe, 'setsockopt', 'NETLINK_RX_RING', 'the kernel refused the RX ring');
    const txErr = calls.setRing('tx', tx);
    if (txErr < 0) throw new RingError(-txErr, 'setsockopt', 'NETLINK_TX_RING', 'the kernel refused the TX ring');
    const mapping = calls.mmap(rx.blockSize * rx.blockCount + tx.blockSize * tx.blockCount);
    if (typeof mapping === 'number') throw new RingError(-mapping, 'mmap', 'NETLINK_RX_RING', 'mapping the rings failed');
    return new KernelRings(calls, mapping, rx, tx);
  }

  /**
   * A fill-then-flush writer whose kick is `sendto(fd, NULL, 0)`. The kernel reports bytes, not
   * frames; the count the kick returns is the submitted frames the kernel took (VALID before, not
   * after), less the one a failure consumed.
   */
  writer(): RingWriter<typeof nlMmap> {
    const tx = this.tx;
    const valid = () => {
      let n = 0;
      for (let i = 0; i < tx.size; i++) if (tx.status(i) === NL_MMAP_STATUS_VALID) n++;
      return n;
    };
    return new RingWriter({
      ring: tx,
      buffer: this.mapping,
      payloadOffset: NL_MMAP_HDRLEN,
      capacity: this.#txCapacity,
      writeLength: (dv, at, len) => dv.setUint32(at + NL_MMAP_HDR.nm_len, len, true),
      kick: () => {
        const before = valid();
        const r = this.#calls.kick();
        // A failed datagram's frame was consumed (UNUSED) yet not sent.
        return Math.max(0, before - valid() - (r < 0 ? 1 : 0));
      },
    });
  }

  /**
   * The pending socket error (ENOBUFS after an overrun), read and cleared with SO_ERROR, or 0.
   * Only asks the kernel when the last poll reported POLLERR.
   */
  takeError(): number {
    if (!this.#errPending) return 0;
    this.#errPending = false;
    // 3.10 stored dump errors in sk_err negated (docs/netlink-ring.md §5.2), which SO_ERROR reads back as -errno.
    return Math.abs(this.#calls.soError());
  }

  /** Unmaps (detaching the mapping first). Idempotent; the socket's close() ends the rings. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#calls.munmap(this.mapping);
  }

  // The datagram behind a COPY frame: one recv, offering at least 32 KiB (the kernel sizes later
  // dump chunks from the largest buffer offered). Copied out: the scratch is reused.
  #recvCopy(length: number): Uint8Array | { errno: number } {
    if (this.#scratch.length < length) this.#scratch = new Uint8Array(length);
    const n = this.#calls.recv(this.#scratch);
    if (n < 0) return { errno: -n };
    // The message behind a COPY frame is nm_len bytes exactly, and the buffer holds it: any other
    // count is 3.10's pending error returned with the wrong sign (sock_error() of a negated sk_err,
    // docs/netlink-ring.md §5.2), not data.
    if (n !== length) return { errno: n };
    return this.#scratch.slice(0, n);
  }
}
