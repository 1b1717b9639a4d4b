/**
 * The rtnetlink family headers (include/uapi/linux/rtnetlink.h, if_link.h, if_addr.h,
 * neighbour.h): `struct rtmsg`, `struct rtnexthop`, `struct ifinfomsg`, `struct ifaddrmsg` and
 * `struct ndmsg`, as named byte offsets. The decoders read records in place through these.
 * @packageDocumentation
 */

/** `struct rtmsg` (12 bytes): u8 fields, then `rtm_flags` (u32). */
export const RTMSG = {
  rtm_family: 0,
  rtm_dst_len: 1,
  rtm_src_len: 2,
  rtm_tos: 3,
  rtm_table: 4,
  rtm_protocol: 5,
  rtm_scope: 6,
  rtm_type: 7,
  rtm_flags: 8,
} as const;

/** `struct rtnexthop` (8 bytes), the entries of RTA_MULTIPATH. `rtnh_hops` is the weight minus one. */
export const RTNEXTHOP = { rtnh_len: 0, rtnh_flags: 2, rtnh_hops: 3, rtnh_ifindex: 4 } as const;

/** `struct ifinfomsg` (16 bytes). */
export const IFINFOMSG = { ifi_family: 0, ifi_type: 2, ifi_index: 4, ifi_flags: 8, ifi_change: 12 } as const;

/** `struct ifaddrmsg` (8 bytes). */
export const IFADDRMSG = { ifa_family: 0, ifa_prefixlen: 1, ifa_flags: 2, ifa_scope: 3, ifa_index: 4 } as const;

/** `struct ndmsg` (12 bytes). */
export const NDMSG = { ndm_family: 0, ndm_ifindex: 4, ndm_state: 8, ndm_flags: 10, ndm_type: 11 } as const;
