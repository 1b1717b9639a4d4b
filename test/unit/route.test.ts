// decodeRoute on crafted bytes: exact fields, unknown attributes kept, malformed input as error values.
import {
  AF_INET,
  AF_INET6,
  RTA_CACHEINFO,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_PREF,
  RTA_PRIORITY,
  RTA_TABLE,
  RTAX_CC_ALGO,
  RTAX_HOPLIMIT,
  RTAX_LOCK,
  RTAX_MTU,
  RTAX_RTT,
  RTM_DELROUTE,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
} from '../../src/constants';
import { NetlinkParseError } from '../../src/netlink/message';
import { parseAddress } from '../../src/rtnetlink/ip-address';
import { routeJson } from '../../src/cli/ip-format';
import { decodeRoute, Route } from '../../src/rtnetlink/route';
import { u32, rtmsg, route } from '../helpers/crafted-route';

const ctx = { ifname: (i: number) => `if${i}` };

describe('decodeRoute', () => {
  it('an IPv6 multipath route with metrics, pref, a table above 255 and cache info: every field exact', () => {
    const nh = (ifindex: number, weight: number, flags: number, gw: string) => {
      const g = parseAddress(gw).bytes;
      const b = new Uint8Array(8 + 4 + 16);
      const dv = new DataView(b.buffer);
      dv.setUint16(0, b.length, true);
      b[2] = flags;
      b[3] = weight - 1;
      dv.setInt32(4, ifindex, true);
      dv.setUint16(8, 20, true);
      dv.setUint16(10, RTA_GATEWAY, true);
      b.set(g, 12);
      return b;
    };
    const ci = new Uint8Array(32);
    new DataView(ci.buffer).setInt32(8, 59_990, true); // expires, USER_HZ ticks
    const r = route((b) => {
      b.bytes(rtmsg(AF_INET6, 48, 252));
      b.attr(RTA_TABLE, u32(1000));
      b.attr(RTA_DST, parseAddress('2001:db8:5::').bytes);
      b.attr(RTA_PRIORITY, u32(1024));
      b.beginNest(RTA_METRICS)
        .attr(RTAX_LOCK, u32(1 << RTAX_MTU))
        .attr(RTAX_MTU, u32(1400))
        .attr(RTAX_RTT, u32(2000))
        .attr(RTAX_HOPLIMIT, u32(0xffffffff))
        .string(RTAX_CC_ALGO, 'cubic')
        .endNest();
      const mp = new Uint8Array([...nh(3, 2, 0, 'fe80::1'), ...nh(4, 256, RTNH_F_ONLINK, '2001:db8::9')]);
      b.attr(RTA_MULTIPATH, mp);
      b.attr(RTA_PREF, Uint8Array.of(1));
      b.attr(RTA_CACHEINFO, ci);
      b.attr(99, Uint8Array.of(1, 2, 3));
    }) as Route;
    expect(r).toMatchObject({ family: AF_INET6, dstLen: 48, table: 1000, dst: '2001:db8:5::', priority: 1024, pref: 1, metricsLock: 1 << RTAX_MTU });
    expect(r.metrics).toEqual({ mtu: 1400, rtt: 2000, hoplimit: 0xffffffff, congestion: 'cubic' });
    expect(r.multipath).toEqual([
      { ifindex: 3, weight: 2, flags: 0, gateway: 'fe80::1' },
      { ifindex: 4, weight: 256, flags: RTNH_F_ONLINK, gateway: '2001:db8::9' },
    ]);
    expect(r.unknown).toEqual([{ type: 99, nested: false, data: Uint8Array.of(1, 2, 3) }]);
    expect(routeJson(r, ctx)).toEqual({
      dst: '2001:db8:5::/48',
      table: '1000',
      protocol: 'static',
      metric: 1024,
      flags: [],
      expires: 599,
      metrics: [{ mtu: 1400, rtt: 250, congestion: 'cubic' }],
      nexthops: [
        { gateway: 'fe80::1', dev: 'if3', weight: 2, flags: [] },
        { gateway: '2001:db8::9', dev: 'if4', weight: 256, flags: ['onlink'] },
      ],
      pref: 'high',
    });
  });

  it('RTM_DELROUTE is marked deleted; a host route prints without its length, a missing dst as default', () => {
    const del = route(
      (b) =>
        b
          .bytes(rtmsg(AF_INET, 32, 254))
          .attr(RTA_DST, Uint8Array.of(10, 0, 0, 1))
          .attr(RTA_OIF, u32(2)),
      RTM_DELROUTE,
    ) as Route;
    expect(del.deleted).toBe(true);
    expect(routeJson(del, ctx)).toEqual({ deleted: true, dst: '10.0.0.1', dev: 'if2', protocol: 'static', flags: [] });
    const def = route((b) => b.bytes(rtmsg(AF_INET, 0, 254)).attr(RTA_GATEWAY, Uint8Array.of(10, 0, 0, 254))) as Route;
    expect(routeJson(def, ctx)).toEqual({ dst: 'default', gateway: '10.0.0.254', protocol: 'static', flags: [] });
  });

  it('malformed input is an error value, never a throw or an out-of-bounds read', () => {
    expect(route((b) => b.bytes(new Uint8Array(8)))).toBeInstanceOf(NetlinkParseError);
    const badNexthop = route((b) => b.bytes(rtmsg(AF_INET, 8, 254)).attr(RTA_MULTIPATH, Uint8Array.of(200, 0, 0, 0, 1, 0, 0, 0)));
    expect(badNexthop).toBeInstanceOf(NetlinkParseError);
    expect((badNexthop as NetlinkParseError).reason).toBe('rtnh_len 200 is outside 8..8');
    // A short address attribute decodes as absent rather than reading past it.
    expect((route((b) => b.bytes(rtmsg(AF_INET, 8, 254)).attr(RTA_DST, Uint8Array.of(10))) as Route).dst).toBeUndefined();
    // Random bytes: always a Route or an error value.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    for (let i = 0; i < 5000; i++) {
      const b = Uint8Array.from({ length: 12 + (rnd() % 80) }, rnd);
      const r = decodeRoute(new DataView(b.buffer), 0, b.length, RTM_NEWROUTE);
      expect(r instanceof NetlinkParseError || typeof r.family === 'number').toBe(true);
    }
  });
});
