// RouteRecord: a route kept as its bytes, read in place and decoded on first access.
import { inspect } from 'node:util';
import { AF_INET, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_OIF, RTA_TABLE, RTM_NEWROUTE, RTN_UNICAST, RTNH_F_ONLINK } from '../../src/constants';
import { MessageBuilder, NetlinkParseError } from '../../src/netlink/message';
import { routeJson } from '../../src/cli/ip-format';
import { decodeRoute, plainRoute, Route } from '../../src/rtnetlink/route';
import { RouteRecord } from '../../src/rtnetlink/route-record';
import { routeKey } from '../../src/rtnetlink/route-table';
import { u32, rtmsg } from '../helpers/crafted-route';

const ctx = { ifname: (i: number) => `if${i}` };

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
  it('prints and copies like the plain route it is: util.inspect, toObject, structuredClone of toObject', () => {
    const msg = bytes();
    const dv = new DataView(msg.buffer);
    const rec = RouteRecord.from(dv, 16, msg.length - 16, RTM_NEWROUTE) as RouteRecord;
    const plain = decodeRoute(dv, 16, msg.length - 16, RTM_NEWROUTE) as Route;
    expect(inspect(rec)).toBe(`RouteRecord ${inspect(plain)}`);
    expect(inspect(rec)).toContain("dst: '192.0.2.0'");
    expect({ ...rec }).toEqual({}); // getters over the bytes: spread sees nothing, hence toObject()
    const copy = rec.toObject();
    expect(copy).toEqual(plain);
    expect(copy).not.toBe(rec.toJSON());
    expect(Object.keys(copy)).toEqual(Object.keys(plain));
    expect(structuredClone(copy)).toEqual(plain);
  });

  it('malformed bytes are an error value at construction, as decodeRoute gives', () => {
    const bad = Uint8Array.of(...rtmsg(AF_INET, 8, 254), 200, 0, RTA_MULTIPATH, 0);
    const dv = new DataView(bad.buffer);
    const r = RouteRecord.from(dv, 0, bad.length, RTM_NEWROUTE);
    expect(r).toBeInstanceOf(NetlinkParseError);
    expect(r).toEqual(decodeRoute(dv, 0, bad.length, RTM_NEWROUTE));
  });
});
