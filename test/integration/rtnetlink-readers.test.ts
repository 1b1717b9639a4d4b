// The routing-table readers on the real kernel: 100k routes counted exactly through routes() and
// the CLI, kernel-side filters, the netns option, cold subscriptions and their teardown, and the
// DUMP_INTR policies provoked on a real dump.
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, take, toArray } from 'rxjs';
import { AF_INET, AF_INET6, RTN_BLACKHOLE, RTPROT_STATIC } from '../../src/constants';
import { MessageCursor } from '../../src/netlink/message';
import { NLMSG_DONE } from '../../src/constants';
import { DumpInterruptedError, NetlinkSocket } from '../../src/netlink/socket';
import { getAddresses, getLinks, getRoutes, links, routes } from '../../src/rtnetlink/readers';
import { iterate } from '../../src/iterate';
import { RouteTable } from '../../src/rtnetlink/route-table';
import { createNamespace, ipBatch, ipJson } from '../helpers/netns';
import { openSockets } from '../helpers/netlink';
import { describePrivileged } from '../helpers/privileged';

const KRING = join(__dirname, '..', '..', 'bin', 'kring.js');
const N = 100_000;

describePrivileged('routing-table readers on the real kernel', () => {
  let ns: string;
  let destroy: () => void;
  beforeAll(() => {
    ({ ns, destroy } = createNamespace());
    ipBatch(ns, ['link add r0 type veth peer name r1', 'link set r0 up', 'link set r1 up', 'addr add 10.0.0.1/16 dev r0']);
    const lines: string[] = [];
    // N unicast routes in main (proto static), plus 500 blackholes in table 300.
    for (let i = 0; i < N; i++) lines.push(`route add 20.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32 via 10.0.0.2 proto static`);
    for (let i = 0; i < 500; i++) lines.push(`route add blackhole 30.0.${i >> 8}.${i & 255}/32 table 300`);
    ipBatch(ns, lines);
  }, 120_000);
  afterAll(() => destroy?.());

  it(`${N} routes: routes() emits exactly the main table's IPv4 routes, each once`, async () => {
    let count = 0;
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) =>
      routes({ netns: ns, family: AF_INET, table: 254 }).subscribe({
        next: (r) => {
          count++;
          if (r.protocol === RTPROT_STATIC) seen.add(r.dst!);
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(seen.size).toBe(N);
    expect(count).toBe(N + 1); // and the connected 10.0.0.0/16
    expect(seen.has('20.1.134.159')).toBe(true); // i = 99999
  });

  it(`${N} routes: kring routes --count prints routes=${N + 1}, and --table all counts every table`, () => {
    const main = spawnSync(process.execPath, [KRING, 'routes', '--count', '--netns', ns], { encoding: 'utf8' });
    expect(main.status).toBe(0);
    expect(main.stdout).toBe(`routes=${N + 1}\n`);
    const all = spawnSync(process.execPath, [KRING, 'routes', '--count', '--table', 'all', '--netns', ns], { encoding: 'utf8' });
    const expected = (ipJson(ns, ['route', 'show', 'table', 'all']) as unknown[]).length;
    expect(all.stdout).toBe(`routes=${expected}\n`);
  });

  it('the main job needs no privileges: kring routes as nobody, with no capabilities, prints what ip prints', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, KRING, 'routes'],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ip = spawnSync('ip', ['route', 'show'], { encoding: 'utf8' }).stdout;
    expect(r.stdout).toBe(
      ip
        .split('\n')
        .map((l) => l.trimEnd())
        .join('\n'),
    );
  });

  it('kernel-side filters (strict checking): table and protocol and type select exactly their routes', async () => {
    const t300 = await getRoutes({ netns: ns, table: 300 });
    expect(t300.length).toBe(500);
    expect(t300.every((r) => r.type === RTN_BLACKHOLE && r.table === 300)).toBe(true);
    const blackholes = await getRoutes({ netns: ns, filter: { type: RTN_BLACKHOLE } });
    expect(blackholes.length).toBe(500);
    const kernelMain = await getRoutes({ netns: ns, family: AF_INET, table: 254, filter: { protocol: 2 /* RTPROT_KERNEL */ } });
    expect(kernelMain.map((r) => `${r.dst}/${r.dstLen}`)).toEqual(['10.0.0.0/16']);
    // Every main-table IPv4 route leaves through r0 (N static ones and the connected /16); none through r1.
    const index = async (name: string) => (await getLinks({ netns: ns })).find((l) => l.name === name)!.index;
    expect((await getRoutes({ netns: ns, family: AF_INET, table: 254, filter: { oif: await index('r0') } })).length).toBe(N + 1);
    expect(await getRoutes({ netns: ns, family: AF_INET, table: 254, filter: { oif: await index('r1') } })).toEqual([]);
  });

  it('the filtering happens in the kernel: a table-300 dump of a 100k-route namespace is a datagram or two', async () => {
    const socket = NetlinkSocket.open({ protocol: 'route', netns: ns, strict: true });
    let datagrams = 0;
    const frames = socket.frames().subscribe((fs) => (datagrams += fs.length));
    const got = await getRoutes({ socket, table: 300 });
    frames.unsubscribe();
    socket.close();
    expect(got.length).toBe(500);
    expect(datagrams).toBeLessThanOrEqual(3); // 500 records and NLMSG_DONE; unfiltered it is ~200
  });

  it('netns runs the dump inside the namespace, and the calling thread stays where it was', async () => {
    const before = readlinkSync('/proc/thread-self/ns/net');
    const inside = (await getLinks({ netns: ns })).map((l) => l.name).sort();
    expect(inside).toEqual(['lo', 'r0', 'r1']);
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(before);
    const addrs = await getAddresses({ netns: ns, family: AF_INET });
    expect(addrs.map((a) => `${a.local}/${a.prefixLen}`)).toEqual(['127.0.0.1/8', '10.0.0.1/16']);
  });

  it('family is AF_* both ways: what an option asks for is what records carry (against ip -4/-6)', async () => {
    const v6 = await getAddresses({ netns: ns, family: AF_INET6 });
    const ip6 = (ipJson(ns, ['-6', 'addr', 'show']) as { addr_info: { local: string }[] }[]).flatMap((l) => l.addr_info.map((a) => a.local));
    expect(v6.map((a) => a.address).sort()).toEqual(ip6.sort());
    expect(new Set(v6.map((a) => a.family))).toEqual(new Set([10]));
    const v4 = await getRoutes({ netns: ns, family: AF_INET, table: 'all' });
    expect(v4.length).toBe((ipJson(ns, ['-4', 'route', 'show', 'table', 'all']) as unknown[]).length);
    expect(new Set(v4.map((r) => r.family))).toEqual(new Set([2]));
  });

  it('cold and torn down: nothing happens before subscribe; take(10) stops the dump and closes its socket', async () => {
    const sockets = openSockets;
    const before = sockets();
    const obs = routes({ netns: ns, table: 254 });
    expect([...sockets()].filter((x) => !before.has(x))).toEqual([]);
    const first = await lastValueFrom(obs.pipe(take(10), toArray()));
    expect(first.length).toBe(10);
    // The fd is closed once the emulation's in-flight read (a non-blocking recvmmsg on a worker
    // thread) has returned: within a few event-loop turns.
    for (let turn = 0; turn < 100 && [...sockets()].some((x) => !before.has(x)); turn++) await new Promise((r) => setTimeout(r, 1));
    expect([...sockets()].filter((x) => !before.has(x))).toEqual([]);
  });

  it("a predicate that throws errors the stream with its exception (the process lives), and the dump's socket closes", async () => {
    const before = openSockets();
    const boom = new Error('predicate failed');
    let calls = 0;
    const err = await lastValueFrom(
      routes({
        netns: ns,
        filter: {
          predicate: () => {
            if (++calls === 3) throw boom;
            return true;
          },
        },
      }).pipe(toArray()),
    ).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(calls).toBe(3);
    for (let turn = 0; turn < 100 && [...openSockets()].some((x) => !before.has(x)); turn++) await new Promise((r) => setTimeout(r, 1));
    expect([...openSockets()].filter((x) => !before.has(x))).toEqual([]);
  });

  it("table names as ip knows them: 'main', 'local', 'default' select what the ids select; an unknown name is a RangeError", async () => {
    const key = (r: { table: number; dst?: string | null; dstLen: number }) => `${r.table} ${r.dst}/${r.dstLen}`;
    for (const [name, id] of [
      ['main', 254],
      ['local', 255],
      ['default', 253],
    ] as const) {
      const byName = (await getRoutes({ netns: ns, table: name })).map(key);
      const byId = (await getRoutes({ netns: ns, table: id })).map(key);
      expect(byName).toEqual(byId);
      // ip agrees on what the table holds (its count, both families).
      // (ip fails on a table the namespace does not have, as 'default' here: nothing to count.)
      const ipRoutes = (fam: number) => {
        try {
          return (ipJson(ns, [`-${fam}`, 'route', 'show', 'table', name]) as unknown[]).length;
        } catch {
          return 0;
        }
      };
      const ipCount = ipRoutes(4) + ipRoutes(6);
      expect(byName.length).toBe(ipCount);
    }
    expect(() => getRoutes({ netns: ns, table: 'no-such-table' })).toThrow(RangeError);
  });

  it('signal and timeoutMs: an abort or a timeout ends the dump with its reason, and its socket closes', async () => {
    const before = openSockets();
    const gone = new Error('no longer wanted');
    await expect(getRoutes({ netns: ns, signal: AbortSignal.abort(gone) })).rejects.toBe(gone);
    const ac = new AbortController();
    const mid = lastValueFrom(routes({ netns: ns }).pipe(toArray()));
    const aborting = lastValueFrom(routes({ netns: ns, signal: ac.signal }).pipe(toArray()));
    setImmediate(() => ac.abort(gone)); // the dump of the whole table is under way by then
    await expect(aborting).rejects.toBe(gone);
    const whole = (await getRoutes({ netns: ns })).length;
    expect((await mid).length).toBe(whole); // another dump at the same time is untouched
    await expect(getRoutes({ netns: ns, timeoutMs: 1 })).rejects.toMatchObject({ code: 'ERR_KRING_TIMEOUT' });
    expect((await getRoutes({ netns: ns, timeoutMs: 60_000 })).length).toBe(whole);
    expect(() => getRoutes({ signal: 'stop' as unknown as AbortSignal })).toThrow(TypeError);
    expect(() => getRoutes({ timeoutMs: 0 })).toThrow(RangeError);
    // A closing socket with a read-ahead in flight closes its fd when that read is back.
    for (let turn = 0; turn < 100 && [...openSockets()].some((x) => !before.has(x)); turn++) await new Promise((r) => setTimeout(r, 1));
    expect([...openSockets()].filter((x) => !before.has(x))).toEqual([]);
  });

  it('iterate(routes()) pulls the same routes with for await; a break ends the dump and closes its socket', async () => {
    const whole = (await getRoutes({ netns: ns })).map((r) => `${r.table} ${r.dst}/${r.dstLen}`);
    const pulled: string[] = [];
    for await (const r of iterate(routes({ netns: ns }))) pulled.push(`${r.table} ${r.dst}/${r.dstLen}`);
    expect(pulled).toEqual(whole);
    const before = openSockets();
    let n = 0;
    for await (const r of iterate(routes({ netns: ns }))) if (r && ++n === 10) break;
    expect(n).toBe(10);
    for (let turn = 0; turn < 100 && [...openSockets()].some((x) => !before.has(x)); turn++) await new Promise((r) => setTimeout(r, 1));
    expect([...openSockets()].filter((x) => !before.has(x))).toEqual([]);
  });

  it('RouteTable: signal and timeoutMs cancel the first dump: ready rejects with the reason and the mirror closes', async () => {
    const gone = new Error('not wanted');
    const aborted = RouteTable.open({ netns: ns, signal: AbortSignal.abort(gone) });
    await expect(aborted.ready).rejects.toBe(gone);
    expect(aborted.size).toBe(0);
    const slow = RouteTable.open({ netns: ns, timeoutMs: 1 }); // 100k routes take longer than that
    await expect(slow.ready).rejects.toMatchObject({ code: 'ERR_KRING_TIMEOUT' });
    const fine = RouteTable.open({ netns: ns, timeoutMs: 60_000, signal: new AbortController().signal });
    await fine.ready;
    expect(fine.size).toBe((await getRoutes({ netns: ns })).length);
    fine.close();
    expect(() => RouteTable.open({ netns: ns, timeoutMs: 0 })).toThrow(RangeError);
  });

  it('bad options are TypeError/RangeError at call time, before any socket', () => {
    expect(() => routes({ family: 5 as 2 })).toThrow(new RangeError('family must be AF_INET (2) or AF_INET6 (10), got 5'));
    expect(() => routes({ family: 4 as 2 })).toThrow(
      new RangeError("family must be AF_INET (2) or AF_INET6 (10), got 4 (4 is AF_INET's IP version: pass AF_INET)"),
    );
    expect(() => RouteTable.open({ family: 6 as 2 })).toThrow(
      new RangeError("family must be AF_INET (2) or AF_INET6 (10), got 6 (6 is AF_INET6's IP version: pass AF_INET6)"),
    );
    expect(() => routes({ table: -1 })).toThrow(RangeError);
    expect(() => routes({ onInterrupted: 'sometimes' as 'flag' })).toThrow(RangeError);
    expect(() => routes(null as never)).toThrow(TypeError);
  });

  describe('NLM_F_DUMP_INTR on a real dump (links: the kernel checks the device generation between chunks)', () => {
    let extra = 0;
    beforeAll(() =>
      ipBatch(
        ns,
        Array.from({ length: 150 }, (_, i) => `link add kx${i} type veth peer name ky${i}`),
      ),
    );
    // A two-frame ring keeps the kernel a chunk or two ahead: a link added after the first chunk
    // lands mid-dump.
    const small = () => NetlinkSocket.open({ protocol: 'route', netns: ns, rx: { blockSize: 32768, blockCount: 2, frameSize: 32768, frameCount: 2 } });
    const addLink = () => ipBatch(ns, [`link add kz${extra} type veth peer name kw${extra++}`]);
    const countLinks = () => (ipJson(ns, ['link']) as unknown[]).length;

    function dumpWithChange(policy: 'retry' | 'error' | 'flag') {
      const socket = small();
      let changed = false;
      const got: { interrupted?: boolean }[] = [];
      return new Promise<{ got: typeof got; error?: unknown }>((resolve) => {
        links({ socket, onInterrupted: policy }).subscribe({
          next: (l) => {
            got.push(l);
            if (!changed) {
              changed = true;
              addLink();
            }
          },
          error: (error) => {
            socket.close();
            resolve({ got, error });
          },
          complete: () => {
            socket.close();
            resolve({ got });
          },
        });
      });
    }

    it("'error': the dump errors with DumpInterruptedError", async () => {
      const r = await dumpWithChange('error');
      expect(r.error).toBeInstanceOf(DumpInterruptedError);
    });
    it("'flag': every link arrives, those after the change marked interrupted", async () => {
      const r = await dumpWithChange('flag');
      expect(r.error).toBeUndefined();
      expect(r.got.some((l) => l.interrupted)).toBe(true);
      expect(r.got.length).toBeGreaterThanOrEqual(countLinks() - 2);
    });
    it("'retry': records of the interrupted pass are dropped and a clean pass is emitted whole", async () => {
      const socket = small();
      // The change happens during the first pass only (from the socket's frames, before records are decoded).
      let batches = 0;
      let dones = 0;
      const frames = socket.frames().subscribe((fs) => {
        if (batches++ === 0) addLink();
        for (const f of fs) {
          const m = new MessageCursor(f.data);
          while (m.next()) if (m.type === NLMSG_DONE) dones++;
        }
      });
      const got = await lastValueFrom(links({ socket, onInterrupted: 'retry' }).pipe(toArray()));
      frames.unsubscribe();
      socket.close();
      const names = got.map((l) => l.name);
      expect(new Set(names).size).toBe(names.length);
      expect(got.length).toBe(countLinks());
      expect(got.some((l) => l.interrupted)).toBe(false);
      expect(dones).toBe(2); // the interrupted pass and the clean one
    });
  });
});
