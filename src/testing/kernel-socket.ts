/**
 * Kernel-mode {@link NetlinkSocket}s on the simulator: the socket, bind, options and polling are
 * real; the kernel ring's own calls (setsockopt NETLINK_RX_RING/TX_RING, mmap, poll, recv,
 * sendto(NULL, 0)) are answered by a {@link NetlinkRingKernel}.
 * @packageDocumentation
 */
import type { KernelRingCalls } from '../netlink/kernel-ring';
import { NetlinkSocket, NetlinkSocketOptions, openNetlinkSocket } from '../netlink/socket';
import { NetlinkRingKernel } from './netlink-ring-kernel';

/**
 * The kernel ring's syscalls, answered by `kernel`. `deliver` plays the destination of what the TX
 * ring sends (the simulator has no protocol of its own): it gets each datagram and answers 0 or a
 * negative errno; a responder typically answers by producing on `kernel` (sendInRing, startDump).
 */
export function simulatedRingCalls(kernel: NetlinkRingKernel, deliver?: (datagram: Uint8Array) => number): KernelRingCalls {
  return {
    setRing: (which, req) => kernel.setsockopt(which, req),
    mmap: (length) => kernel.mmap(length),
    munmap: (mapping) => kernel.munmap(mapping),
    poll: () => ({ err: kernel.poll().err }),
    recv: (buf) => {
      const r = kernel.recv(buf.length);
      if (typeof r === 'number') return r;
      buf.set(r.data);
      return r.data.length;
    },
    soError: () => kernel.soError(),
    kick: () => kernel.sendTx(deliver),
    option: (level, name) => kernel.option(level, name),
  };
}

/**
 * Opens a NetlinkSocket whose ring is the simulator's (`ring` defaults to `'kernel'`; `'auto'`
 * probes the simulator, so a kernel built `unsupported` gives the emulation). Nothing arrives on
 * the socket's own fd: call `socket.dispatch()` after producing on `kernel` (requests and dumps
 * schedule one themselves).
 * @throws as {@link NetlinkSocket.open}
 */
export function openSimulatedNetlinkSocket(
  kernel: NetlinkRingKernel,
  options: Partial<NetlinkSocketOptions> = {},
  deliver?: (datagram: Uint8Array) => number,
): NetlinkSocket {
  return openNetlinkSocket({ protocol: 'route', ring: 'kernel', ...options }, () => simulatedRingCalls(kernel, deliver));
}
