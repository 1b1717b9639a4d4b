/**
 * Interface addresses: `struct ifaddrmsg` and IFA_* attributes decoded into {@link Address}.
 * @packageDocumentation
 */
import {
  IFA_ADDRESS,
  IFA_ANYCAST,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFA_MULTICAST,
  IFA_PROTO,
  IFA_RT_PRIORITY,
  IFADDRMSG_SIZE,
  RTM_DELADDR,
  RTM_GETADDR,
} from '../constants';
import { IFADDRMSG } from '../layouts/rtnetlink';
import { AttrCursor, NetlinkParseError } from '../netlink/message';
import { formatAddress } from './ip-address';
import { dumpRequest, RawAttribute, rawAttribute } from './types';

/** `struct ifa_cacheinfo`: lifetimes in seconds (0xffffffff = forever), stamps in centiseconds. */
export interface AddressCacheInfo {
  preferred: number;
  valid: number;
  cstamp: number;
  tstamp: number;
}

/** An interface address (RTM_NEWADDR / RTM_DELADDR). */
export interface Address {
  deleted: boolean;
  family: number;
  prefixLen: number;
  /** IFA_FLAGS when present (32 bits), else `ifa_flags`. */
  flags: number;
  scope: number;
  index: number;
  /** IFA_ADDRESS: the peer on point-to-point links, else the same as `local`. */
  address?: string;
  local?: string;
  label?: string;
  broadcast?: string;
  anycast?: string;
  multicast?: string;
  cacheinfo?: AddressCacheInfo;
  /** IFA_RT_PRIORITY: the metric of the prefix route. */
  metric?: number;
  proto?: number;
  unknown: RawAttribute[];
}

/** Decodes an address message's payload at `[at, at + len)`. Malformed input is an error value. */
export function decodeAddress(dv: DataView, at: number, len: number, type: number): Address | NetlinkParseError {
  if (len < IFADDRMSG_SIZE) return new NetlinkParseError(`an address message needs ${IFADDRMSG_SIZE} bytes of ifaddrmsg, got ${len}`, at);
  const r: Address = {
    deleted: type === RTM_DELADDR,
    family: dv.getUint8(at + IFADDRMSG.ifa_family),
    prefixLen: dv.getUint8(at + IFADDRMSG.ifa_prefixlen),
    flags: dv.getUint8(at + IFADDRMSG.ifa_flags),
    scope: dv.getUint8(at + IFADDRMSG.ifa_scope),
    index: dv.getUint32(at + IFADDRMSG.ifa_index, true),
    unknown: [],
  };
  const a = new AttrCursor(dv, at + IFADDRMSG_SIZE, at + len);
  const ip = (c: AttrCursor) => formatAddress(r.family, c.view());
  while (a.next()) {
    switch (a.type) {
      case IFA_ADDRESS:
        r.address = ip(a);
        break;
      case IFA_LOCAL:
        r.local = ip(a);
        break;
      case IFA_LABEL:
        r.label = a.string();
        break;
      case IFA_BROADCAST:
        r.broadcast = ip(a);
        break;
      case IFA_ANYCAST:
        r.anycast = ip(a);
        break;
      case IFA_MULTICAST:
        r.multicast = ip(a);
        break;
      case IFA_FLAGS:
        r.flags = a.u32() ?? r.flags;
        break;
      case IFA_RT_PRIORITY:
        r.metric = a.u32();
        break;
      case IFA_PROTO:
        r.proto = a.u8();
        break;
      case IFA_CACHEINFO:
        if (a.dataLen >= 16)
          r.cacheinfo = {
            preferred: dv.getUint32(a.data, true),
            valid: dv.getUint32(a.data + 4, true),
            cstamp: dv.getUint32(a.data + 8, true),
            tstamp: dv.getUint32(a.data + 12, true),
          };
        break;
      default:
        r.unknown.push(rawAttribute(a));
    }
  }
  return a.error ?? r;
}

/** An RTM_GETADDR dump request for `family` (0: all). */
export function addressDumpRequest(family = 0): Uint8Array {
  return dumpRequest(RTM_GETADDR, IFADDRMSG_SIZE, family);
}
