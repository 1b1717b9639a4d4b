// kring's routing-table readers against iproute2 on a seeded, randomized table: `kring routes|links|
// addrs|neigh --json` must equal `ip -j` for the same listing, record for record, and the text
// output must equal `ip`'s lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RTN_BLACKHOLE, RTN_BROADCAST, RTN_LOCAL, RTN_PROHIBIT, RTN_THROW, RTN_UNREACHABLE } from '../../src/constants';
import { getLinks, getRoutes } from '../../src/rtnetlink/readers';
import { ipContext, routeJson } from '../../src/cli/ip-format';
import { createNamespace, ipBatch, ipJson } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { hasVlan, randomRoutes, setUpLinks } from '../helpers/route-fixture';

const KRING = join(__dirname, '..', '..', 'bin', 'kring.js');
const SEED = Number(process.env.KRING_ROUTE_SEED ?? 20261122);
const PER_FAMILY = 400;

function kring(args: string[]): string {
  const r = spawnSync(process.execPath, [KRING, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kring ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const ipText = (ns: string, args: string[]) =>
  execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');

describePrivileged('kring listings equal ip -j (seeded random table)', () => {
  let ns: string;
  let destroy: () => void;
  let vlan = false;
  let failed: string[] = [];
  beforeAll(() => {
    ({ ns, destroy } = createNamespace());
    vlan = hasVlan(ns);
    setUpLinks(ns, vlan);
    failed = ipBatch(ns, randomRoutes(SEED, PER_FAMILY), true);
    ipBatch(ns, [
      'neigh add 10.0.0.77 lladdr 02:00:00:00:00:77 dev r0 nud permanent',
      'neigh add 2001:db8::77 lladdr 02:00:00:00:00:78 dev r0 router nud stale',
      'neigh add 10.1.0.9 dev r1 nud incomplete',
    ]);
  });
  afterAll(() => destroy?.());

  it(`the fixture (seed ${SEED}) is large and varied: every route type, multipath, metrics, several tables and protocols`, async () => {
    // A random prefix can repeat an earlier one (File exists), and a random prefix in a table can
    // cover the gateway's subnet so the kernel refuses a nexthop; nothing else may fail.
    expect(failed.filter((l) => !/File exists|Nexthop has invalid gateway|^Command failed|^$/.test(l))).toEqual([]);
    const all = await getRoutes({ netns: ns });
    expect(all.filter((r) => r.family === 2).length).toBeGreaterThan(PER_FAMILY * 0.9);
    expect(all.filter((r) => r.family === 10).length).toBeGreaterThan(PER_FAMILY * 0.9);
    for (const t of [RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW, RTN_LOCAL, RTN_BROADCAST]) expect(all.some((r) => r.type === t)).toBe(true);
    expect(new Set(all.map((r) => r.table))).toEqual(new Set([100, 200, 1000, 254, 255]));
    expect(all.some((r) => r.family === 2 && (r.multipath?.length ?? 0) === 2 && r.multipath!.some((n) => n.weight > 1))).toBe(true);
    expect(all.some((r) => r.family === 10 && (r.multipath?.length ?? 0) === 2)).toBe(true);
    expect(all.some((r) => r.metrics?.mtu !== undefined)).toBe(true);
    expect(all.some((r) => r.tos !== 0)).toBe(true);
    expect(all.some((r) => r.pref === 1)).toBe(true);
    expect(new Set(all.map((r) => r.protocol)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(all.map((r) => r.dstLen)).size).toBeGreaterThan(60);
  });

  const listings: [string, string[], string[]][] = [
    ['routes --table all', ['routes', '--table', 'all'], ['route', 'show', 'table', 'all']],
    ['routes -6 --table all', ['routes', '-6', '--table', 'all'], ['-6', 'route', 'show', 'table', 'all']],
    ['routes (main, IPv4)', ['routes'], ['route', 'show']],
    ['routes --table 1000', ['routes', '--table', '1000'], ['route', 'show', 'table', '1000']],
    ['routes -6 --table local', ['routes', '-6', '--table', 'local'], ['-6', 'route', 'show', 'table', 'local']],
    ['links', ['links'], ['link', 'show']],
    ['addrs', ['addrs'], ['addr', 'show']],
    ['addrs -4', ['addrs', '-4'], ['-4', 'addr', 'show']],
    ['addrs -6', ['addrs', '-6'], ['-6', 'addr', 'show']],
    ['neigh', ['neigh'], ['neigh', 'show']],
  ];
  for (const [name, args, ipArgs] of listings) {
    it(`kring ${name} --json equals ip -j ${ipArgs.join(' ')}, record for record`, () => {
      const ours = JSON.parse(kring([...args, '--json', '--netns', ns])) as unknown[];
      const theirs = ipJson(ns, ipArgs) as unknown[];
      expect(ours.length).toBe(theirs.length);
      expect(ours.length).toBeGreaterThan(0);
      ours.forEach((o, i) => expect(o).toEqual(theirs[i]));
    });
    it(`kring ${name} prints ip's text lines`, () => {
      expect(kring([...args, '--netns', ns]).trimEnd()).toBe(ipText(ns, ipArgs).trimEnd());
    });
  }

  it('the library path: routes() decoded and formatted equals ip -j, without the CLI', async () => {
    const ctx = ipContext(await getLinks({ netns: ns }));
    const ours = (await getRoutes({ netns: ns })).map((r) => routeJson(r, ctx));
    expect(ours).toEqual(ipJson(ns, ['route', 'show', 'table', 'all']));
  });

  it('links of every kind present: veth pairs (one peer down: NO-CARRIER, M-DOWN), macvlan, and vlan where the kernel has 8021q', async () => {
    const links = await getLinks({ netns: ns });
    const kinds = new Map(links.map((l) => [l.name, l.info?.kind]));
    expect(kinds.get('r0')).toBe('veth');
    expect(kinds.get('mv0')).toBe('macvlan');
    expect(links.find((l) => l.name === 'mv0')?.info?.data).toEqual({ mode: 4 }); // MACVLAN_MODE_BRIDGE
    if (vlan) expect(links.find((l) => l.name === 'r0.7')?.info?.data).toMatchObject({ id: 7, protocol: 0x8100 });
    const d0 = (ipJson(ns, ['link', 'show', 'd0']) as { flags: string[] }[])[0];
    expect(d0.flags).toEqual(['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN']);
  });
});
