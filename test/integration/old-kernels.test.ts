// The whole netlink stack on the kernels that have the netlink ring: simulated Linux 3.10, 4.4 and
// 4.5 (kring/testing's simulateKernel: the ring in kernel mode with that kernel's rules, none of the
// options added since: no NETLINK_EXT_ACK, no NETLINK_GET_STRICT_CHK), with this machine's routing
// tables behind. Everything is compared with ip on this kernel, as the same suites are without the
// simulation: requests, dumps with filters, the readers, the mirror and the CLI.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, RTM_NEWROUTE, RTA_DST, RTA_GATEWAY, SOL_NETLINK } from '../../src/constants';
import { MessageBuilder, NetlinkError } from '../../src/netlink/message';
import { NLM_F_CREATE, NLM_F_EXCL } from '../../src/constants';
import { NetlinkSocket } from '../../src/netlink/socket';
import { getAddresses, getLinks, getNeighbours, getRoutes } from '../../src/rtnetlink/readers';
import { ipContext, routeJson } from '../../src/cli/ip-format';
import { RouteTable } from '../../src/rtnetlink/route-table';
import { KernelProfile, SimulatedKernel, simulateKernel } from '../../src/testing';
import { KRING, startKring } from '../helpers/kring-process';
import { createNamespace, ipBatch, ipJson, ipRoutesAll } from '../helpers/netns';
import { equalsIp } from '../helpers/route-mirror';
import { describePrivileged } from '../helpers/privileged';
import { randomRoutes, setUpLinks } from '../helpers/route-fixture';

const PRELOAD = join(__dirname, '..', 'fixtures', 'simulate-kernel.js');
const rtmsg = (dstLen: number) => Uint8Array.of(2 /* AF_INET */, dstLen, 0, 0, 254, 3 /* RTPROT_BOOT */, 0, 1 /* RTN_UNICAST */, 0, 0, 0, 0);
const addRoute = (dst: number[], gw: number[]) =>
  new MessageBuilder()
    .begin(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, 0)
    .bytes(rtmsg(24))
    .attr(RTA_DST, Uint8Array.from(dst))
    .attr(RTA_GATEWAY, Uint8Array.from(gw))
    .finish()
    .slice();
// Records as JSON, without what changes between two reads (traffic counters, cache ages, and the
// attributes kring keeps raw, IFLA_AF_SPEC's IPv6 counters among them).
const VOLATILE = new Set(['stats64', 'cacheinfo', 'unknown', 'raw']);
const json = (xs: unknown[]) =>
  xs.map((x) => JSON.stringify(x, (k, v) => (VOLATILE.has(k) ? undefined : typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Array.from(v) : v)));

describePrivileged('the netlink stack on simulated older kernels, compared with ip on this kernel', () => {
  let ns: string;
  let destroy: () => void;
  const baseline: Record<string, string[]> = {};
  beforeAll(async () => {
    ({ ns, destroy } = createNamespace());
    setUpLinks(ns, false);
    ipBatch(ns, randomRoutes(20261129, 150), true);
    ipBatch(ns, ['neigh add 10.0.0.77 lladdr 02:00:00:00:00:77 dev r0 nud permanent']);
    // The same readers on this kernel, unsimulated.
    baseline.links = json(await getLinks({ netns: ns }));
    baseline.addresses = json(await getAddresses({ netns: ns }));
    baseline.neighbours = json(await getNeighbours({ netns: ns }));
  });
  afterAll(() => destroy?.());

  it('this kernel has NETLINK_EXT_ACK and NETLINK_GET_STRICT_CHK: socket.features says so', () => {
    using sock = NetlinkSocket.open({ protocol: 'route', netns: ns, strict: true });
    expect([sock.ringMode, sock.features, sock.strict]).toEqual(['emulated', { extAck: true, strictCheck: true }, true]);
  });

  describe.each(['3.10', '4.4', '4.5'] as KernelProfile[])('Linux %s', (profile) => {
    let sim: SimulatedKernel;
    beforeAll(() => {
      sim = simulateKernel(profile);
    });
    afterAll(() => sim.restore());
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['-r', PRELOAD, KRING, ...args, '--netns', ns], {
        encoding: 'utf8',
        env: { ...process.env, KRING_TEST_KERNEL: profile },
        maxBuffer: 64 << 20,
      });

    it('a socket opens in kernel mode and says what the kernel lacks (strict asked for, not in force)', () => {
      using sock = NetlinkSocket.open({ protocol: 'route', netns: ns, strict: true });
      expect([sock.ringMode, sock.features, sock.strict]).toEqual(['kernel', { extAck: false, strictCheck: false }, false]);
      expect(sim.kernels[sim.kernels.length - 1].option(SOL_NETLINK, NETLINK_EXT_ACK)).toBe(-92); // ENOPROTOOPT
      expect(sim.kernels[sim.kernels.length - 1].option(SOL_NETLINK, NETLINK_GET_STRICT_CHK)).toBe(-92);
    });

    it('requests: an added route is what ip lists; a refused one is a NetlinkError without extended-ACK text', async () => {
      using sock = NetlinkSocket.open({ protocol: 'route', netns: ns });
      const third = profile === '3.10' ? 1 : profile === '4.4' ? 2 : 3;
      await sock.request(addRoute([77, 0, third, 0], [10, 0, 0, 2]));
      expect((ipJson(ns, ['route', 'show', `77.0.${third}.0/24`]) as unknown[]).length).toBe(1);
      const err = await sock.request(addRoute([77, 0, third, 0], [10, 0, 0, 2])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetlinkError);
      expect([(err as NetlinkError).code, (err as NetlinkError).extackMessage]).toEqual(['EEXIST', undefined]);
      ipBatch(ns, [`route del 77.0.${third}.0/24`]);
    });

    it('routes() of every table equals ip -j route show table all, record for record', async () => {
      const ctx = ipContext(await getLinks({ netns: ns }));
      const ours = (await getRoutes({ netns: ns })).map((r) => JSON.stringify(routeJson(r, ctx, true))).sort();
      expect(ours).toEqual(ipRoutesAll(ns));
    });

    it.each([100, 1000])('a table-filtered dump returns exactly table %s: the kernel cannot filter, kring does', async (table) => {
      const ctx = ipContext(await getLinks({ netns: ns }));
      const ours = (await getRoutes({ netns: ns, table })).map((r) => routeJson(r, ctx, false));
      const ip = [
        ...(ipJson(ns, ['-4', 'route', 'show', 'table', String(table)]) as unknown[]),
        ...(ipJson(ns, ['-6', 'route', 'show', 'table', String(table)]) as unknown[]),
      ];
      expect(ours.length).toBeGreaterThan(5);
      expect(json(ours).sort()).toEqual(json(ip).sort());
    });

    it('getLinks(), getAddresses(), getNeighbours() equal the same readers on this kernel', async () => {
      expect(json(await getLinks({ netns: ns }))).toEqual(baseline.links);
      expect(json(await getAddresses({ netns: ns }))).toEqual(baseline.addresses);
      expect(json(await getNeighbours({ netns: ns }))).toEqual(baseline.neighbours);
    });

    it('RouteTable: equals ip after adds, an append, a replace and a link going down', async () => {
      const table = RouteTable.open({ netns: ns });
      try {
        await table.ready;
        const settle = () => equalsIp(table, ns);
        await settle();
        ipBatch(ns, ['route add 88.0.0.0/24 via 10.0.0.2', 'route append 88.0.0.0/24 via 10.0.0.3', 'route add 88.0.1.0/24 via 10.0.0.2']);
        await settle();
        ipBatch(ns, ['route replace 88.0.1.0/24 via 10.0.0.4']);
        await settle();
        ipBatch(ns, ['link set d0 down']);
        await settle();
        ipBatch(ns, ['link set d0 up', 'route del 88.0.0.0/24 via 10.0.0.2', 'route del 88.0.0.0/24', 'route del 88.0.1.0/24']);
        await settle();
      } finally {
        table.close();
      }
    });

    it.each([
      [
        ['routes', '--table', 'all'],
        ['route', 'show', 'table', 'all'],
      ],
      [
        ['routes', '--table', '100'],
        ['route', 'show', 'table', '100'],
      ],
      [['links'], ['link', 'show']],
      [['addrs'], ['addr', 'show']],
      [['neigh'], ['neigh', 'show']],
    ])('kring %j --json equals ip -j %j', (args, ipArgs) => {
      const r = cli([...args, '--json']);
      expect([r.status, r.stderr]).toEqual([0, '']);
      const ours = JSON.parse(r.stdout) as unknown[];
      expect(ours.length).toBeGreaterThan(0);
      expect(ours).toEqual(ipJson(ns, ipArgs));
    });

    it('kring monitor routes prints a route added and deleted, as ip prints it', async () => {
      const k = startKring(['monitor', 'routes', '-4', '--netns', ns], { preload: PRELOAD, env: { KRING_TEST_KERNEL: profile } });
      try {
        await k.until(() => k.err().includes('monitoring'));
        expect(k.err()).toBe(`kring: monitoring ${(ipJson(ns, ['-4', 'route', 'show', 'table', 'all']) as unknown[]).length} routes\n`);
        ipBatch(ns, ['route add 99.0.0.0/8 via 10.0.0.2 proto static metric 7']);
        await k.until(() => k.out().includes('\n'));
        ipBatch(ns, ['route del 99.0.0.0/8']);
        await k.until(() => k.out().split('\n').length > 2);
        expect(await k.interrupt()).toBe(0);
        expect(k.out()).toBe('99.0.0.0/8 via 10.0.0.2 dev r0 proto static metric 7\nDeleted 99.0.0.0/8 via 10.0.0.2 dev r0 proto static metric 7\n');
      } finally {
        k.kill();
      }
    });
  });
});
