// NetlinkSocket on real rtnetlink (emulated ring): probe, requests, dumps, multicast, losses.
import { IFLA_IFNAME, RTM_GETLINK, RTM_NEWLINK, RTNLGRP_LINK } from '../../src/constants';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { UnsupportedError } from '../../src/errors';
import { AttrCursor, MessageBuilder, NetlinkError } from '../../src/netlink/message';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST } from '../../src/constants';
import { NetlinkFrame } from '../../src/netlink/reader';
import { NetlinkMessage, NetlinkSocket } from '../../src/netlink/socket';
import { createVethPair, VethPair } from '../helpers/netns';
import { openSockets } from '../helpers/netlink';
import { describePrivileged } from '../helpers/privileged';
import { sleep } from '../helpers/traffic';

// RTM_GETLINK with NLM_F_DUMP: every link of the namespace.
const linkDump = () =>
  new MessageBuilder()
    .begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0)
    .bytes(ifinfomsg())
    .finish();
const ifinfomsg = (index = 0) => {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setInt32(4, index, true);
  return b;
};
const ifname = (m: NetlinkMessage) => {
  const a = new AttrCursor(new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.length), 16, m.payload.length);
  while (a.next()) if (a.type === IFLA_IFNAME) return a.string();
  return null;
};

describePrivileged('NetlinkSocket on rtnetlink', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
    execFileSync('ip', ['-n', t.capNs, '-batch', '-'], {
      input: Array.from({ length: 100 }, (_, i) => `link add kn${i} type veth peer name ko${i}`).join('\n'),
    });
  });
  afterAll(() => t?.destroy());
  const open = (extra = {}) => NetlinkSocket.open({ protocol: 'route', netns: t.capNs, ...extra });

  it("ringMode is 'emulated' here, and forcing 'kernel' is an UnsupportedError naming Linux 3.10–4.5 that leaks nothing", () => {
    using sock = open();
    expect(sock.ringMode).toBe('emulated');
    expect(sock.portId).toBeGreaterThan(0);
    const fds = readdirSync('/proc/self/fd').length;
    let err: unknown;
    try {
      open({ ring: 'kernel' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toMatch(/NETLINK_RX_RING.*ENOPROTOOPT.*Linux 3\.10–4\.5/);
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });

  it('request() resolves with the replies before the ACK; a refused request rejects with NetlinkError and the extended ACK', async () => {
    using sock = open();
    const replies = await sock.request(new MessageBuilder().begin(RTM_GETLINK, NLM_F_REQUEST, 0).bytes(ifinfomsg(1)).finish());
    expect(replies.map((m) => [m.type, ifname(m), m.pid])).toEqual([[RTM_NEWLINK, 'lo', sock.portId]]);
    const bad = new MessageBuilder()
      .begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, 0)
      .bytes(ifinfomsg())
      .string(IFLA_IFNAME, 'x'.repeat(20))
      .finish();
    const err = await sock.request(bad).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'ERANGE', errno: 34, extackMessage: 'Attribute failed policy validation', extackOffset: 32 });
  });

  it('dump() streams every record and completes at NLMSG_DONE', async () => {
    using sock = open();
    const links = await lastValueFrom(sock.dump(linkDump()).pipe(toArray()));
    const ip = JSON.parse(execFileSync('ip', ['-n', t.capNs, '-j', 'link'], { encoding: 'utf8' })) as { ifname: string }[];
    expect(links.map(ifname)).toEqual(ip.map((l) => l.ifname));
    expect(links.length).toBe(202);
    expect(links.every((m) => m.type === RTM_NEWLINK && m.seq === links[0].seq)).toBe(true);
  });

  it('messages() delivers RTNLGRP_LINK events for links the test creates, with their group', async () => {
    using sock = open({ groups: [RTNLGRP_LINK] });
    const events: NetlinkMessage[] = [];
    const sub = sock.messages().subscribe((m) => events.push(m));
    await sleep(10);
    execFileSync('ip', ['-n', t.capNs, 'link', 'add', 'kev0', 'type', 'veth', 'peer', 'name', 'kev1']);
    for (const deadline = Date.now() + 3000; Date.now() < deadline && !events.some((e) => ifname(e) === 'kev1');) await sleep(5);
    sub.unsubscribe();
    const names = events.filter((e) => e.type === RTM_NEWLINK).map(ifname);
    expect(names).toEqual(expect.arrayContaining(['kev0', 'kev1']));
    expect(events.every((e) => e.group === RTNLGRP_LINK)).toBe(true);
  });

  it('leave() stops a group: events after it do not arrive', async () => {
    using sock = open({ groups: [RTNLGRP_LINK] });
    const events: NetlinkMessage[] = [];
    const sub = sock.messages().subscribe((m) => events.push(m));
    sock.leave(RTNLGRP_LINK);
    execFileSync('ip', ['-n', t.capNs, 'link', 'add', 'kleft0', 'type', 'veth', 'peer', 'name', 'kleft1']);
    await sleep(100);
    sock.join(RTNLGRP_LINK);
    execFileSync('ip', ['-n', t.capNs, 'link', 'set', 'kleft0', 'up']);
    for (const deadline = Date.now() + 3000; Date.now() < deadline && events.length === 0;) await sleep(5);
    sub.unsubscribe();
    // Only events after join (kleft0 going up); the creation events, kleft1's among them, never came.
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map(ifname))).toEqual(new Set(['kleft0']));
  });

  it('a tiny receive buffer and a flood of events: a loss event, and the stream goes on', async () => {
    using sock = open({ groups: [RTNLGRP_LINK], rcvbuf: 4096 });
    const losses: number[] = [];
    sock.losses().subscribe((e) => losses.push(e.count));
    const events: NetlinkMessage[] = [];
    const sub = sock.messages().subscribe((m) => events.push(m));
    await sleep(10);
    // execFileSync blocks the event loop: 200 events pile up in a 4 KiB socket buffer.
    execFileSync('ip', ['-n', t.capNs, '-batch', '-'], {
      input: Array.from({ length: 100 }, (_, i) => `link add kl${i} type veth peer name km${i}`).join('\n'),
    });
    await sleep(50);
    expect(losses.length).toBeGreaterThanOrEqual(1);
    execFileSync('ip', ['-n', t.capNs, 'link', 'add', 'kafter0', 'type', 'veth', 'peer', 'name', 'kafter1']);
    for (const deadline = Date.now() + 3000; Date.now() < deadline && !events.some((e) => ifname(e) === 'kafter1');) await sleep(5);
    sub.unsubscribe();
    expect(events.map(ifname)).toEqual(expect.arrayContaining(['kafter0', 'kafter1']));
  });

  it('frames(): a frame held across a dump through a 4-frame ring stays intact while later frames flow', async () => {
    using sock = open({ rx: { blockSize: 32768, blockCount: 4, frameSize: 32768, frameCount: 4 } });
    let held: NetlinkFrame | null = null;
    let heldBytes = '';
    let seenAfter = 0;
    const sub = sock.frames().subscribe((frames) => {
      if (!held) {
        held = frames[0];
        heldBytes = Buffer.from(held.data).toString('hex');
        sock.hold(held);
      } else {
        seenAfter += frames.length;
      }
    });
    const links = await lastValueFrom(sock.dump(linkDump()).pipe(toArray()));
    sub.unsubscribe();
    const ip = JSON.parse(execFileSync('ip', ['-n', t.capNs, '-j', 'link'], { encoding: 'utf8' })) as { ifname: string }[];
    expect(links.map(ifname)).toEqual(ip.map((l) => l.ifname)); // the whole dump, past the parked frame
    expect(seenAfter).toBeGreaterThan(4); // the ring wrapped around the held frame
    expect(Buffer.from(held!.data).toString('hex')).toBe(heldBytes);
    sock.release(held!);
  });

  it('writer(): requests filled into TX frames go out in one flush; their replies arrive on messages()', async () => {
    using sock = open();
    const got: NetlinkMessage[] = [];
    const sub = sock.messages().subscribe((m) => got.push(m));
    const w = sock.writer();
    for (const seq of [100, 101, 102]) expect(w.tryWrite(new MessageBuilder().begin(RTM_GETLINK, NLM_F_REQUEST, seq).bytes(ifinfomsg(1)).finish())).toBe(true);
    expect(w.flush()).toBe(3);
    for (const deadline = Date.now() + 3000; Date.now() < deadline && got.length < 3;) await sleep(5);
    sub.unsubscribe();
    expect(got.map((m) => [m.type, m.seq, m.pid, ifname(m)])).toEqual([100, 101, 102].map((seq) => [RTM_NEWLINK, seq, sock.portId, 'lo']));
  });

  it('close() from inside a dump callback is safe: reading stops there', async () => {
    const sock = open();
    const seen = await new Promise<number>((resolve, reject) => {
      let n = 0;
      sock.dump(linkDump()).subscribe({
        next: () => {
          if (++n === 10) {
            sock.close();
            resolve(n);
          }
        },
        error: reject,
      });
    });
    expect(seen).toBe(10);
    expect(sock.closed).toBe(true);
    await sleep(20); // a further wake-up must not touch the closed fd
  });

  it('close() while a dump reads ahead on a worker thread: the fd and the ring outlive the in-flight read, then close (a kept view throws); nothing arrives after close', async () => {
    const sockets = openSockets;
    const before = sockets();
    // Four frames: the read-ahead takes two while the consumer has the other two.
    const sock = open({ rx: { blockSize: 32768, blockCount: 4, frameSize: 32768, frameCount: 4 } });
    const mine = [...sockets()].filter((x) => !before.has(x));
    expect(mine).toHaveLength(1);
    let afterClose = 0;
    let openAtClose = false;
    let kept: DataView | null = null;
    let firstWord = -1;
    let firstLen = -2;
    await new Promise<void>((resolve, reject) => {
      sock.dumpBatches(linkDump()).subscribe({
        next: ({ cursor }) => {
          if (sock.closed) return void afterClose++;
          // The first chunks' completion started the next read before handing them out: it is in flight.
          kept = cursor.dv; // a view into the ring, kept past its batch (misuse)
          cursor.next();
          firstLen = cursor.len;
          sock.close();
          openAtClose = sockets().has(mine[0]);
          firstWord = kept.getUint32(cursor.offset, true); // still mapped: the read in flight writes into it
          resolve();
        },
        error: reject,
      });
    });
    expect(openAtClose).toBe(true);
    expect(firstLen).toBeGreaterThanOrEqual(16 + 16); // an RTM_NEWLINK: nlmsghdr and ifinfomsg at least
    expect(firstWord).toBe(firstLen); // the same nlmsg_len, read through the kept view after close()
    for (let turn = 0; turn < 100 && sockets().has(mine[0]); turn++) await sleep(1);
    expect(sockets().has(mine[0])).toBe(false);
    // Unmapped with the fd: the stale view throws instead of reading unmapped memory.
    expect(() => kept!.getUint32(0, true)).toThrow(TypeError);
    await sleep(20);
    expect(afterClose).toBe(0);
  });

  it('worker threads that exit mid-dump, with a read in flight on the receive thread, neither crash nor disturb the main thread', () => {
    const out = execFileSync(process.execPath, [join(__dirname, '..', 'fixtures', 'worker-exit-mid-dump.js'), t.capNs], { encoding: 'utf8', timeout: 30000 });
    const links = (JSON.parse(execFileSync('ip', ['-n', t.capNs, '-j', 'link', 'show'], { encoding: 'utf8' })) as unknown[]).length;
    expect(links).toBeGreaterThan(200); // lo, the test's veth end, 100 pairs, and what earlier tests added
    expect(JSON.parse(out)).toEqual({ seen: [20, 20, 20, 20, 20, 20], count: links });
  });

  it('close() completes messages() and losses()', () => {
    const sock = open();
    const done: string[] = [];
    sock.messages().subscribe({ complete: () => done.push('messages') });
    sock.losses().subscribe({ complete: () => done.push('losses') });
    sock.close();
    sock.close();
    expect(done).toEqual(['messages', 'losses']);
  });
});

describePrivileged('NetlinkSocket requests: checked before sending, always settled', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
  });
  afterAll(() => t?.destroy());
  const open = (extra = {}) => NetlinkSocket.open({ protocol: 'route', netns: t.capNs, ...extra });
  const getlink = (flags: number, index = 1) => new MessageBuilder().begin(RTM_GETLINK, flags, 0).bytes(ifinfomsg(index)).finish().slice();

  it('a message that is not one whole netlink message, a dump, or larger than a TX frame is rejected before anything is sent', async () => {
    using sock = open();
    const zeroLen = getlink(NLM_F_REQUEST);
    new DataView(zeroLen.buffer).setUint32(0, 0, true);
    const tooLong = getlink(NLM_F_REQUEST);
    new DataView(tooLong.buffer).setUint32(0, tooLong.length + 4, true);
    const big = new MessageBuilder().begin(RTM_GETLINK, NLM_F_REQUEST, 0).bytes(new Uint8Array(5000)).finish().slice();
    await expect(sock.request('x' as unknown as Uint8Array)).rejects.toThrow(TypeError);
    await expect(sock.request(zeroLen)).rejects.toThrow(/nlmsg_len is 0 but the message has 32 bytes/);
    await expect(sock.request(tooLong)).rejects.toThrow(/nlmsg_len is 36 but the message has 32 bytes/);
    await expect(sock.request(getlink(NLM_F_REQUEST | NLM_F_DUMP))).rejects.toThrow(/use dump\(\)/);
    await expect(sock.request(big)).rejects.toThrow(new RangeError('a 5016-byte message does not fit a 4072-byte TX frame (raise tx.frameSize)'));
    await expect(sock.request(getlink(0), { timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(sock.request(getlink(0), { signal: {} as AbortSignal })).rejects.toThrow(TypeError);
    // Nothing was left waiting: a valid request after them is answered.
    expect((await sock.request(getlink(0))).map(ifname)).toEqual(['lo']);
  });

  it('NLM_F_REQUEST is added when missing (without it the kernel only acks, doing nothing)', async () => {
    using sock = open();
    const replies = await sock.request(getlink(0));
    expect(replies.map((m) => [m.type, ifname(m)])).toEqual([[RTM_NEWLINK, 'lo']]);
  });

  it('NLM_F_REPLACE | NLM_F_EXCL on a NEW message is not a dump (the same bits as NLM_F_DUMP)', async () => {
    using sock = open();
    const add = new MessageBuilder()
      .begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | 0x100, 0)
      .bytes(ifinfomsg(1))
      .finish()
      .slice();
    const err = await sock.request(add).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError); // the kernel judged it: lo exists
    expect((err as NetlinkError).code).toBe('EEXIST');
  });

  it('close() rejects a pending request with SocketClosedError and completes a pending dump', async () => {
    const sock = open();
    const request = sock.request(getlink(0));
    let dumpEnd = '';
    sock.dump(getlink(NLM_F_REQUEST | NLM_F_DUMP, 0)).subscribe({ error: () => (dumpEnd = 'error'), complete: () => (dumpEnd = 'complete') });
    sock.close();
    await expect(request).rejects.toMatchObject({ name: 'SocketClosedError', code: 'ERR_KRING_CLOSED' });
    expect(dumpEnd).toBe('complete');
    await expect(sock.request(getlink(0))).rejects.toMatchObject({ code: 'ERR_KRING_CLOSED' });
  });

  it('a request refused for its size leaves nothing behind: the process exits by itself', () => {
    const script = `
      const { NetlinkSocket, MessageBuilder } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist'))});
      const sock = NetlinkSocket.open({ protocol: 'route', netns: ${JSON.stringify(t.capNs)} });
      const big = new MessageBuilder().begin(18, 1, 0).bytes(new Uint8Array(5000)).finish().slice();
      sock.request(big).catch((e) => console.log(e.name));
    `;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(out).toBe('RangeError\n');
  });
});

describePrivileged('closing from inside a callback, in kernel mode (simulated 4.4, whose munmap detaches) and emulated mode', () => {
  let ns: VethPair;
  beforeAll(() => {
    ns = createVethPair();
  });
  afterAll(() => ns?.destroy());

  it('readers that complete at NLMSG_DONE, and users closing in dumpBatches(), frames() and messages(): exit 0, nothing touches the ring after close', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', 'fixtures', 'close-in-callback.js'), ns.capNs], { encoding: 'utf8', timeout: 30_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    const links = (JSON.parse(execFileSync('ip', ['-n', ns.capNs, '-j', 'link', 'show'], { encoding: 'utf8' })) as unknown[]).length;
    const routes = (JSON.parse(execFileSync('ip', ['-n', ns.capNs, '-j', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })) as unknown[]).length;
    const addresses = (JSON.parse(execFileSync('ip', ['-n', ns.capNs, '-j', 'addr', 'show'], { encoding: 'utf8' })) as { addr_info: unknown[] }[]).reduce(
      (n, l) => n + l.addr_info.length,
      0,
    );
    const out = JSON.parse(r.stdout);
    // Each mode added one veth pair (its messages() case) after reading the links.
    expect(out.emulated).toEqual({
      links: links - 4,
      routes,
      addresses,
      neighbours: 0,
      ringMode: 'emulated',
      closedInDumpBatch: 1,
      closedInFrames: 1,
      closedInMessages: 1,
    });
    expect(out.kernel).toEqual({
      links: links - 2,
      routes,
      addresses,
      neighbours: 0,
      ringMode: 'kernel',
      closedInDumpBatch: 1,
      closedInFrames: 1,
      closedInMessages: 1,
    });
  });
});
