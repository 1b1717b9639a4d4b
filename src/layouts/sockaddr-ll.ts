/**
 * `struct sockaddr_ll` (include/uapi/linux/if_packet.h): the link-level address the kernel writes
 * after each ring frame header, and the address kring binds AF_PACKET sockets with.
 * @packageDocumentation
 */
import { AF_PACKET, SOCKADDR_LL_SIZE } from '../constants';

/** Field offsets, named as in the uapi. */
export const SOCKADDR_LL = {
  sll_family: 0,
  sll_protocol: 2, // big-endian
  sll_ifindex: 4,
  sll_hatype: 8,
  sll_pkttype: 10,
  sll_halen: 11,
  sll_addr: 12, // 8 bytes
} as const;

/** Encodes a sockaddr_ll for bind(2). `protocol` is in host order; it is stored big-endian. */
export function encodeSockaddrLl(protocol: number, ifindex: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(SOCKADDR_LL.sll_family, AF_PACKET, true);
  dv.setUint16(SOCKADDR_LL.sll_protocol, protocol, false);
  dv.setInt32(SOCKADDR_LL.sll_ifindex, ifindex, true);
  return b;
}
