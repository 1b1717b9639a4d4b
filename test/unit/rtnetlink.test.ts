// rtnetlink decoders on crafted bytes (exact fields, unknown attributes kept, malformed input as
// error values), address text as inet_ntop writes it, and the route readers' DUMP_INTR policies on
// a simulated kernel whose first dump pass is interrupted.
import { lastValueFrom, toArray } from 'rxjs';
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
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTNH_F_ONLINK,
} from '../../src/constants';
import { MessageBuilder, NetlinkParseError } from '../../src/netlink/message';
import { NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE } from '../../src/constants';
import { DumpInterruptedError } from '../../src/netlink/socket';
import { formatIPv6, parseAddress } from '../../src/rtnetlink/ip-address';
import { routeJson } from '../../src/cli/ip-format';
import { getRoutes, MalformedMessageError, routes } from '../../src/rtnetlink/readers';
import { decodeRoute, plainRoute, Route } from '../../src/rtnetlink/route';
import { RouteRecord } from '../../src/rtnetlink/route-record';
import { routeKey } from '../../src/rtnetlink/route-table';
import { openSimulatedNetlinkSocket } from '../../src/testing/kernel-socket';
import { NetlinkRingKernel } from '../../src/testing/netlink-ring-kernel';

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
// A route message built attribute by attribute, decoded from its payload.
function route(build: (b: MessageBuilder) => void, type = RTM_NEWROUTE): Route | NetlinkParseError {
  const b = new MessageBuilder().begin(type, 0, 1);
  build(b);
  const msg = b.finish().slice();
  return decodeRoute(new DataView(msg.buffer), 16, msg.length - 16, type);
}
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

describe('RouteRecord (a route kept as its bytes)', () => {
  const build = (b: MessageBuilder) => {
    b.bytes(rtmsg(AF_INET, 24, 252, RTN_UNICAST, RTNH_F_ONLINK));
    b.attr(RTA_TABLE, u32(70000));
    b.attr(RTA_DST, Uint8Array.of(192, 0, 2, 0));
    b.attr(RTA_GATEWAY, Uint8Array.of(10, 0, 0, 1));
    b.attr(RTA_OIF, u32(7));
    b.attr(77, Uint8Array.of(9));
  };
  const bytes = () => {
    const b = new MessageBuilder().begin(RTM_NEWROUTE, 0, 1);
    build(b);
    return b.finish().slice();
  };
  it('reads the same route as decodeRoute: header fields from the bytes, attributes decoded once', () => {
    const msg = bytes();
    const dv = new DataView(msg.buffer);
    const rec = RouteRecord.from(dv, 16, msg.length - 16, RTM_NEWROUTE) as RouteRecord;
    const plain = decodeRoute(dv, 16, msg.length - 16, RTM_NEWROUTE) as Route;
    expect(rec.table).toBe(70000); // found by the validation walk, no decode
    expect([rec.family, rec.dstLen, rec.type, rec.flags, rec.protocol, rec.deleted]).toEqual([AF_INET, 24, RTN_UNICAST, RTNH_F_ONLINK, 4, false]);
    expect([rec.dst, rec.gateway, rec.oif]).toEqual(['192.0.2.0', '10.0.0.1', 7]);
    expect(rec.toJSON()).toEqual(plain);
    expect(rec.toJSON()).toBe(rec.toJSON()); // cached
    expect(JSON.parse(JSON.stringify(rec))).toEqual(JSON.parse(JSON.stringify(plain)));
    expect(plainRoute(rec)).toBe(rec.toJSON());
    expect(routeJson(rec, ctx)).toEqual(routeJson(plain, ctx));
    expect(routeKey(rec)).toBe(routeKey(plain));
  });
  it('malformed bytes are an error value at construction, as decodeRoute gives', () => {
    const bad = Uint8Array.of(...rtmsg(AF_INET, 8, 254), 200, 0, RTA_MULTIPATH, 0);
    const dv = new DataView(bad.buffer);
    const r = RouteRecord.from(dv, 0, bad.length, RTM_NEWROUTE);
    expect(r).toBeInstanceOf(NetlinkParseError);
    expect(r).toEqual(decodeRoute(dv, 0, bad.length, RTM_NEWROUTE));
  });
});

describe('IPv6 text as inet_ntop writes it', () => {
  it.each([
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['2001:0:1:0:1:0:1:0', '2001:0:1:0:1:0:1:0'],
  ])('%s → %s', (full, text) => {
    expect(formatIPv6(parseAddress(full).bytes)).toBe(text);
  });
});

describe('route readers on a simulated kernel whose first dump pass is interrupted', () => {
  const N = 600;
  function setup() {
    const k = new NetlinkRingKernel();
    let attempts = 0;
    const sock = openSimulatedNetlinkSocket(k, {}, (d) => {
      const dv = new DataView(d.buffer, d.byteOffset);
      if (dv.getUint16(4, true) !== RTM_GETROUTE) return 0;
      const seq = dv.getUint32(8, true);
      attempts++;
      // The first pass sees the table change half-way: later records carry NLM_F_DUMP_INTR.
      const records = Array.from({ length: N }, (_, i) => {
        const flags = NLM_F_MULTI | (attempts === 1 && i >= N / 2 ? NLM_F_DUMP_INTR : 0);
        return new MessageBuilder()
          .begin(RTM_NEWROUTE, flags, seq, sock.portId)
          .bytes(rtmsg(AF_INET, 32, 254))
          .attr(RTA_DST, Uint8Array.of(10, 0, i >> 8, i & 255))
          .finish()
          .slice();
      });
      const done = new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(4)).finish().slice();
      k.startDump(records, done);
      return 0;
    });
    return { sock, attempts: () => attempts };
  }

  it("'retry' (default): the interrupted pass is dropped, the clean second pass emitted whole", async () => {
    const s = setup();
    const got = await getRoutes({ socket: s.sock });
    expect(s.attempts()).toBe(2);
    expect(got.map((r) => r.dst)).toEqual(Array.from({ length: N }, (_, i) => `10.0.${i >> 8}.${i & 255}`));
    expect(got.some((r) => r.interrupted)).toBe(false);
    s.sock.close();
  });
  it("'error': DumpInterruptedError, no second pass", async () => {
    const s = setup();
    await expect(lastValueFrom(routes({ socket: s.sock, onInterrupted: 'error' }).pipe(toArray()))).rejects.toBeInstanceOf(DumpInterruptedError);
    expect(s.attempts()).toBe(1);
    s.sock.close();
  });
  it("'flag': every record of the one pass, the interrupted datagrams' records marked", async () => {
    const s = setup();
    const got = await getRoutes({ socket: s.sock, onInterrupted: 'flag' });
    expect(s.attempts()).toBe(1);
    expect(got.length).toBe(N);
    expect(got.slice(0, N / 2).some((r) => r.interrupted)).toBe(false);
    expect(got.slice(N / 2).every((r) => r.interrupted)).toBe(true);
    s.sock.close();
  });
  it("'retry' gives up after `retries` interrupted passes", async () => {
    const k = new NetlinkRingKernel();
    const sock = openSimulatedNetlinkSocket(k, {}, (d) => {
      const seq = new DataView(d.buffer, d.byteOffset).getUint32(8, true);
      const rec = new MessageBuilder()
        .begin(RTM_NEWROUTE, NLM_F_MULTI | NLM_F_DUMP_INTR, seq, sock.portId)
        .bytes(rtmsg(AF_INET, 0, 254))
        .finish()
        .slice();
      k.startDump([rec], new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(4)).finish().slice());
      return 0;
    });
    await expect(getRoutes({ socket: sock, retries: 2 })).rejects.toThrow('the dump was interrupted by concurrent changes (NLM_F_DUMP_INTR) 3 time(s)');
    sock.close();
  });
  it('a malformed record errors the stream with MalformedMessageError', async () => {
    const k = new NetlinkRingKernel();
    const sock = openSimulatedNetlinkSocket(k, {}, (d) => {
      const seq = new DataView(d.buffer, d.byteOffset).getUint32(8, true);
      const rec = new MessageBuilder().begin(RTM_NEWROUTE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(6)).finish().slice();
      k.startDump([rec], new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(4)).finish().slice());
      return 0;
    });
    const err = await getRoutes({ socket: sock }).catch((e) => e);
    expect(err).toBeInstanceOf(MalformedMessageError);
    expect(err.message).toBe('malformed rtnetlink message: a route message needs 12 bytes of rtmsg, got 8 at offset 16');
    sock.close();
  });
});
