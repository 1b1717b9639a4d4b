// RouteTable on the real kernel: after every change (adds, deletes, replaces, multipath weights, a
// link going down, an event flood that overruns a tiny receive buffer) the mirror equals a fresh
// dump, and the diffs it emitted say what happened.
import { getRoutes } from '../../src/rtnetlink/readers';
import { RouteDiff, routeKey, RouteTable, routeValue } from '../../src/rtnetlink/route-table';
import { Route } from '../../src/rtnetlink/route';
import { KringProcess, startKring } from '../helpers/kring-process';
import { equalsIp } from '../helpers/route-mirror';
import { createNamespace, ipBatch, ipJson, ipRoutesAll } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';

const snapshot = (rs: Route[]) => new Map(rs.map((r) => [routeKey(r), routeValue(r)]));

describePrivileged('RouteTable: a route mirror that does not drift', () => {
  let ns: string;
  let destroy: () => void;
  let table: RouteTable;
  const diffs: RouteDiff[] = [];
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

  // Waits (bounded) until the mirror equals ip's listing; then they must be equal.
  const converged = () => equalsIp(table, ns);
  const take = () => diffs.splice(0);

  it('the first dump is the baseline: it equals a fresh dump, each route an add (cause resync)', async () => {
    await converged();
    const first = take();
    expect(first.length).toBe(table.size);
    expect(first.every((d) => d.kind === 'add' && d.cause === 'resync')).toBe(true);
  });

  it('adds and deletes arrive as events', async () => {
    ipBatch(
      ns,
      Array.from({ length: 50 }, (_, i) => `route add 20.0.${i}.0/24 via 10.0.0.2`),
    );
    await converged();
    let d = take();
    expect(
      d
        .filter((x) => x.kind === 'add' && x.cause === 'event')
        .map((x) => x.route.dst)
        .sort(),
    ).toEqual(Array.from({ length: 50 }, (_, i) => `20.0.${i}.0`).sort());
    ipBatch(
      ns,
      Array.from({ length: 10 }, (_, i) => `route del 20.0.${i}.0/24`),
    );
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
    ipBatch(
      ns,
      Array.from({ length: 20 }, (_, i) => `route add 22.0.${i}.0/24 via 10.1.0.2`),
    );
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
      ipBatch(
        ns,
        Array.from({ length: 5000 }, (_, i) => `route add 23.${i >> 8}.${i & 255}.0/24 via 10.0.0.2`),
      );
      const deadline = Date.now() + 15_000;
      while (small.resyncs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(small.resyncs).toBeGreaterThan(0);
      await small.settled();
      await equalsIp(small, ns);
      const fresh = snapshot(await getRoutes({ netns: ns }));
      expect(snapshot(small.routes())).toEqual(fresh);
      expect(small.routes().filter((r) => r.dst?.startsWith('23.')).length).toBe(5000);
    } finally {
      small.close();
    }
  });

  it('an overrun right after adds it never read: the re-dump is not undone by the older events read before the loss', async () => {
    const small = RouteTable.open({ netns: ns, rcvbuf: 4096 });
    try {
      await small.ready;
      // Both batches run with the event loop stopped: the adds' events queue up, the socket
      // overflows during the deletes, and the reading that follows meets the adds first, then the loss.
      ipBatch(
        ns,
        Array.from({ length: 2000 }, (_, i) => `route add 24.${i >> 8}.${i & 255}.0/24 via 10.0.0.2`),
      );
      ipBatch(
        ns,
        Array.from({ length: 2000 }, (_, i) => `route del 24.${i >> 8}.${i & 255}.0/24`),
      );
      const deadline = Date.now() + 15_000;
      while (small.resyncs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(small.resyncs).toBeGreaterThan(0);
      await equalsIp(small, ns);
      expect(small.routes().filter((r) => r.dst?.startsWith('24.')).length).toBe(0);
    } finally {
      small.close();
    }
  });

  it('settled() takes signal and timeoutMs: an abort ends that wait, the re-dump goes on and settles', async () => {
    const reason = new Error('stop');
    table.resync();
    expect(table.resyncing).toBe(true);
    const ac = new AbortController();
    const waiting = table.settled({ signal: ac.signal });
    ac.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(table.settled({ timeoutMs: 0 })).rejects.toThrow(RangeError);
    await table.settled({ timeoutMs: 10_000 });
    expect(table.resyncing).toBe(false);
    await equalsIp(table, ns);
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

describePrivileged("RouteTable: the kernel's identity (every route ip lists, after every kind of change)", () => {
  let ns: string;
  let destroy: () => void;
  let table: RouteTable;
  const diffs: RouteDiff[] = [];
  beforeAll(async () => {
    ({ ns, destroy } = createNamespace());
    // Three veth pairs: every link has its own fe80::/64 (and the peers theirs), the same prefix
    // and metric on six devices.
    ipBatch(ns, [
      ...['a', 'b', 'c'].flatMap((x, i) => [
        `link add ${x}0 type veth peer name ${x}1`,
        `link set ${x}0 up`,
        `link set ${x}1 up`,
        `addr add 10.${i}.0.1/16 dev ${x}0`,
        `addr add 2001:db8:${i}::1/64 dev ${x}0`,
      ]),
    ]);
    table = RouteTable.open({ netns: ns });
    table.changes().subscribe((d) => diffs.push(d));
    await table.ready;
  });
  afterAll(() => {
    table?.close();
    destroy?.();
  });
  const take = () => diffs.splice(0);
  const count = (dst: string) => table.routes().filter((r) => r.dst === dst).length;

  it('starts with every route ip lists, six fe80::/64 among them', async () => {
    await equalsIp(table, ns);
    const ip6 = ipJson(ns, ['-6', 'route', 'show', 'table', 'all']) as { dst: string }[];
    expect(ip6.filter((r) => r.dst === 'fe80::/64').length).toBe(6);
    expect(count('fe80::')).toBe(6);
    expect(table.size).toBe(ipRoutesAll(ns).length);
  });

  it('append and prepend of one IPv4 prefix via other gateways are more routes; replace takes the first; delete takes the one named', async () => {
    take();
    ipBatch(ns, ['route add 20.0.0.0/24 via 10.0.0.2', 'route append 20.0.0.0/24 via 10.1.0.2', 'route prepend 20.0.0.0/24 via 10.2.0.2']);
    await equalsIp(table, ns);
    expect(count('20.0.0.0')).toBe(3);
    expect(take().map((d) => [d.kind, d.route.gateway])).toEqual([
      ['add', '10.0.0.2'],
      ['add', '10.1.0.2'],
      ['add', '10.2.0.2'],
    ]);
    // The kernel's first alias is the prepended one: replace takes its place.
    ipBatch(ns, ['route replace 20.0.0.0/24 via 10.2.0.9']);
    await equalsIp(table, ns);
    expect(take().map((d) => [d.kind, d.previous?.gateway, d.route.gateway])).toEqual([['change', '10.2.0.2', '10.2.0.9']]);
    ipBatch(ns, ['route del 20.0.0.0/24 via 10.1.0.2']);
    await equalsIp(table, ns);
    expect(take().map((d) => [d.kind, d.route.gateway])).toEqual([['delete', '10.1.0.2']]);
    expect(count('20.0.0.0')).toBe(2);
  });

  it('IPv6: one prefix and metric on two devices is two routes', async () => {
    ipBatch(ns, ['route append 2001:db8:77::/64 dev a0', 'route append 2001:db8:77::/64 dev b0']);
    await equalsIp(table, ns);
    expect(count('2001:db8:77::')).toBe(2);
    ipBatch(ns, ['route del 2001:db8:77::/64 dev a0']);
    await equalsIp(table, ns);
    expect(
      table
        .routes()
        .filter((r) => r.dst === '2001:db8:77::')
        .map((r) => r.oif),
    ).toEqual([(ipJson(ns, ['link', 'show', 'b0']) as { ifindex: number }[])[0].ifindex]);
  });

  it('IPv6 ECMP built nexthop by nexthop merges into one multipath route, and splits again as they go', async () => {
    const steps = [
      'route add 2001:db8:88::/64 via 2001:db8:0::2',
      'route append 2001:db8:88::/64 via 2001:db8:1::2',
      'route append 2001:db8:88::/64 via 2001:db8:2::2',
      'route del 2001:db8:88::/64 via 2001:db8:1::2',
      'route del 2001:db8:88::/64 via 2001:db8:0::2',
      'route append 2001:db8:88::/64 via 2001:db8:0::2',
      'route del 2001:db8:88::/64',
    ];
    const shape: number[] = [];
    for (const step of steps) {
      ipBatch(ns, [step]);
      await equalsIp(table, ns);
      shape.push(
        table
          .routes()
          .filter((r) => r.dst === '2001:db8:88::')
          .map((r) => r.multipath?.length ?? 1)[0] ?? 0,
      );
    }
    // Nexthops in the one route after each step (0: no route left).
    expect(shape).toEqual([1, 2, 3, 2, 1, 2, 0]);
  });

  it('link down and up: the routes that go and come back with it', async () => {
    ipBatch(ns, ['route add 21.0.0.0/24 via 10.2.0.2', 'route add 2001:db8:99::/64 via 2001:db8:2::2']);
    await equalsIp(table, ns);
    ipBatch(ns, ['link set c0 down']);
    await equalsIp(table, ns);
    expect(count('21.0.0.0')).toBe(0);
    ipBatch(ns, ['link set c0 up']);
    await equalsIp(table, ns);
  });

  it('an event flood over a small receive buffer: ip and the mirror agree at the end', async () => {
    const small = RouteTable.open({ netns: ns, rcvbuf: 4096 });
    try {
      await small.ready;
      ipBatch(ns, [
        ...Array.from({ length: 2000 }, (_, i) => `route add 24.${i >> 8}.${i & 255}.0/24 via 10.0.0.2`),
        ...Array.from({ length: 500 }, (_, i) => `route append 24.0.${i & 255}.0/24 via 10.1.0.2`).slice(0, 256),
        ...Array.from({ length: 300 }, (_, i) => `route append 2001:db8:aa:${i.toString(16)}::/64 dev ${['a0', 'b0', 'c0'][i % 3]}`),
        ...Array.from({ length: 300 }, (_, i) => `route append 2001:db8:aa:${i.toString(16)}::/64 dev ${['b0', 'c0', 'a0'][i % 3]}`),
      ]);
      await equalsIp(small, ns);
      await equalsIp(table, ns);
    } finally {
      small.close();
    }
  });
});

describePrivileged('kring monitor routes', () => {
  it('prints each change as ip prints the route, deletions prefixed Deleted, and exits 0 on SIGINT', async () => {
    const { ns, destroy } = createNamespace();
    let p: KringProcess | null = null;
    try {
      ipBatch(ns, ['link add r0 type veth peer name r1', 'link set r0 up', 'link set r1 up', 'addr add 10.0.0.1/16 dev r0']);
      const baseline = (ipJson(ns, ['-4', 'route', 'show', 'table', 'all']) as unknown[]).length;
      p = startKring(['monitor', 'routes', '-4', '--netns', ns]);
      const k = p;
      // The baseline dump (lo's and r0's local, broadcast and connected routes) is not printed.
      await k.until(() => k.err().includes('monitoring'));
      expect(k.err()).toBe(`kring: monitoring ${baseline} routes\n`);
      ipBatch(ns, ['route add 20.0.0.0/8 via 10.0.0.2 proto static metric 7']);
      await k.until(() => k.out().includes('\n'));
      ipBatch(ns, ['route del 20.0.0.0/8']);
      await k.until(() => k.out().split('\n').length > 2);
      expect(await k.interrupt()).toBe(0);
      expect(k.out()).toBe('20.0.0.0/8 via 10.0.0.2 dev r0 proto static metric 7\nDeleted 20.0.0.0/8 via 10.0.0.2 dev r0 proto static metric 7\n');
    } finally {
      p?.kill();
      destroy();
    }
  });
});

describePrivileged('kring monitor routes: counts and names as ip has them', () => {
  it('starts with the count ip lists (both families), names links made after the start, and deletes on the right device', async () => {
    const { ns, destroy } = createNamespace();
    let p: KringProcess | null = null;
    try {
      ipBatch(
        ns,
        ['a', 'b', 'c'].flatMap((x, i) => [
          `link add ${x}0 type veth peer name ${x}1`,
          `link set ${x}0 up`,
          `link set ${x}1 up`,
          `addr add 10.${i}.0.1/16 dev ${x}0`,
        ]),
      );
      const baseline = ipRoutesAll(ns).length;
      p = startKring(['monitor', 'routes', '--netns', ns]);
      const k = p;
      await k.until(() => k.err().includes('monitoring'));
      expect(k.err()).toBe(`kring: monitoring ${baseline} routes\n`);
      // A link made now: its routes carry its name, never if<N>.
      ipBatch(ns, [
        'link add d0 type veth peer name d1',
        'link set d0 up',
        'link set d1 up',
        'addr add 10.9.0.1/16 dev d0',
        'route add 30.0.0.0/8 via 10.9.0.2 dev d0',
      ]);
      await k.until(() => k.out().includes('30.0.0.0/8'));
      // b0 goes down: IPv6 deletes its fe80::/64 with an event, which must name b0 (not another fe80::/64's device).
      ipBatch(ns, ['link set b0 down']);
      await k.until(() => k.out().includes('Deleted fe80::/64'));
      ipBatch(ns, ['link del d0']);
      await k.until(() => k.out().includes('Deleted 30.0.0.0/8'));
      expect(await k.interrupt()).toBe(0);
      const lines = k.out().split('\n');
      expect(lines).toContain('30.0.0.0/8 via 10.9.0.2 dev d0');
      expect(lines).toContain('fe80::/64 dev d0 proto kernel metric 256 pref medium');
      // b0's own, then both ends of the deleted pair (d1 is in this namespace too).
      expect(lines.filter((l) => l.startsWith('Deleted fe80::/64')).sort()).toEqual(
        ['b0', 'd0', 'd1'].map((d) => `Deleted fe80::/64 dev ${d} proto kernel metric 256 pref medium`),
      );
      expect(lines).toContain('Deleted 30.0.0.0/8 via 10.9.0.2 dev d0');
      expect(k.out()).not.toMatch(/dev if\d/);
    } finally {
      p?.kill();
      destroy();
    }
  });
});
