/**
 * {@link RouteTable}: a mirror of the kernel's routes that does not drift. A dump, then the route
 * and link multicast groups; on a lost event (ENOBUFS) or a link going down or away (for which the
 * kernel deletes IPv4 routes without telling anyone: no RTM_DELROUTE) it dumps again and emits the
 * difference, so after every reconciliation it equals a fresh dump.
 * @packageDocumentation
 */
import '../dispose';
import { Observable } from 'rxjs/internal/Observable';
import { guarded } from '../guarded';
import { Subject } from 'rxjs/internal/Subject';
import type { Subscription } from 'rxjs/internal/Subscription';
import {
  AF_INET,
  AF_INET6,
  IFF_UP,
  RTPROT_RA,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
} from '../constants';
import { NetlinkParseError } from '../netlink/message';
import { NLM_F_APPEND, NLM_F_REPLACE, NLMSG_HDRLEN } from '../constants';
import { NetlinkMessage, NetlinkSocket } from '../netlink/socket';
import { decodeLink, Link } from './link';
import { AddressFamily, DUMP_RX_RING, familyNumber, routeBatches } from './readers';
import { armCancel, CancelOptions, cancellable, cancelOptionsError, checkCancelOptions } from '../cancel';
import { decodeRoute, plainRoute, Route } from './route';

const LINK_STATE = IFF_UP | 0x10000; // IFF_LOWER_UP

/** One change of the mirror. `cause`: a kernel event, or a re-dump's reconciliation. */
export interface RouteDiff {
  kind: 'add' | 'change' | 'delete';
  route: Route;
  /** The value before, for 'change' (and the deleted value for 'delete'). */
  previous?: Route;
  cause: 'event' | 'resync';
}

/** Options of {@link RouteTable.open}. */
export interface RouteTableOptions {
  /** `AF_INET` (2), `AF_INET6` (10), or both (default): the numbers routes carry in `family`. */
  family?: AddressFamily;
  /** Network namespace name or path. */
  netns?: string;
  /** Socket receive buffer (default 4 MiB). Small values make overruns, which the mirror repairs. */
  rcvbuf?: number;
  /** Aborting before {@link RouteTable.ready} closes the mirror and rejects `ready` with the signal's reason. */
  signal?: AbortSignal;
  /** The first dump's time limit: past it the mirror closes and `ready` rejects (code `'ERR_KRING_TIMEOUT'`). */
  timeoutMs?: number;
}

function nexthopKey(gateway: string | undefined, via: Route['via'], ifindex: number | undefined): string {
  return `${gateway ?? (via ? `${via.family}:${via.address}` : '')}@${ifindex ?? ''}`;
}

/**
 * IPv6: whether the kernel merges this route with others of the same destination and metric into
 * one ECMP set (rt6_qualify_for_ecmp(): a gateway, no nexthop object, not from addrconf).
 */
function ecmpQualified(r: Route): boolean {
  return r.nhid === undefined && r.protocol !== RTPROT_RA && (r.multipath !== undefined || r.gateway !== undefined);
}

/**
 * What the kernel keys a list of routes by: IPv4 fib aliases share table, destination, TOS and
 * priority (fib_find_alias()); IPv6 routes share table, destination, source and metric (a fib6
 * node's routes of one metric).
 */
export function routeGroupKey(r: Route): string {
  return r.family === AF_INET6
    ? `${r.family}|${r.table}|${r.dst ?? ''}/${r.dstLen}|${r.src ?? ''}/${r.srcLen}|${r.priority ?? ''}`
    : `${r.family}|${r.table}|${r.dst ?? ''}/${r.dstLen}|${r.tos}|${r.priority ?? ''}`;
}

/**
 * A route's identity as the kernel's: within its {@link routeGroupKey}, IPv4 aliases differ by
 * type and fib_info (nexthops, preferred source, protocol, scope), so `ip route append` of the same
 * prefix via another gateway is another route; an IPv6 route by device and gateway, except that
 * gateway routes of one metric are one ECMP set (siblings merge into one multipath route and
 * split again), whatever nexthops it has now. Nexthop flags (linkdown, dead) and ECMP weights of
 * IPv6 sets are value, not identity.
 */
export function routeKey(r: Route): string {
  const group = routeGroupKey(r);
  if (r.family === AF_INET6) {
    if (ecmpQualified(r)) return `${group}|ecmp`;
    return `${group}|${r.type}|${nexthopKey(r.gateway, r.via, r.oif)}|${r.nhid ?? ''}`;
  }
  const hops = r.multipath ? r.multipath.map((n) => `${nexthopKey(n.gateway, n.via, n.ifindex)}*${n.weight}`).join(',') : nexthopKey(r.gateway, r.via, r.oif);
  return `${group}|${r.type}|${hops}|${r.nhid ?? ''}|${r.prefsrc ?? ''}|${r.protocol}|${r.scope}`;
}

/**
 * A route's value as the mirror compares it for 'change': every field but the volatile cache info
 * (lifetimes count down) and the deleted flag, as a string.
 */
export function routeValue(r: Route): string {
  return JSON.stringify({ ...plainRoute(r), cacheinfo: undefined, deleted: undefined, interrupted: undefined }, (_k, v) =>
    v instanceof Uint8Array ? Array.from(v) : v,
  );
}

/**
 * The route mirror. Open it, await {@link ready}, read {@link routes}, subscribe to {@link changes}.
 * Diffs are emitted from the first dump on (as 'add', cause 'resync').
 */
export class RouteTable implements Disposable {
  /** Resolves once the first dump is in (or at close, if that comes first); rejects if the dump fails. */
  readonly ready: Promise<void>;
  /** Re-dumps done after the first (for overruns and links going down). */
  resyncs = 0;
  #sock: NetlinkSocket;
  #family: number;
  #map = new Map<string, Route>();
  /** Identity keys of each group, in the kernel's order (replace takes the first). */
  #groups = new Map<string, string[]>();
  #linkChanges = new Subject<Link>();
  #changes = new Subject<RouteDiff>();
  #subs: Subscription[] = [];
  #dumping: Subscription | null = null;
  #queued: NetlinkMessage[] = [];
  #again = false;
  #closed = false;
  #settled: (() => void)[] = [];
  #resolveReady: (() => void) | null = null;
  /** Last seen IFF_UP | IFF_LOWER_UP of each link that sent an event. */
  #links = new Map<number, number>();

  private constructor(sock: NetlinkSocket, family: number, o: RouteTableOptions) {
    this.#sock = sock;
    this.#family = family;
    // Events first: what changes during the dump is queued, not missed.
    // Route events that come during a dump wait for it (they apply on top of its result); link
    // events are taken at once, so that linkChanges() names a link before the dump's diffs show its
    // routes (a link event only asks for another dump, which waits its turn).
    this.#subs.push(
      sock.messages().subscribe((m) => (this.#dumping && m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK ? this.#queued.push(m) : this.#event(m))),
    );
    this.#subs.push(sock.losses().subscribe(() => this.#resync()));
    let settle: ((e?: unknown) => void) | null = null;
    let disarm = (): void => undefined;
    this.ready = new Promise((resolve, reject) => {
      let done = false;
      const end = (f: () => void) => {
        if (done) return;
        done = true;
        disarm();
        f();
      };
      this.#resolveReady = () => end(resolve);
      settle = (e) => end(() => reject(e));
      this.#dump(
        () => end(resolve),
        (e) => end(() => reject(e)),
      );
    });
    // Cancelling the first dump: the mirror closes, and ready rejects with the reason.
    disarm = armCancel(o, "the route mirror's first dump did not end", (e) => {
      settle?.(e);
      this.close();
    });
  }

  /**
   * Opens the mirror: joins the route and link groups, then dumps.
   * @throws TypeError / RangeError for bad options; RingError when the socket cannot be opened
   */
  static open(o: RouteTableOptions = {}): RouteTable {
    const family = familyNumber(o.family);
    const groups = [RTNLGRP_LINK];
    if (family !== AF_INET6) groups.push(RTNLGRP_IPV4_ROUTE);
    if (family !== AF_INET) groups.push(RTNLGRP_IPV6_ROUTE);
    checkCancelOptions(o);
    const sock = NetlinkSocket.open({ protocol: 'route', netns: o.netns, groups, rcvbuf: o.rcvbuf, rx: DUMP_RX_RING });
    return new RouteTable(sock, family, o);
  }

  /** The mirrored routes now (a new array; the Route objects are the mirror's, do not modify them). */
  routes(): Route[] {
    return [...this.#map.values()];
  }

  /** How many routes the mirror holds. */
  get size(): number {
    return this.#map.size;
  }

  /** Whether a re-dump is running or queued. */
  get resyncing(): boolean {
    return this.#dumping !== null;
  }

  /**
   * Resolves when no re-dump is running or queued (at once if none is; also when the mirror
   * closes). Rejects with the abort reason or a timeout first if they come first.
   */
  settled(options: CancelOptions = {}): Promise<void> {
    const bad = cancelOptionsError(options);
    if (bad) return Promise.reject(bad);
    if (!this.#dumping) return Promise.resolve();
    let f: () => void = () => undefined;
    return cancellable(
      () => new Promise<void>((resolve) => this.#settled.push((f = resolve))),
      options,
      "the route mirror's re-dump did not end",
      () => {
        const i = this.#settled.indexOf(f);
        if (i >= 0) this.#settled.splice(i, 1);
      },
    );
  }

  /** Every add, change and delete, as they are applied. Hot; completes on close. */
  changes(): Observable<RouteDiff> {
    return guarded(this.#changes.asObservable());
  }

  /**
   * The link events (RTM_NEWLINK, and RTM_DELLINK with `deleted` set) the mirror follows, in their
   * order among the route events: a consumer that names devices can keep its names current before
   * the routes of a new link arrive. Hot; completes on close.
   */
  linkChanges(): Observable<Link> {
    return guarded(this.#linkChanges.asObservable());
  }

  /** Dumps again now and emits the difference (what overruns and link-down events do). */
  resync(): void {
    this.#resync();
  }

  /** Stops following the kernel and closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dumping?.unsubscribe();
    this.#dumping = null;
    for (const s of this.#subs) s.unsubscribe();
    this.#sock.close();
    this.#changes.complete();
    this.#linkChanges.complete();
    this.#resolveReady?.(); // closed before the first dump finished: ready, and empty
    for (const f of this.#settled.splice(0)) f();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #resync(): void {
    if (this.#closed) return;
    if (this.#dumping) {
      this.#again = true;
      return;
    }
    this.resyncs++;
    this.#dump(
      () => undefined,
      () => undefined,
    );
  }

  // Dumps into a fresh map, then reconciles: adds, changes and deletes against what the mirror had.
  #dump(resolve: () => void, reject: (e: unknown) => void): void {
    const fresh = new Map<string, Route>();
    const groups = new Map<string, string[]>();
    const family = this.#family === 0 ? undefined : (this.#family as AddressFamily);
    this.#dumping = routeBatches({ socket: this.#sock, family, onInterrupted: 'retry' }).subscribe({
      next: (batch) => {
        // A dump lists each group's routes in the kernel's order.
        for (const r of batch) {
          const k = routeKey(r);
          if (!fresh.has(k)) listOf(groups, routeGroupKey(r)).push(k);
          fresh.set(k, r);
        }
      },
      error: (e) => {
        this.#dumping = null;
        reject(e);
        if (!this.#closed) this.#changes.error(e);
      },
      complete: () => {
        this.#groups = groups;
        this.#reconcile(fresh);
        const queued = this.#queued.splice(0);
        this.#dumping = null;
        for (const m of queued) this.#event(m);
        resolve();
        if (this.#again) {
          this.#again = false;
          this.#resync();
        }
        if (!this.#dumping) for (const f of this.#settled.splice(0)) f();
      },
    });
  }

  #reconcile(fresh: Map<string, Route>): void {
    for (const [k, old] of this.#map) {
      if (!fresh.has(k)) {
        this.#map.delete(k);
        this.#changes.next({ kind: 'delete', route: old, previous: old, cause: 'resync' });
      }
    }
    for (const [k, r] of fresh) {
      const old = this.#map.get(k);
      this.#map.set(k, r);
      if (!old) this.#changes.next({ kind: 'add', route: r, cause: 'resync' });
      else if (routeValue(old) !== routeValue(r)) this.#changes.next({ kind: 'change', route: r, previous: old, cause: 'resync' });
    }
  }

  #event(m: NetlinkMessage): void {
    if (this.#closed) return;
    const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.length);
    if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
      const l = decodeLink(dv, NLMSG_HDRLEN, m.bytes.length - NLMSG_HDRLEN, m.type);
      if (l instanceof NetlinkParseError) return;
      this.#linkChanges.next(l);
      // A link going down or away takes its routes with it, silently for IPv4, and a carrier
      // change flips RTNH_F_LINKDOWN on routes without an event: dump again on either.
      const now = l.deleted ? -1 : l.flags & LINK_STATE;
      const was = this.#links.get(l.index);
      if (l.deleted) this.#links.delete(l.index);
      else this.#links.set(l.index, now);
      if (was !== now && (was !== undefined || now !== LINK_STATE)) this.#resync();
      return;
    }
    if (m.type !== RTM_NEWROUTE && m.type !== RTM_DELROUTE) return;
    const r = decodeRoute(dv, NLMSG_HDRLEN, m.bytes.length - NLMSG_HDRLEN, m.type);
    if (r instanceof NetlinkParseError) return this.#resync();
    if (this.#family && r.family !== this.#family) return;
    if (r.deleted) this.#deleted(r);
    else this.#added(r, m.flags);
  }

  #deleted(r: Route): void {
    const k = routeKey(r);
    const old = this.#map.get(k);
    if (!old) return;
    // One sibling of an IPv6 ECMP set went (the event names only it): what is left is a set, or a
    // single route, whose value only a dump gives exactly.
    if (old.multipath && r.family === AF_INET6 && !sameNexthops(old, r)) return this.#resync();
    this.#remove(k);
    this.#changes.next({ kind: 'delete', route: old, previous: old, cause: 'event' });
  }

  // RTM_NEWROUTE's flags say where the kernel put it (fib_table_insert(), fib6_add_rt2node()):
  // NLM_F_REPLACE took the place of the group's first route (IPv6: of the same ECMP-ness),
  // NLM_F_APPEND went last, otherwise first (prepend; for a new group it makes no difference).
  #added(r: Route, flags: number): void {
    const k = routeKey(r);
    const g = routeGroupKey(r);
    const list = listOf(this.#groups, g);
    if (flags & NLM_F_REPLACE) {
      const victim = r.family === AF_INET6 ? list.find((x) => x === k || (!x.endsWith('|ecmp') && !k.endsWith('|ecmp'))) : list[0];
      if (victim !== undefined && victim !== k) {
        const previous = this.#map.get(victim)!;
        list[list.indexOf(victim)] = k;
        this.#map.delete(victim);
        this.#map.set(k, r);
        this.#changes.next({ kind: 'change', route: r, previous, cause: 'event' });
        return;
      }
    }
    const old = this.#map.get(k);
    // A nexthop joined an IPv6 ECMP set: the event lists the set from the new sibling on, a dump
    // (and ip) from the first one, so only a dump gives the route as the kernel keeps it.
    if (old && r.family === AF_INET6 && r.multipath && !(flags & NLM_F_REPLACE)) return this.#resync();
    this.#map.set(k, r);
    if (old) {
      if (routeValue(old) !== routeValue(r)) this.#changes.next({ kind: 'change', route: r, previous: old, cause: 'event' });
      return;
    }
    if (flags & NLM_F_APPEND || r.family === AF_INET6) list.push(k);
    else list.unshift(k);
    this.#changes.next({ kind: 'add', route: r, cause: 'event' });
  }

  #remove(k: string): void {
    const r = this.#map.get(k);
    if (!r) return;
    this.#map.delete(k);
    const g = routeGroupKey(r);
    const list = this.#groups.get(g);
    if (!list) return;
    const i = list.indexOf(k);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#groups.delete(g);
  }
}

function listOf(groups: Map<string, string[]>, g: string): string[] {
  let list = groups.get(g);
  if (!list) groups.set(g, (list = []));
  return list;
}

// An IPv6 deletion that names every nexthop of the set (ip -6 route del of the whole route).
function sameNexthops(set: Route, r: Route): boolean {
  const keys = (x: Route) =>
    (x.multipath ? x.multipath.map((n) => nexthopKey(n.gateway, n.via, n.ifindex)) : [nexthopKey(x.gateway, x.via, x.oif)]).sort().join(',');
  return keys(set) === keys(r);
}
