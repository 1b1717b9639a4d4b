/**
 * Route messages crafted byte by byte for the unit tests: the test lays out `struct rtmsg` and the
 * attributes itself, so a decoder is checked against bytes it did not produce.
 */
import { RTM_NEWROUTE, RTN_UNICAST } from '../../src/constants';
import { MessageBuilder, NetlinkParseError } from '../../src/netlink/message';
import { decodeRoute, Route } from '../../src/rtnetlink/route';

/** A little-endian u32 attribute payload. */
export const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};

/** struct rtmsg (12 bytes): family, dst_len, src_len 0, tos 0, table, protocol static (4), scope 0, type, flags. */
export const rtmsg = (family: number, dstLen: number, table: number, type = RTN_UNICAST, flags = 0): Uint8Array => {
  const b = new Uint8Array(12);
  b.set([family, dstLen, 0, 0, table, 4 /* static */, 0, type]);
  new DataView(b.buffer).setUint32(8, flags, true);
  return b;
};

/** A route message built by `build`, decoded. */
export function route(build: (b: MessageBuilder) => void, type = RTM_NEWROUTE): Route | NetlinkParseError {
  const b = new MessageBuilder().begin(type, 0, 1);
  build(b);
  const msg = b.finish().slice();
  return decodeRoute(new DataView(msg.buffer), 16, msg.length - 16, type);
}
