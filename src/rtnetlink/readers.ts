/**
 * Streaming readers of the kernel's routing tables, links, addresses and neighbours: one dump
 * through a {@link NetlinkSocket}'s ring per subscription, records decoded in place from each
 * datagram (no copy of the message first).
 * @packageDocumentation
 */
import { Observable } from 'rxjs/internal/Observable';
import { GuardedObservable } from '../guarded';
import { AF_INET, AF_INET6, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE } from '../constants';
import { MalformedMessageError, NetlinkParseError } from '../netlink/message';
import { DumpInterruptedError, DumpInterruptPolicy, NetlinkSocket } from '../netlink/socket';
import { choice, describe, int, netnsPath, optionsObject } from '../validate';
import type { RingGeometry } from '../layouts/types';
import { Address, addressDumpRequest, decodeAddress } from './address';
import { decodeLink, Link, linkDumpRequest } from './link';
import { decodeNeighbour, Neighbour, neighbourDumpRequest } from './neighbour';
import { Route, routeDumpRequest } from './route';
import { tableId } from './names';
import { CancelOptions, checkCancelOptions } from '../cancel';
import { RouteRecord } from './route-record';

/** Options every reader takes. */
export interface ReaderOptions extends CancelOptions {
  /** Read inside this network namespace (a name in /run/netns or a path); the calling thread's namespace is untouched. */
  netns?: string;
  /**
   * NLM_F_DUMP_INTR (the table changed during the dump): `'retry'` (default) holds the records
   * until a clean pass, dumping again up to `retries` (3) times; `'error'` errors with
   * DumpInterruptedError; `'flag'` streams on and sets `interrupted` on the first flagged record
   * and every record after it.
   */
  onInterrupted?: DumpInterruptPolicy;
  retries?: number;
  /** Use this socket instead of opening one (it is not closed). */
  socket?: NetlinkSocket;
  // signal, timeoutMs (CancelOptions): an abort or a timeout stops the dump; the Observable errors
  // (the Promise rejects) with the reason. No time limit by default.
}

/** Which routes {@link routes} reads. */
export interface RouteReaderOptions extends ReaderOptions {
  /** `AF_INET` (2), `AF_INET6` (10), or both (default): the numbers records carry in `family`. */
  family?: AddressFamily;
  /**
   * A table id, a name as ip knows it (`'main'`, `'local'`, `'default'`, or one from
   * /etc/iproute2/rt_tables), or `'all'` (default; also 0). Filtered by the kernel (strict checking)
   * and again here.
   */
  table?: number | 'all' | 'main' | 'local' | 'default' | (string & {});
  /** Kernel-side filters (strict checking): protocol, type, output interface; a predicate runs here. */
  filter?: { protocol?: number; type?: number; oif?: number; predicate?: (r: Route) => boolean };
}

/** A record of a dump read with 'flag': set when NLM_F_DUMP_INTR was seen at or before it. */
export type Flagged<T> = T & { interrupted?: boolean };

/**
 * The RX ring of a socket a reader or a mirror opens for its dumps: 64 frames of 32 KiB (2 MiB,
 * twice a NetlinkSocket's default), so the read-ahead can run up to 48 datagrams ahead of the
 * decoder.
 * @internal
 */
export const DUMP_RX_RING: RingGeometry = { blockSize: 32768, blockCount: 64, frameSize: 32768, frameCount: 64 };

/** The keep-everything filter (recognised, so it costs no call per record). */
const all = (): boolean => true;

type Decoder<T> = (dv: DataView, at: number, len: number, type: number) => T | NetlinkParseError;

/**
 * An address family as the kernel numbers it, in options and in records alike (pyroute2's
 * convention): `AF_INET` (2) or `AF_INET6` (10), both exported by the package.
 */
export type AddressFamily = typeof AF_INET | typeof AF_INET6;

/** Checks a `family` option: undefined (both, AF_UNSPEC) or one of {@link AddressFamily}. @internal */
export function familyNumber(f: AddressFamily | undefined): number {
  if (f === undefined) return 0;
  if (f === AF_INET || f === AF_INET6) return f;
  const hint = (f as unknown) === 4 ? " (4 is AF_INET's IP version: pass AF_INET)" : (f as unknown) === 6 ? " (6 is AF_INET6's IP version: pass AF_INET6)" : '';
  throw new RangeError(`family must be AF_INET (2) or AF_INET6 (10), got ${describe(f)}${hint}`);
}

function checkCommon(o: ReaderOptions): void {
  choice('onInterrupted', o.onInterrupted ?? 'retry', ['retry', 'error', 'flag'] as const);
  if (o.retries !== undefined) int('retries', o.retries, 0, 1000);
  checkCancelOptions(o);
  if (o.socket !== undefined && !(o.socket instanceof NetlinkSocket)) throw new TypeError(`socket must be a NetlinkSocket, got ${describe(o.socket)}`);
  netnsPath(o.netns);
}

/**
 * The shared dump loop: a sink on the socket's dump engine, which walks each datagram once and
 * applies the NLM_F_DUMP_INTR policy. Records are decoded in place as the engine walks them, one
 * emission per datagram (`Flagged<T>[]`); under 'retry' the batches of a pass are held until its
 * clean NLMSG_DONE. `keepsBytes`: the records keep their message bytes, so each datagram is copied
 * out of the ring first (once per datagram, up to ~32 KiB). A `keep` that throws (a user's
 * predicate) errors the stream: a user callback's exception never reaches the process.
 */
function dumpRecords<T>(
  o: ReaderOptions,
  request: Uint8Array,
  want: number,
  decode: Decoder<T>,
  keep: (x: T) => boolean,
  strict: boolean,
  keepsBytes = false,
): Observable<Flagged<T>[]> {
  checkCommon(o);
  const policy = o.onInterrupted ?? 'retry';
  const retries = o.retries ?? 3;
  return new GuardedObservable<Flagged<T>[]>((sub) => {
    const sock = o.socket ?? NetlinkSocket.open({ protocol: 'route', netns: o.netns, strict, rx: DUMP_RX_RING });
    let held: Flagged<T>[][] = [];
    let out: Flagged<T>[] = [];
    let dv: DataView | null = null;
    const stop = sock.dumpInto(
      request,
      { onInterrupted: policy, retries, signal: o.signal, timeoutMs: o.timeoutMs },
      {
        begin: (view) => {
          dv = keepsBytes ? new DataView(new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer) : view;
        },
        record: (m, interrupted) => {
          if (m.type !== want) return;
          const x = decode(dv!, m.payload, m.payloadLen, m.type);
          if (x instanceof NetlinkParseError) throw new MalformedMessageError(x, 'rtnetlink');
          if (keep !== all && !keep(x)) return;
          if (interrupted) (x as Flagged<T>).interrupted = true;
          out.push(x as Flagged<T>);
        },
        end: () => {
          if (out.length === 0) return;
          if (policy === 'retry') held.push(out);
          else sub.next(out);
          out = [];
        },
        discard: () => {
          held = [];
          out = [];
        },
        complete: () => {
          for (const b of held) sub.next(b);
          sub.complete();
        },
        error: (e) => sub.error(e),
      },
    );
    return () => {
      stop();
      if (!o.socket) sock.close();
    };
  });
}

/**
 * How many routes {@link routes} would emit, counted as the dump goes: nothing is kept, and a pass
 * interrupted by NLM_F_DUMP_INTR is counted again (up to 3 times; then `interrupted` is true).
 * @internal the CLI's `routes --count`
 */
export function countRoutes(options: RouteReaderOptions): Promise<{ count: number; interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const { o, request, keep, strict } = routeQuery(options);
    const sock = o.socket ?? NetlinkSocket.open({ protocol: 'route', netns: o.netns, strict, rx: DUMP_RX_RING });
    let count = 0;
    let lastPass = false;
    const finish = (f: () => void) => {
      if (!o.socket) sock.close();
      f();
    };
    // Counted as the dump goes: a pass interrupted by NLM_F_DUMP_INTR is counted again (the
    // engine's 'retry'); after the retries, one last pass is counted and flagged.
    const run = (policy: 'retry' | 'flag') =>
      sock.dumpInto(
        request,
        { onInterrupted: policy, retries: 3, signal: o.signal, timeoutMs: o.timeoutMs },
        {
          record: (m, interrupted) => {
            if (m.type !== RTM_NEWROUTE) return;
            lastPass ||= interrupted;
            const r = RouteRecord.from(m.dv, m.payload, m.payloadLen, m.type);
            if (r instanceof NetlinkParseError) throw new MalformedMessageError(r, 'rtnetlink');
            if (keep === all || keep(r)) count++;
          },
          discard: () => (count = 0),
          complete: () => finish(() => resolve({ count, interrupted: lastPass })),
          error: (e) => {
            if (policy === 'retry' && e instanceof DumpInterruptedError) {
              count = 0;
              return void run('flag');
            }
            finish(() => reject(e));
          },
        },
      );
    run('retry');
  });
}

function flatten<T>(batches: Observable<T[]>): Observable<T> {
  return new GuardedObservable<T>((sub) => {
    const s = batches.subscribe({
      next: (b) => {
        for (let i = 0; i < b.length && !sub.closed; i++) sub.next(b[i]);
      },
      error: (e) => sub.error(e),
      complete: () => sub.complete(),
    });
    return () => s.unsubscribe();
  });
}

function collect<T>(batches: Observable<T[]>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const all: T[] = [];
    batches.subscribe({ next: (b) => void all.push(...b), error: reject, complete: () => resolve(all) });
  });
}

// The `table` option: 'all' (also 0, RT_TABLE_UNSPEC, as for the kernel and ip), an id, or a name
// as ip knows it ('main', 'local', 'default', or one from /etc/iproute2/rt_tables).
function tableOption(t: RouteReaderOptions['table']): number | 'all' {
  if (t === undefined || t === 'all' || t === 0) return 'all';
  if (typeof t === 'string') {
    const id = t.length > 0 && !/^\d+$/.test(t) ? tableId(t) : undefined;
    if (id === undefined)
      throw new RangeError(`table ${JSON.stringify(t)} is not a table name ip knows (main, local, default, or one from /etc/iproute2/rt_tables)`);
    return id === 0 ? 'all' : id;
  }
  return int('table', t, 1, 0xffffffff, " (or 'all', or a table name)");
}

// A route reader's options, checked: the dump request (with the kernel-side filters), whether it
// needs strict checking, and the same filter applied here (for kernels that cannot).
function routeQuery(options: RouteReaderOptions | undefined): { o: RouteReaderOptions; request: Uint8Array; keep: (r: Route) => boolean; strict: boolean } {
  const o = optionsObject('routes()', options);
  const family = familyNumber(o.family);
  // Table 0 (RT_TABLE_UNSPEC) is "every table", as for the kernel and ip.
  const table = tableOption(o.table);
  const f = o.filter === undefined ? {} : optionsObject('filter', o.filter);
  if (f.protocol !== undefined) int('filter.protocol', f.protocol, 0, 255);
  if (f.type !== undefined) int('filter.type', f.type, 0, 255);
  if (f.oif !== undefined) int('filter.oif', f.oif, 1, 0x7fffffff, ' (an interface index)');
  if (f.predicate !== undefined && typeof f.predicate !== 'function') throw new TypeError(`filter.predicate must be a function, got ${describe(f.predicate)}`);
  const kernel = { family, table: table === 'all' ? undefined : table, protocol: f.protocol, type: f.type, oif: f.oif };
  const strict = table !== 'all' || f.protocol !== undefined || f.type !== undefined || f.oif !== undefined;
  const filtered = table !== 'all' || f.protocol !== undefined || f.type !== undefined || f.oif !== undefined || f.predicate !== undefined;
  const keep = !filtered
    ? all
    : (r: Route) =>
        (table === 'all' || r.table === table) &&
        (f.protocol === undefined || r.protocol === f.protocol) &&
        (f.type === undefined || r.type === f.type) &&
        (f.oif === undefined || r.oif === f.oif || (r.multipath?.some((n) => n.ifindex === f.oif) ?? false)) &&
        (!f.predicate || f.predicate(r));
  checkCommon(o);
  return { o, request: routeDumpRequest(kernel), keep, strict };
}

function routeSource(options: RouteReaderOptions | undefined): Observable<Flagged<Route>[]> {
  const { o, request, keep, strict } = routeQuery(options);
  return dumpRecords(o, request, RTM_NEWROUTE, RouteRecord.from, keep, strict, true);
}

// The reader options of links/addresses/neighbours, checked at call time.
function familyOptions(what: string, options: (ReaderOptions & { family?: AddressFamily }) | undefined): ReaderOptions & { family?: AddressFamily } {
  const o = optionsObject(what, options);
  familyNumber(o.family);
  checkCommon(o);
  return o;
}

/**
 * Routes, one emission each. Cold: each subscription opens a socket (in `netns` if given), dumps,
 * completes at NLMSG_DONE and closes the socket; unsubscribing stops the dump and closes it.
 * @throws TypeError / RangeError for bad options (at call time)
 */
export function routes(o: RouteReaderOptions = {}): Observable<Flagged<Route>> {
  return flatten(routeSource(o));
}

/** Routes, one emission per kernel datagram (up to ~32 KiB of records): the cheaper shape for large tables. */
export function routeBatches(o: RouteReaderOptions = {}): Observable<Flagged<Route>[]> {
  return routeSource(o);
}

/** All routes {@link routes} would emit, as one array. */
export function getRoutes(o: RouteReaderOptions = {}): Promise<Flagged<Route>[]> {
  return collect(routeSource(o));
}

/**
 * Links (network interfaces), one emission each. Cold, as {@link routes}. `family: AF_INET6` asks IPv6's
 * handler, which answers with fewer attributes (as `ip -6 addr` asks).
 */
export function links(options: ReaderOptions & { family?: AddressFamily } = {}): Observable<Flagged<Link>> {
  const o = familyOptions('links()', options);
  return flatten(dumpRecords(o, linkDumpRequest(familyNumber(o.family)), RTM_NEWLINK, decodeLink, all, false));
}
/** All links, as one array. */
export function getLinks(options: ReaderOptions & { family?: AddressFamily } = {}): Promise<Flagged<Link>[]> {
  const o = familyOptions('getLinks()', options);
  return collect(dumpRecords(o, linkDumpRequest(familyNumber(o.family)), RTM_NEWLINK, decodeLink, all, false));
}

/** Interface addresses of `family` (AF_INET, AF_INET6, or both), one emission each. Cold, as {@link routes}. */
export function addresses(options: ReaderOptions & { family?: AddressFamily } = {}): Observable<Flagged<Address>> {
  const o = familyOptions('addresses()', options);
  return flatten(dumpRecords(o, addressDumpRequest(familyNumber(o.family)), RTM_NEWADDR, decodeAddress, all, false));
}
/** All addresses, as one array. */
export function getAddresses(options: ReaderOptions & { family?: AddressFamily } = {}): Promise<Flagged<Address>[]> {
  const o = familyOptions('getAddresses()', options);
  return collect(dumpRecords(o, addressDumpRequest(familyNumber(o.family)), RTM_NEWADDR, decodeAddress, all, false));
}

/** Neighbour (ARP/NDP) entries of `family` (AF_INET, AF_INET6, or both), one emission each. Cold, as {@link routes}. */
export function neighbours(options: ReaderOptions & { family?: AddressFamily } = {}): Observable<Flagged<Neighbour>> {
  const o = familyOptions('neighbours()', options);
  return flatten(dumpRecords(o, neighbourDumpRequest(familyNumber(o.family)), RTM_NEWNEIGH, decodeNeighbour, all, false));
}
/** All neighbour entries, as one array. */
export function getNeighbours(options: ReaderOptions & { family?: AddressFamily } = {}): Promise<Flagged<Neighbour>[]> {
  const o = familyOptions('getNeighbours()', options);
  return collect(dumpRecords(o, neighbourDumpRequest(familyNumber(o.family)), RTM_NEWNEIGH, decodeNeighbour, all, false));
}

export { MalformedMessageError };
