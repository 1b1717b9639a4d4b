/**
 * Neighbours (ARP / NDP entries): `struct ndmsg` and NDA_* attributes decoded into {@link Neighbour}.
 * @packageDocumentation
 */
import { NDA_CACHEINFO, NDA_DST, NDA_LLADDR, NDA_MASTER, NDA_PROBES, NDA_VLAN, NDMSG_SIZE, RTM_DELNEIGH, RTM_GETNEIGH } from '../constants';
import { NDMSG } from '../layouts/rtnetlink';
import { AttrCursor, NetlinkParseError } from '../netlink/message';
import { formatAddress } from './ip-address';
import { dumpRequest, RawAttribute, rawAttribute } from './types';

/** A neighbour entry (RTM_NEWNEIGH / RTM_DELNEIGH). */
export interface Neighbour {
  deleted: boolean;
  family: number;
  ifindex: number;
  /** `ndm_state` (NUD_*) */
  state: number;
  /** `ndm_flags` (NTF_*) */
  flags: number;
  /** `ndm_type` */
  type: number;
  dst?: string;
  /** Link-layer address bytes. */
  lladdr?: Uint8Array;
  probes?: number;
  vlan?: number;
  master?: number;
  /** `struct nda_cacheinfo`: confirmed, used, updated (ms ago), refcnt. */
  cacheinfo?: { confirmed: number; used: number; updated: number; refcnt: number };
  unknown: RawAttribute[];
}

/** Decodes a neighbour message's payload at `[at, at + len)`. Malformed input is an error value. */
export function decodeNeighbour(dv: DataView, at: number, len: number, type: number): Neighbour | NetlinkParseError {
  if (len < NDMSG_SIZE) return new NetlinkParseError(`a neighbour message needs ${NDMSG_SIZE} bytes of ndmsg, got ${len}`, at);
  const n: Neighbour = {
    deleted: type === RTM_DELNEIGH,
    family: dv.getUint8(at + NDMSG.ndm_family),
    ifindex: dv.getInt32(at + NDMSG.ndm_ifindex, true),
    state: dv.getUint16(at + NDMSG.ndm_state, true),
    flags: dv.getUint8(at + NDMSG.ndm_flags),
    type: dv.getUint8(at + NDMSG.ndm_type),
    unknown: [],
  };
  const a = new AttrCursor(dv, at + NDMSG_SIZE, at + len);
  while (a.next()) {
    switch (a.type) {
      case NDA_DST:
        n.dst = formatAddress(n.family, a.view());
        break;
      case NDA_LLADDR:
        n.lladdr = a.bytes();
        break;
      case NDA_PROBES:
        n.probes = a.u32();
        break;
      case NDA_VLAN:
        n.vlan = a.u16();
        break;
      case NDA_MASTER:
        n.master = a.u32();
        break;
      case NDA_CACHEINFO:
        if (a.dataLen >= 16)
          n.cacheinfo = {
            confirmed: dv.getUint32(a.data, true),
            used: dv.getUint32(a.data + 4, true),
            updated: dv.getUint32(a.data + 8, true),
            refcnt: dv.getUint32(a.data + 12, true),
          };
        break;
      default:
        n.unknown.push(rawAttribute(a));
    }
  }
  return a.error ?? n;
}

/** An RTM_GETNEIGH dump request for `family` (0: all). */
export function neighbourDumpRequest(family = 0): Uint8Array {
  return dumpRequest(RTM_GETNEIGH, NDMSG_SIZE, family);
}
