/**
 * {@link RouteTable}: a mirror of the kernel's routes that does not drift. A dump, then the route
 * and link multicast groups; on a lost event (ENOBUFS) or a link going down or away (for which the
 * kernel deletes IPv4 routes without telling anyone: no RTM_DELROUTE) it dumps again and emits the
 * difference, so after every reconciliation it equals a fresh dump.
 * @packageDocumentation
 */
import '../dispose';
import { Observable } from 'rxjs/internal/Observable';
import { Subject } from 'rxjs/internal/Subject';
import type { Subscription } from 'rxjs/internal/Subscription';
import { AF_INET, AF_INET6, IFF_UP, RTM_DELLINK, RTM_DELROUTE, RTM_NEWLINK, RTM_NEWROUTE, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_LINK } from '../constants';
import { NLMSG_HDRLEN, NetlinkParseError } from '../netlink/message';
import { NetlinkMessage, NetlinkSocket } from '../netlink/socket';
import { decodeLink } from './link';
import { DUMP_RX_RING, routeBatches } from './readers';
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
  /** 4, 6, or both (default). */
  family?: 4 | 6;
  /** Network namespace name or path. */
  netns?: string;
  /** Socket receive buffer (default 4 MiB). Small values make overruns, which the mirror repairs. */
  rcvbuf?: number;
}

/**
 * A route's identity: family, table, destination prefix, source prefix, TOS, priority and type.
 * Gateways and nexthops are its value, so ECMP routes are one entry whose nexthops change.
 */
export function routeKey(r: Route): string {
  return `${r.family}|${r.table}|${r.dst ?? ''}/${r.dstLen}|${r.src ?? ''}/${r.srcLen}|${r.tos}|${r.priority ?? ''}|${r.type}`;
}

/**
 * A route's value as the mirror compares it for 'change': every field but the volatile cache info
 * (lifetimes count down) and the deleted flag, as a string.
 */
export function routeValue(r: Route): string {
  return JSON.stringify({ ...plainRoute(r), cacheinfo: undefined, deleted: undefined, interrupted: undefined }, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v));
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

  private constructor(sock: NetlinkSocket, family: number) {
    this.#sock = sock;
    this.#family = family;
    // Events first: what changes during the dump is queued, not missed.
    this.#subs.push(sock.messages().subscribe((m) => (this.#dumping ? this.#queued.push(m) : this.#event(m))));
    this.#subs.push(sock.losses().subscribe(() => this.#resync()));
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#dump(resolve, reject);
    });
  }

  /**
   * Opens the mirror: joins the route and link groups, then dumps.
   * @throws TypeError / RangeError for bad options; RingError when the socket cannot be opened
   */
  static open(o: RouteTableOptions = {}): RouteTable {
    const family = o.family === undefined ? 0 : o.family === 4 ? AF_INET : o.family === 6 ? AF_INET6 : -1;
    if (family < 0) throw new RangeError(`family must be 4 or 6, got ${JSON.stringify(o.family)}`);
    const groups = [RTNLGRP_LINK];
    if (family !== AF_INET6) groups.push(RTNLGRP_IPV4_ROUTE);
    if (family !== AF_INET) groups.push(RTNLGRP_IPV6_ROUTE);
    const sock = NetlinkSocket.open({ protocol: 'route', netns: o.netns, groups, rcvbuf: o.rcvbuf, rx: DUMP_RX_RING });
    return new RouteTable(sock, family);
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

  /** Resolves when no re-dump is running or queued (at once if none is). */
  settled(): Promise<void> {
    if (!this.#dumping) return Promise.resolve();
    return new Promise((resolve) => this.#settled.push(resolve));
  }

  /** Every add, change and delete, as they are applied. Hot; completes on close. */
  changes(): Observable<RouteDiff> {
    return this.#changes.asObservable();
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
    const family = this.#family === AF_INET ? 4 : this.#family === AF_INET6 ? 6 : undefined;
    this.#dumping = routeBatches({ socket: this.#sock, family, onInterrupted: 'retry' }).subscribe({
      next: (batch) => {
        for (const r of batch) fresh.set(routeKey(r), r);
      },
      error: (e) => {
        this.#dumping = null;
        reject(e);
        if (!this.#closed) this.#changes.error(e);
      },
      complete: () => {
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
    const k = routeKey(r);
    const old = this.#map.get(k);
    if (r.deleted) {
      if (!old) return;
      this.#map.delete(k);
      this.#changes.next({ kind: 'delete', route: old, previous: old, cause: 'event' });
      return;
    }
    this.#map.set(k, r);
    if (!old) this.#changes.next({ kind: 'add', route: r, cause: 'event' });
    else if (routeValue(old) !== routeValue(r)) this.#changes.next({ kind: 'change', route: r, previous: old, cause: 'event' });
  }
}
