/**
 * `kring/testing`: fakes for code that cannot meet the real thing on this machine. Today: the
 * kernel side of memory-mapped netlink rings (removed from Linux in 4.6).
 * @packageDocumentation
 */
import '../dispose';
export {
  NetlinkRingKernel,
  NetlinkRingKernelOptions,
  MessageMeta,
  Reservation,
  MAX_RECVMSG_LEN,
  NLMSG_GOODSIZE,
  SIM_ERRNO,
} from './netlink-ring-kernel';
export { simulatedRingCalls, openSimulatedNetlinkSocket } from './kernel-socket';
