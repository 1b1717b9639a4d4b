// Dumps through NetlinkSocket on the real kernel: thousands of routes counted exactly, and
// NLM_F_DUMP_INTR provoked by adding a link mid-dump, under each policy. (Link dumps check the
// device generation between chunks, so a change shows; this kernel's IPv4 route dump never sets
// NLM_F_DUMP_INTR, which is why readers that trust it drift.)
import { RTM_GETLINK, RTM_GETROUTE, RTM_NEWLINK, RTM_NEWROUTE, RT_TABLE_MAIN } from '../../src/constants';
import { execFileSync } from 'node:child_process';
import { lastValueFrom, toArray } from 'rxjs';
import { MessageBuilder } from '../../src/netlink/message';
import { NLM_F_DUMP, NLM_F_REQUEST } from '../../src/constants';
import { DumpInterruptedError, NetlinkMessage, NetlinkSocket } from '../../src/netlink/socket';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';

const AF_INET = 2;
const ROUTES = 5000;
const rtmsg = () => Uint8Array.of(AF_INET, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
const getLinks = () =>
  new MessageBuilder()
    .begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0)
    .bytes(new Uint8Array(16))
    .finish();
const getRoutes = () =>
  new MessageBuilder()
    .begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 0)
    .bytes(rtmsg())
    .finish();
// Main-table IPv4 unicast routes of the dump (the kernel also dumps local-table routes).
const mainRoutes = (ms: NetlinkMessage[]) => ms.filter((m) => m.type === RTM_NEWROUTE && m.payload[4] === RT_TABLE_MAIN);

describePrivileged('route dumps through NetlinkSocket', () => {
  let t: VethPair;
  let extra = 0;
  beforeAll(() => {
    t = createVethPair();
    execFileSync('ip', ['-n', t.capNs, 'addr', 'add', '10.99.0.1/16', 'dev', t.capIf]);
    const batch = Array.from({ length: ROUTES }, (_, i) => `route add 10.${100 + (i >> 8)}.${i & 255}.0/24 via 10.99.0.2`).join('\n');
    execFileSync('ip', ['-n', t.capNs, '-batch', '-'], { input: batch });
    // 300 links: a link dump of a dozen 32 KiB chunks.
    execFileSync('ip', ['-n', t.capNs, '-batch', '-'], {
      input: Array.from({ length: 150 }, (_, i) => `link add kx${i} type veth peer name ky${i}`).join('\n'),
    });
  });
  afterAll(() => t?.destroy());
  const countLinks = () => (JSON.parse(execFileSync('ip', ['-n', t.capNs, '-j', 'link'], { encoding: 'utf8' })) as unknown[]).length;
  const countMain = () => (JSON.parse(execFileSync('ip', ['-n', t.capNs, '-j', 'route', 'show', 'table', 'main'], { encoding: 'utf8' })) as unknown[]).length;
  // Adds a link: the device generation changes, so a running link dump's later chunks carry NLM_F_DUMP_INTR.
  const changeLinks = () => execFileSync('ip', ['-n', t.capNs, 'link', 'add', `kz${extra}`, 'type', 'veth', 'peer', 'name', `kw${extra++}`]);
  // A two-frame ring keeps the kernel at most a chunk or two ahead of the reader.
  const open = () => NetlinkSocket.open({ protocol: 'route', netns: t.capNs, rx: { blockSize: 32768, blockCount: 2, frameSize: 32768, frameCount: 2 } });

  it(`${ROUTES} routes: the dump counts exactly what ip shows`, async () => {
    using sock = NetlinkSocket.open({ protocol: 'route', netns: t.capNs });
    const all = await lastValueFrom(sock.dump(getRoutes()).pipe(toArray()));
    expect(mainRoutes(all).length).toBe(countMain());
    expect(mainRoutes(all).length).toBe(ROUTES + 1); // and the connected 10.99.0.0/16
  });

  it(`dumpBatches(): the same ${ROUTES} routes read in place, one cursor per datagram`, async () => {
    using sock = NetlinkSocket.open({ protocol: 'route', netns: t.capNs });
    let main = 0;
    let batches = 0;
    await new Promise<void>((resolve, reject) =>
      sock.dumpBatches(getRoutes()).subscribe({
        next: ({ cursor, interrupted }) => {
          batches++;
          expect(interrupted).toBe(false);
          while (cursor.next()) if (cursor.type === RTM_NEWROUTE && cursor.dv.getUint8(cursor.payload + 4) === RT_TABLE_MAIN) main++;
          expect(cursor.error).toBeNull();
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(main).toBe(countMain());
    expect(batches).toBeLessThan(main / 10); // batched: many records per emission
  });

  it("dumpBatches(): a link added mid-dump errors under the default policy, and is only flagged under 'flag'", async () => {
    const run = (policy: 'error' | 'flag') =>
      new Promise<{ flagged: number; error: unknown }>((resolve) => {
        const sock = open();
        let changed = false;
        let flagged = 0;
        sock.dumpBatches(getLinks(), { onInterrupted: policy }).subscribe({
          next: ({ interrupted }) => {
            if (interrupted) flagged++;
            if (!changed) {
              changed = true;
              changeLinks();
            }
          },
          error: (error) => (sock.close(), resolve({ flagged, error })),
          complete: () => (sock.close(), resolve({ flagged, error: null })),
        });
      });
    expect((await run('error')).error).toBeInstanceOf(DumpInterruptedError);
    const flag = await run('flag');
    expect(flag.error).toBeNull();
    expect(flag.flagged).toBeGreaterThan(0);
  });

  it("'error': a link added during the dump errors with DumpInterruptedError", async () => {
    using sock = open();
    let changed = false;
    const clean = await lastValueFrom(sock.dump(getLinks(), { onInterrupted: 'error' }).pipe(toArray()));
    expect(clean.length).toBe(countLinks()); // no change: a clean dump completes
    const failed = await new Promise((resolve) => {
      sock.dump(getLinks(), { onInterrupted: 'error' }).subscribe({
        next: () => {
          if (!changed) {
            changed = true;
            changeLinks();
          }
        },
        error: resolve,
        complete: () => resolve(null),
      });
    });
    expect(failed).toBeInstanceOf(DumpInterruptedError);
  });

  it("'flag': the dump completes, and the records after the change are marked interrupted", async () => {
    using sock = open();
    let changed = false;
    const got: (NetlinkMessage & { interrupted?: boolean })[] = [];
    await new Promise<void>((resolve, reject) =>
      sock.dump(getLinks(), { onInterrupted: 'flag' }).subscribe({
        next: (m) => {
          got.push(m);
          if (!changed) {
            changed = true;
            changeLinks();
          }
        },
        error: reject,
        complete: resolve,
      }),
    );
    const marked = got.filter((m) => m.interrupted).length;
    expect(marked).toBeGreaterThan(0);
    expect(got[0].interrupted).toBeUndefined();
  });

  it("'retry': an interrupted pass is dropped and the dump retried until clean: exactly the links after the change", async () => {
    using sock = open();
    const got = new Promise<NetlinkMessage[]>((resolve, reject) => {
      const out: NetlinkMessage[] = [];
      sock.dump(getLinks(), { onInterrupted: 'retry', retries: 3 }).subscribe({ next: (m) => out.push(m), error: reject, complete: () => resolve(out) });
    });
    // The first chunk was built inside the request's send; the rest come as we read. A link added
    // now interrupts that first pass; the retry runs on an unchanged table.
    changeLinks();
    const links = await got;
    expect(links.filter((m) => m.type === RTM_NEWLINK).length).toBe(countLinks());
    // Every record is from the second request (a fresh socket's seq 1 was the interrupted pass).
    expect(new Set(links.map((m) => m.seq))).toEqual(new Set([2]));
  });
});
