// The route mirror's identity (routeKey): the kernel's, on crafted routes.
import { AF_INET, AF_INET6, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY, RTM_NEWROUTE, RTN_UNICAST } from '../../src/constants';
import { MessageBuilder, NetlinkParseError } from '../../src/netlink/message';
import { decodeRoute, Route } from '../../src/rtnetlink/route';
import { routeKey } from '../../src/rtnetlink/route-table';

const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};
const rtmsg = (family: number, dstLen: number, table: number, type = RTN_UNICAST, flags = 0) => {
  const b = new Uint8Array(12);
  b.set([family, dstLen, 0, 0, table, 4 /* static */, 0, type]);
  new DataView(b.buffer).setUint32(8, flags, true);
  return b;
};
function route(build: (b: MessageBuilder) => void, type = RTM_NEWROUTE): Route | NetlinkParseError {
  const b = new MessageBuilder().begin(type, 0, 1);
  build(b);
  const msg = b.finish().slice();
  return decodeRoute(new DataView(msg.buffer), 16, msg.length - 16, type);
}

describe('routeKey', () => {
  it("the mirror identity is the kernel's: IPv4 aliases by nexthop, IPv6 routes by device and gateway, an IPv6 ECMP set as one", () => {
    const v4 = (gw: number, extra = (b: MessageBuilder) => b) =>
      route((b) =>
        extra(
          b
            .bytes(rtmsg(AF_INET, 8, 254))
            .attr(RTA_DST, Uint8Array.of(10, 0, 0, 0))
            .attr(RTA_GATEWAY, Uint8Array.of(gw, gw, gw, gw)),
        ),
      ) as Route;
    // `ip route append 10/8 via 2.2.2.2` next to `via 1.1.1.1`: two fib aliases, two routes.
    expect(routeKey(v4(1))).not.toBe(routeKey(v4(2)));
    expect(routeKey(v4(1))).toBe(routeKey(v4(1)));
    expect(routeKey(v4(1))).not.toBe(routeKey(v4(1, (b) => b.attr(RTA_PRIORITY, u32(5)))));
    const v6 = (oif: number, gw?: number) =>
      route((b) => {
        b.bytes(rtmsg(AF_INET6, 64, 254))
          .attr(RTA_DST, Uint8Array.of(0xfe, 0x80, ...new Array(14).fill(0)))
          .attr(RTA_PRIORITY, u32(256))
          .attr(RTA_OIF, u32(oif));
        if (gw !== undefined) b.attr(RTA_GATEWAY, Uint8Array.of(0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), gw));
        return b;
      }) as Route;
    // fe80::/64 on two devices: two routes.
    expect(routeKey(v6(2))).not.toBe(routeKey(v6(3)));
    // Gateway routes of one destination and metric are one ECMP set, whichever siblings it has now.
    expect(routeKey(v6(2, 1))).toBe(routeKey(v6(3, 2)));
    expect(routeKey(v6(2, 1))).not.toBe(routeKey(v6(2)));
  });
});
