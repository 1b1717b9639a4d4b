/**
 * The ring pair a {@link NetlinkSocket} runs on, behind one interface: the kernel's rings
 * (Linux 3.10–4.5) or the emulation's. The socket's code is the same over either.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { NL_MMAP_HDRLEN } from '../constants';
import { nlMmap } from '../layouts/nl-mmap';
import { RingGeometry } from '../layouts/types';
import { RingWriter } from '../ring/writer';
import { EmulatedRxRing } from './emulated-rx';
import { EmulatedTxRing } from './emulated-tx';
import { KernelRings } from './kernel-ring';
import { NetlinkRingBackend } from './reader';

const { ENOBUFS } = osConstants.errno;

/** The ring pair a socket runs on: the kernel's, or the emulation's. */
export interface RingPair {
  readonly backend: NetlinkRingBackend;
  readonly writer: RingWriter<typeof nlMmap>;
  /** The pending socket error, consumed (ENOBUFS after an overrun), or 0. */
  takeError(): number;
  /**
   * Starts the producer filling ahead, beside the consumer, if it can (the emulation:
   * {@link EmulatedRxRing.readAhead}); `wake` runs when frames came in. Absent for the kernel's
   * ring, whose producer is the kernel.
   */
  readAhead?(wake: () => void): void;
  /**
   * True when the producer has nothing more now and the next poll wake-up will say when it has
   * (the emulation, after a short fill). Absent for the kernel's ring: its consumer reads until
   * the ring is empty.
   */
  drained?(): boolean;
  /** Tears the rings down; `closeFd` runs once nothing can use the fd any more (maybe later). */
  close(closeFd: () => void): void;
}

/**
 * The emulation's rings over `fd` (a socket with NETLINK_PKTINFO and SO_PASSCRED set).
 * @throws RingError when a mapping fails (nothing is left mapped)
 */
export function emulatedRings(fd: number, rx: RingGeometry, tx: RingGeometry): RingPair {
  const r = new EmulatedRxRing(fd, rx);
  let t: EmulatedTxRing;
  try {
    t = new EmulatedTxRing(fd, tx);
  } catch (e) {
    r.close();
    throw e;
  }
  return {
    backend: {
      ring: r.ring,
      buffer: r.buffer,
      produce: () => r.produce(),
      recvCopy: () => r.recvCopy(),
      messageOffset: NL_MMAP_HDRLEN,
    },
    writer: t.writer(),
    takeError: () => (r.pendingError === ENOBUFS && 'errno' in r.recvCopy() ? ENOBUFS : 0),
    readAhead: (wake) => r.readAhead(wake),
    drained: () => r.drained,
    close(closeFd) {
      t.close();
      // The receive thread's recvmmsg must not meet unmapped memory or a closed (or reused) fd
      // number: the RX ring unmaps and closes the fd after the last outstanding fill.
      r.close(closeFd);
    },
  };
}

/** The kernel's rings, set up already ({@link KernelRings.setUp}). */
export function kernelRings(k: KernelRings): RingPair {
  return {
    backend: k.backend,
    writer: k.writer(),
    takeError: () => k.takeError(),
    close: (closeFd) => {
      k.close();
      closeFd();
    },
  };
}
