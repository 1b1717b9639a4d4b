/**
 * A simulated older kernel (Linux 3.10, 4.4 or 4.5: the ones with memory-mapped netlink) for whole
 * programs: every NetlinkSocket opened while it is installed runs in kernel mode on a
 * {@link NetlinkRingKernel} of that profile, and the answers that kernel hands out through its ring
 * are the running kernel's own, fetched over the socket's real fd. So kring's readers, the route
 * mirror and the CLI meet the old kernel's ring protocol (VALID, COPY and trimmed dump frames, SKIP
 * and flow control, overruns) and its missing options (no extended ACK, no strict checking, so
 * dumps come back unfiltered) with real routing tables behind them.
 *
 * How each answer travels, as on the old kernel (docs/netlink-ring.md §2.2): a dump is read whole from the host
 * and replayed through the simulator's dump (chunked by its allocation sizes, produced as poll()
 * lets it go on); ACKs, errors and queued packets are in-ring messages (COPY when larger than a
 * frame); every other reply and every multicast event takes the COPY path.
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import { NETLINK_PKTINFO, NFQNL_MSG_PACKET, SOL_NETLINK } from '../constants';
import { nfqMsgType } from '../layouts/nfnetlink';
import { RingError } from '../errors';
import type { KernelRingCalls } from '../netlink/kernel-ring';
import { MessageCursor } from '../netlink/message';
import { NLM_F_DUMP, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from '../constants';
import { setDefaultRingCalls } from '../netlink/open';
import { native, RECV_META_WORDS } from '../native';
import { netlinkRecvInfo, recvInfo } from '../netlink/recv-info';
import { simulateAbsentOptions, simulateRefusedRings } from '../sockopt';
import { simulatedRingCalls } from './kernel-socket';
import { KernelProfile, NetlinkRingKernel, NetlinkRingKernelOptions, OPTIONS_AFTER_3_10, OPTIONS_AFTER_THE_RING } from './netlink-ring-kernel';

const { ENOBUFS } = osConstants.errno;
const NFQ_PACKET = nfqMsgType(NFQNL_MSG_PACKET);
const SLOTS = 16;
const SLOT_BYTES = 65536;

/** What {@link simulateKernel} installed; `restore()` puts the real kernel back. */
export interface SimulatedKernel {
  readonly profile: KernelProfile;
  /** The simulated kernel of each socket opened since, in order. */
  readonly kernels: NetlinkRingKernel[];
  restore(): void;
}

/**
 * Plays `profile` for every NetlinkSocket opened from now on (its ring, in kernel mode; its
 * missing options) and for every PacketSocket (its missing options), until `restore()`.
 */
export function simulateKernel(profile: KernelProfile, options: Omit<NetlinkRingKernelOptions, 'profile'> = {}): SimulatedKernel {
  const kernels: NetlinkRingKernel[] = [];
  setDefaultRingCalls((fd) => {
    const k = new NetlinkRingKernel({ ...options, profile });
    kernels.push(k);
    return hostBackedRingCalls(k, fd);
  });
  simulateAbsentOptions([...Object.values(OPTIONS_AFTER_THE_RING), ...(profile === '3.10' ? Object.values(OPTIONS_AFTER_3_10) : [])]);
  // Every ring kernel predates TPACKET_V3 TX rings (4.11): packet_set_ring() answers EINVAL.
  simulateRefusedRings(['TPACKET_V3 TX ring']);
  return {
    profile,
    kernels,
    restore() {
      setDefaultRingCalls(null);
      simulateAbsentOptions(null);
      simulateRefusedRings(null);
    },
  };
}

/**
 * The ring's calls answered by `kernel`, with the running kernel behind it: what the TX ring sends
 * goes out on `fd`, and what the running kernel answers on `fd` is produced into `kernel`'s ring.
 */
export function hostBackedRingCalls(kernel: NetlinkRingKernel, fd: number): KernelRingCalls {
  // The group of each datagram (multicast or unicast) from the host.
  native.krSetsockopt({ fd: fd, level: SOL_NETLINK, name: NETLINK_PKTINFO, value: 1, op: 'NETLINK_PKTINFO' });
  const buffer = new ArrayBuffer(SLOTS * SLOT_BYTES);
  const offsets = Float64Array.from({ length: SLOTS }, (_, i) => i * SLOT_BYTES);
  const spill = new Uint8Array(0);
  const meta = new Uint32Array(SLOTS * RECV_META_WORDS);
  const metaView = new DataView(meta.buffer);
  const info = recvInfo();

  // Every datagram the host has queued, in order.
  const receive = (): { data: Uint8Array; group: number }[] => {
    const out: { data: Uint8Array; group: number }[] = [];
    for (;;) {
      let n: number;
      try {
        n = native.krRecvmmsgInto({ fd, buffer, offsets, count: SLOTS, capacity: SLOT_BYTES, spill, spillSize: 0, meta, op: 'host' });
      } catch (e) {
        if (!(e instanceof RingError) || e.errno !== ENOBUFS) throw e;
        kernel.overrun(); // the host socket overran: the simulated one reports it as its own
        continue;
      }
      for (let i = 0; i < n; i++) {
        const m = netlinkRecvInfo(metaView, i, info);
        out.push({ data: new Uint8Array(buffer, i * SLOT_BYTES, Math.min(m.len, SLOT_BYTES)).slice(), group: m.group });
      }
      if (n < SLOTS) return out;
    }
  };
  // A host datagram as the old kernel would have delivered it.
  const produce = (d: { data: Uint8Array; group: number }): void => {
    if (d.group !== 0) return void kernel.sendCopy(d.data, { group: d.group });
    const m = new MessageCursor(d.data);
    // netlink_ack() and nfqnl_build_packet_message() allocated in the ring (a message larger than
    // a frame falls back to the COPY path there); other unicast replies are normal buffers (COPY).
    if (m.next() && (m.type === NLMSG_ERROR || m.type === NFQ_PACKET)) kernel.sendInRing(d.data);
    else kernel.sendCopy(d.data);
  };
  const deliver = (datagram: Uint8Array): number => {
    try {
      native.krSendmmsg({ fd: fd, buffer: datagram, lengths: Uint32Array.of(datagram.length), count: 1, op: 'host' });
    } catch (e) {
      if (e instanceof RingError) return -e.errno;
      throw e;
    }
    const req = new MessageCursor(datagram);
    if (!req.next() || (req.flags & NLM_F_DUMP) !== NLM_F_DUMP || req.type === NLMSG_ERROR) {
      for (const d of receive()) produce(d);
      return 0;
    }
    // A dump: the host's records, replayed through the simulated kernel's dump.
    const records: Uint8Array[] = [];
    let done: Uint8Array | null = null;
    for (let idle = 0; done === null && idle < 1000;) {
      const got = receive();
      idle = got.length === 0 ? idle + 1 : 0;
      for (const d of got) {
        if (d.group !== 0 || done) {
          produce(d);
          continue;
        }
        const m = new MessageCursor(d.data);
        while (m.next()) {
          const bytes = d.data.slice(m.offset, m.offset + m.len);
          if (m.seq !== req.seq) kernel.sendCopy(bytes);
          else if (m.type === NLMSG_DONE) done = bytes;
          else if (m.type === NLMSG_ERROR) {
            kernel.sendInRing(bytes); // the dump was refused at its start
            return 0;
          } else records.push(bytes);
        }
      }
    }
    if (done === null) done = new Uint8Array(NLMSG_HDRLEN + 4);
    kernel.startDump(records, done);
    return 0;
  };
  const calls = simulatedRingCalls(kernel, deliver);
  return {
    ...calls,
    // The consumer's poll: what the host queued meanwhile (events) comes in first.
    poll: () => {
      for (const d of receive()) produce(d);
      return calls.poll();
    },
  };
}
