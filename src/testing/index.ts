/**
 * `kring/testing`: fakes for code that cannot meet the real thing on this machine: the kernel side
 * of memory-mapped netlink rings (removed from Linux in 4.6), and whole older kernels (3.10, 4.4,
 * 4.5: that ring, without the socket options added since) with the running kernel's answers behind.
 * @packageDocumentation
 */
import '../dispose';
export {
  NetlinkRingKernel,
  NetlinkRingKernelOptions,
  KernelProfile,
  OPTIONS_AFTER_3_10,
  OPTIONS_AFTER_THE_RING,
  MessageMeta,
  Reservation,
  MAX_RECVMSG_LEN,
  NLMSG_GOODSIZE,
  SIM_ERRNO,
} from './netlink-ring-kernel';
export { simulatedRingCalls, openSimulatedNetlinkSocket } from './kernel-socket';
export { simulateKernel, hostBackedRingCalls, SimulatedKernel } from './host-kernel';
