/**
 * {@link RouteRecord}: a {@link Route} kept as its message bytes. The `struct rtmsg` fields read
 * straight from the bytes; the attributes are decoded on first access of any of them and cached.
 * A retained million-route table costs its bytes (~60 per route) and a small object, not a
 * decoded object graph (~240 bytes): what `getRoutes()` and the route readers hand out.
 * @packageDocumentation
 */
import { inspect, InspectOptionsStylized } from 'node:util';
import * as uapi from '../constants';
import { NLMSGHDR } from '../layouts/netlink';
import { RTMSG, RTNEXTHOP } from '../layouts/rtnetlink';
import { AttrCursor, NetlinkParseError } from '../netlink/message';
import { RawAttribute } from './types';
import { decodeRoute, Nexthop, Route, RouteCacheInfo, RouteVia } from './route';

// Module-local copies of the constants: compiled to CommonJS, an imported binding is a property
// of the other module's exports, read again on every use of it, which validate(), run once per
// route of every dump, would pay per route (docs/benchmarks.md).
const { RT_TABLE_COMPAT, RTA_MULTIPATH, RTA_TABLE, RTM_DELROUTE, RTMSG_SIZE, RTNEXTHOP_SIZE } = uapi;
const { NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN } = uapi;
const { nlmsg_len: NLMSG_LEN, nlmsg_type: NLMSG_TYPE } = NLMSGHDR;
const {
  rtm_family: FAMILY,
  rtm_dst_len: DST_LEN,
  rtm_src_len: SRC_LEN,
  rtm_tos: TOS,
  rtm_table: TABLE,
  rtm_protocol: PROTOCOL,
  rtm_scope: SCOPE,
  rtm_type: TYPE,
  rtm_flags: FLAGS,
} = RTMSG;
const { rtnh_len: RTNH_LEN } = RTNEXTHOP;

/**
 * Checks a route message's structure (rtmsg, attribute and nexthop lengths) without decoding
 * values, and finds RTA_TABLE. Returns the table, or the error a full decode would return.
 */
function validate(dv: DataView, at: number, len: number): number | NetlinkParseError {
  if (len < RTMSG_SIZE) return new NetlinkParseError(`a route message needs ${RTMSG_SIZE} bytes of rtmsg, got ${len}`, at);
  let table = dv.getUint8(at + TABLE);
  // The attribute walk of AttrCursor, inlined: this runs once per route of every dump. One 32-bit
  // read per struct nlattr (nla_len in the low half, nla_type in the high half; attributes are
  // 4-byte aligned) instead of two 16-bit ones: a third less time per route.
  const end = at + len;
  let p = at + RTMSG_SIZE;
  while (end - p >= NLA_HDRLEN) {
    const w = dv.getUint32(p, true);
    const l = w & 0xffff;
    if (l < NLA_HDRLEN || l > end - p) return new NetlinkParseError(`nla_len ${l} is outside ${NLA_HDRLEN}..${end - p}`, p);
    const type = (w >>> 16) & NLA_TYPE_MASK;
    if (type === RTA_TABLE && l >= NLA_HDRLEN + 4) table = dv.getUint32(p + NLA_HDRLEN, true);
    else if (type === RTA_MULTIPATH) {
      const e = validateMultipath(dv, p + NLA_HDRLEN, p + l);
      if (e) return e;
    }
    p += (l + 3) & ~3;
  }
  if (end - p > 0 && end - p < NLA_HDRLEN) return new NetlinkParseError(`${end - p} trailing bytes, less than an nlattr`, p);
  return table;
}

function validateMultipath(dv: DataView, p: number, end: number): NetlinkParseError | null {
  while (end - p >= RTNEXTHOP_SIZE) {
    const l = dv.getUint16(p + RTNH_LEN, true);
    if (l < RTNEXTHOP_SIZE || l > end - p) return new NetlinkParseError(`rtnh_len ${l} is outside ${RTNEXTHOP_SIZE}..${end - p}`, p);
    const c = new AttrCursor(dv, p + RTNEXTHOP_SIZE, p + l);
    while (c.next());
    if (c.error) return c.error;
    p += (l + 3) & ~3;
  }
  return null;
}

const decoded = new WeakMap<RouteRecord, Route>();

/** A route read from its message bytes; see the module comment. Serialises (toJSON) as the plain {@link Route}. */
export class RouteRecord implements Route {
  // Two fields per record (a million of them are kept, and every field is bytes the young
  // generation copies): the length and type are read back from the nlmsghdr in front of the
  // payload, and the decoded form lives in a WeakMap, created only when asked for.
  readonly #dv: DataView;
  readonly #at: number;

  private constructor(dv: DataView, at: number) {
    this.#dv = dv;
    this.#at = at;
  }

  /**
   * A record over the payload at `[at, at + len)` of `dv`, which must be a whole message: its
   * nlmsghdr (of type `msgType`, length `len + 16`) right before `at`. `dv` is kept (do not
   * reuse that memory: copy it out of a ring first). Malformed input is an error value.
   * @throws RangeError when no matching nlmsghdr precedes the payload
   */
  static from(dv: DataView, at: number, len: number, msgType: number): RouteRecord | NetlinkParseError {
    const t = validate(dv, at, len);
    if (typeof t !== 'number') return t;
    const h = at - NLMSG_HDRLEN;
    if (at < NLMSG_HDRLEN || dv.getUint32(h + NLMSG_LEN, true) !== len + NLMSG_HDRLEN || dv.getUint16(h + NLMSG_TYPE, true) !== msgType) {
      throw new RangeError('RouteRecord.from() needs the payload of a whole message, its nlmsghdr right before it');
    }
    return new RouteRecord(dv, at);
  }

  /** RTA_TABLE when present (ids above 255 leave rtm_table at RT_TABLE_COMPAT), else rtm_table. */
  get table(): number {
    const t = this.#dv.getUint8(this.#at + TABLE);
    return t === RT_TABLE_COMPAT ? (validate(this.#dv, this.#at, this.#len) as number) : t;
  }

  get #len(): number {
    return this.#dv.getUint32(this.#at - NLMSG_HDRLEN + NLMSG_LEN, true) - NLMSG_HDRLEN;
  }
  get #msgType(): number {
    return this.#dv.getUint16(this.#at - NLMSG_HDRLEN + NLMSG_TYPE, true);
  }

  get deleted(): boolean {
    return this.#msgType === RTM_DELROUTE;
  }
  get family(): number {
    return this.#dv.getUint8(this.#at + FAMILY);
  }
  get dstLen(): number {
    return this.#dv.getUint8(this.#at + DST_LEN);
  }
  get srcLen(): number {
    return this.#dv.getUint8(this.#at + SRC_LEN);
  }
  get tos(): number {
    return this.#dv.getUint8(this.#at + TOS);
  }
  get protocol(): number {
    return this.#dv.getUint8(this.#at + PROTOCOL);
  }
  get scope(): number {
    return this.#dv.getUint8(this.#at + SCOPE);
  }
  get type(): number {
    return this.#dv.getUint8(this.#at + TYPE);
  }
  get flags(): number {
    return this.#dv.getUint32(this.#at + FLAGS, true);
  }
  get dst(): string | undefined {
    return this.toJSON().dst;
  }
  get src(): string | undefined {
    return this.toJSON().src;
  }
  get gateway(): string | undefined {
    return this.toJSON().gateway;
  }
  get via(): RouteVia | undefined {
    return this.toJSON().via;
  }
  get oif(): number | undefined {
    return this.toJSON().oif;
  }
  get iif(): number | undefined {
    return this.toJSON().iif;
  }
  get priority(): number | undefined {
    return this.toJSON().priority;
  }
  get prefsrc(): string | undefined {
    return this.toJSON().prefsrc;
  }
  get metrics(): Record<string, number | string> | undefined {
    return this.toJSON().metrics;
  }
  get metricsLock(): number | undefined {
    return this.toJSON().metricsLock;
  }
  get multipath(): Nexthop[] | undefined {
    return this.toJSON().multipath;
  }
  get pref(): number | undefined {
    return this.toJSON().pref;
  }
  get expires(): number | undefined {
    return this.toJSON().expires;
  }
  get nhid(): number | undefined {
    return this.toJSON().nhid;
  }
  get encapType(): number | undefined {
    return this.toJSON().encapType;
  }
  get encap(): Uint8Array | undefined {
    return this.toJSON().encap;
  }
  get cacheinfo(): RouteCacheInfo | undefined {
    return this.toJSON().cacheinfo;
  }
  get mark(): number | undefined {
    return this.toJSON().mark;
  }
  get realms(): number | undefined {
    return this.toJSON().realms;
  }
  get uid(): number | undefined {
    return this.toJSON().uid;
  }
  get ttlPropagate(): number | undefined {
    return this.toJSON().ttlPropagate;
  }
  get newdst(): Uint8Array | undefined {
    return this.toJSON().newdst;
  }
  get unknown(): RawAttribute[] {
    return this.toJSON().unknown;
  }

  /** The plain decoded {@link Route} (decoded once, then cached). */
  toJSON(): Route {
    let r = decoded.get(this);
    if (!r) {
      // Validated at construction, so the decode cannot fail.
      r = decodeRoute(this.#dv, this.#at, this.#len, this.#msgType) as Route;
      decoded.set(this, r);
    }
    return r;
  }

  /**
   * A plain object copy of the route (its own enumerable fields): what spreading, `Object.keys` or
   * `structuredClone` need, which see no fields on the record itself (they are getters over the
   * message bytes).
   */
  toObject(): Route {
    return { ...this.toJSON() };
  }

  /** `console.log(route)` and `util.inspect(route)` show the route's fields, not an empty record. */
  [inspect.custom](depth: number, options: InspectOptionsStylized, insp: typeof inspect): string {
    return `RouteRecord ${insp(this.toJSON(), { ...options, depth: options.depth === null ? null : depth })}`;
  }
}
