// RouteTable on the real kernel: after every change (adds, deletes, replaces, multipath weights, a
// link going down, an event flood that overruns a tiny receive buffer) the mirror equals a fresh
// dump, and the diffs it emitted say what happened.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { getRoutes } from '../../src/rtnetlink/readers';
import { RouteDiff, routeKey, RouteTable, routeValue } from '../../src/rtnetlink/route-table';
import { Route } from '../../src/rtnetlink/route';
import { createNamespace, ipBatch, ipJson } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';

const snapshot = (rs: Route[]) => new Map(rs.map((r) => [routeKey(r), routeValue(r)]));

describePrivileged('RouteTable: a route mirror that does not drift', () => {
  let ns: string;
  let destroy: () => void;
  let table: RouteTable;
  let diffs: RouteDiff[] = [];
  beforeAll(async () => {
    ({ ns, destroy } = createNamespace());
    ipBatch(ns, [
      'link add r0 type veth peer name r1',
      'link add s0 type veth peer name s1',
      'link set r0 up',
      'link set r1 up',
      'link set s0 up',
      'link set s1 up',
      'addr add 10.0.0.1/16 dev r0',
      'addr add 10.1.0.1/16 dev s0',
      'addr add 2001:db8::1/64 dev r0',
    ]);
    table = RouteTable.open({ netns: ns });
    table.changes().subscribe((d) => diffs.push(d));
    await table.ready;
  });
  afterAll(() => {
    table?.close();
    destroy?.();
  });

  // Waits (bounded) until the mirror equals a fresh dump; then they must be equal.
  async function converged(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      await table.settled();
      const fresh = snapshot(await getRoutes({ netns: ns }));
      const mine = snapshot(table.routes());
      if (Date.now() > deadline || (fresh.size === mine.size && [...fresh].every(([k, v]) => mine.get(k) === v))) {
        expect(mine).toEqual(fresh);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const take = () => diffs.splice(0);

  it('the first dump is the baseline: it equals a fresh dump, each route an add (cause resync)', async () => {
    await converged();
    const first = take();
    expect(first.length).toBe(table.size);
    expect(first.every((d) => d.kind === 'add' && d.cause === 'resync')).toBe(true);
  });

  it('adds and deletes arrive as events', async () => {
    ipBatch(ns, Array.from({ length: 50 }, (_, i) => `route add 20.0.${i}.0/24 via 10.0.0.2`));
    await converged();
    let d = take();
    expect(d.filter((x) => x.kind === 'add' && x.cause === 'event').map((x) => x.route.dst).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `20.0.${i}.0`).sort());
    ipBatch(ns, Array.from({ length: 10 }, (_, i) => `route del 20.0.${i}.0/24`));
    await converged();
    d = take();
    expect(d.map((x) => `${x.kind} ${x.route.dst}`).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `delete 20.0.${i}.0`).sort());
  });

  it('replace is a change of value with the previous one; ECMP weights are value, not identity', async () => {
    ipBatch(ns, ['route replace 20.0.20.0/24 via 10.0.0.3']);
    await converged();
    let d = take();
    expect(d.map((x) => [x.kind, x.previous?.gateway, x.route.gateway])).toEqual([['change', '10.0.0.2', '10.0.0.3']]);
    ipBatch(ns, ['route add 21.0.0.0/8 nexthop via 10.0.0.2 weight 1 nexthop via 10.1.0.2 weight 2']);
    await converged();
    take();
    ipBatch(ns, ['route replace 21.0.0.0/8 nexthop via 10.0.0.2 weight 5 nexthop via 10.1.0.2 weight 1']);
    await converged();
    d = take();
    expect(d.map((x) => [x.kind, x.previous?.multipath?.map((n) => n.weight), x.route.multipath?.map((n) => n.weight)])).toEqual([['change', [1, 2], [5, 1]]]);
    expect(table.routes().filter((r) => r.dst === '21.0.0.0').length).toBe(1);
  });

  it('a link going down takes its IPv4 routes with no RTM_DELROUTE: the mirror dumps again and deletes them', async () => {
    ipBatch(ns, Array.from({ length: 20 }, (_, i) => `route add 22.0.${i}.0/24 via 10.1.0.2`));
    await converged();
    take();
    const before = table.resyncs;
    ipBatch(ns, ['link set s0 down']);
    await converged();
    const d = take();
    expect(table.resyncs).toBeGreaterThan(before);
    const gone = d.filter((x) => x.kind === 'delete').map((x) => x.route.dst);
    for (let i = 0; i < 20; i++) expect(gone).toContain(`22.0.${i}.0`);
    expect(table.routes().some((r) => r.dst?.startsWith('22.0.'))).toBe(false);
  });

  it('an event flood over a tiny receive buffer overruns (ENOBUFS); the mirror re-dumps and still converges', async () => {
    const small = RouteTable.open({ netns: ns, rcvbuf: 4096 });
    try {
      await small.ready;
      // ip -batch runs synchronously: the event loop, and with it the reading, stops meanwhile.
      ipBatch(ns, Array.from({ length: 5000 }, (_, i) => `route add 23.${i >> 8}.${i & 255}.0/24 via 10.0.0.2`));
      const deadline = Date.now() + 15_000;
      while (small.resyncs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(small.resyncs).toBeGreaterThan(0);
      await small.settled();
      const fresh = snapshot(await getRoutes({ netns: ns }));
      expect(snapshot(small.routes())).toEqual(fresh);
      expect(small.routes().filter((r) => r.dst?.startsWith('23.')).length).toBe(5000);
    } finally {
      small.close();
    }
  });

  it('close() is idempotent and completes changes()', () => {
    const t = RouteTable.open({ netns: ns });
    let completed = false;
    t.changes().subscribe({ complete: () => (completed = true) });
    t.close();
    t.close();
    expect(completed).toBe(true);
    return expect(t.ready).resolves.toBeUndefined(); // closed before its first dump: ready, and empty
  });
});

describePrivileged('kring monitor routes', () => {
  it('prints each change as ip prints the route, deletions prefixed Deleted, and exits 0 on SIGINT', async () => {
    const { ns, destroy } = createNamespace();
    let stop = () => undefined as unknown;
    try {
      ipBatch(ns, ['link add r0 type veth peer name r1', 'link set r0 up', 'link set r1 up', 'addr add 10.0.0.1/16 dev r0']);
      const baseline = (ipJson(ns, ['-4', 'route', 'show', 'table', 'all']) as unknown[]).length;
      const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'kring.js'), 'monitor', 'routes', '-4', '--netns', ns]);
      stop = () => child.kill('SIGKILL');
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const until = async (f: () => boolean) => {
        const deadline = Date.now() + 10_000;
        while (!f() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      };
      // The baseline dump (lo's and r0's local, broadcast and connected routes) is not printed.
      await until(() => err.includes('monitoring'));
      expect(err).toBe(`kring: monitoring ${baseline} routes\n`);
      ipBatch(ns, ['route add 20.0.0.0/8 via 10.0.0.2 proto static metric 7']);
      await until(() => out.includes('\n'));
      ipBatch(ns, ['route del 20.0.0.0/8']);
      await until(() => out.split('\n').length > 2);
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toBe('20.0.0.0/8 via 10.0.0.2 dev r0 proto static metric 7\nDeleted 20.0.0.0/8 via 10.0.0.2 dev r0 proto static metric 7\n');
    } finally {
      stop();
      destroy();
    }
  });
});
