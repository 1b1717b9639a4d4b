// The route mirror's identity (routeKey): the kernel's, on crafted routes.
import { AF_INET, AF_INET6, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY } from '../../src/constants';
import { MessageBuilder } from '../../src/netlink/message';
import { Route } from '../../src/rtnetlink/route';
import { routeKey } from '../../src/rtnetlink/route-table';
import { u32, rtmsg, route } from '../helpers/crafted-route';

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
