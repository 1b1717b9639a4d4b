// Lifetime: leases, close(), unsubscribe, and resource counts on the real kernel.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { Frame, FrameBatch, LeaseError, linkDumpRequest, MessageBuilder, NetlinkFrame, NetlinkSocket, PacketSocket, TpacketVersionName } from '../../src';
import { RTM_GETLINK } from '../../src/constants';
import { collect } from '../helpers/collect';
import { describePrivileged } from '../helpers/privileged';
import { buildFrame, sleep, useVethPair } from '../helpers/traffic';

const fdCount = () => readdirSync('/proc/self/fd').length;
// Packet ring mappings show up as the socket's file in /proc/self/maps.
const socketMappings = () =>
  readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('socket:[')).length;

describePrivileged('lifetime', () => {
  const env = useVethPair();
  const frames = (n: number, from = 0) => Array.from({ length: n }, (_, i) => buildFrame(env.t.capMac, env.t.genMac, { seq: from + i, size: 100 }).wire);
  const open = (version: TpacketVersionName = 'v3') => PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version, bufferBytes: 1 << 16 });

  it('a FrameView kept past its batch throws LeaseError', async () => {
    using sock = open();
    let kept: FrameBatch | null = null;
    const got = await collect(sock.batches(), 1, () => env.sender.send(frames(1)));
    kept = got[0];
    expect(kept.released).toBe(true);
    expect(() => kept!.frame(0)).toThrow(LeaseError);
  });

  it.each(['v2', 'v3'] as TpacketVersionName[])('%s: views kept past release or close throw in a child process, never a segfault', (version) => {
    const out = execFileSync(
      process.execPath,
      [join(__dirname, '..', 'fixtures', 'stale-view.js'), env.t.capNs, env.t.capIf, env.t.genNs, env.t.genIf, version],
      {
        encoding: 'utf8',
        timeout: 20000,
      },
    );
    const r = JSON.parse(out);
    expect(r.beforeRelease).toEqual({ ok: true, value: 60 });
    expect(r.afterRelease).toEqual({ ok: false, name: 'LeaseError', code: 'ERR_KRING_LEASE_ENDED', lease: true });
    expect(r.batchAfterRelease).toEqual({ ok: false, name: 'LeaseError', code: 'ERR_KRING_LEASE_ENDED', lease: true });
    expect(r.viewAfterClose).toEqual({ ok: false, name: 'LeaseError', code: 'ERR_KRING_LEASE_ENDED', lease: true });
    // The mapping is detached before munmap: the raw view is empty, reads give undefined, and
    // methods throw TypeError instead of touching unmapped memory.
    expect(r.dataLengthAfterClose).toBe(0);
    expect(r.dataIndexAfterClose).toEqual({ ok: true });
    expect(r.dataSliceAfterClose).toMatchObject({ ok: false, name: 'TypeError' });
    expect(r.dataViewAfterClose).toMatchObject({ ok: false, name: 'TypeError' });
    expect(r.statsAfterClose).toEqual({ ok: true, value: 2 });
  });

  it('sockets dropped without close() are released by the finalizer safety net (child process, --expose-gc)', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', join(__dirname, '..', 'fixtures', 'finalizer.js'), env.t.capNs, env.t.capIf], {
      encoding: 'utf8',
      timeout: 30000,
    });
    const r = JSON.parse(out);
    expect(r.during.fds - r.before.fds).toBe(40); // each socket holds its own fd and an epoll fd
    expect(r.during.maps - r.before.maps).toBe(20);
    expect(r.after).toEqual(r.before);
  });

  it('close() completes a live subscription, the losses stream and a pending async iteration', async () => {
    const sock = open();
    const events: string[] = [];
    sock.batches().subscribe({ complete: () => events.push('batches complete'), error: () => events.push('error') });
    sock.losses().subscribe({ complete: () => events.push('losses complete') });
    sock.close();
    expect(events).toEqual(['batches complete', 'losses complete']);
    sock.close(); // idempotent
    expect(sock.closed).toBe(true);

    const sock2 = open();
    const it = sock2[Symbol.asyncIterator]();
    const pending = it.next();
    await sleep(10);
    sock2.close();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });

    // Subscribing or iterating after close completes at once.
    let completed = false;
    sock.frames().subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
    await expect(sock[Symbol.asyncIterator]().next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('unsubscribing stops polling: frames sent afterwards wait in the ring for the next subscriber', async () => {
    using sock = open('v2');
    const first = await collect(sock.frames(), 3, () => env.sender.send(frames(3)));
    expect(first.length).toBe(3);
    env.sender.send(frames(4, 100)); // nobody polls now
    await sleep(50);
    const second: Frame[] = [];
    const sub = sock.frames().subscribe((f) => second.push(f));
    await sleep(50);
    sub.unsubscribe();
    expect(second.map((f) => f.data.readUInt32BE(14))).toEqual([100, 101, 102, 103]);
  });

  it('one consumer at a time: a second gets ERR_KRING_BUSY', () => {
    using sock = open();
    const sub = sock.batches().subscribe();
    let err: { code?: string } | null = null;
    sock.frames().subscribe({ error: (e) => (err = e) });
    expect(err).toMatchObject({ code: 'ERR_KRING_BUSY' });
    sub.unsubscribe();
    const sub2 = sock.frames().subscribe({ error: (e) => (err = e) });
    expect(sub2.closed).toBe(false);
    sub2.unsubscribe();
  });

  it('close() with everything outstanding: a held batch, TX fills and waits, a netlink request, a dump and a held frame each settle as documented', async () => {
    // Packet side: a batch held, frames written but not kicked, a flush and a drained wait pending.
    const rx = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version: 'v2' });
    let held: FrameBatch | null = null;
    let completed = false;
    rx.batches().subscribe({ next: (b) => void (held ??= b.hold()), complete: () => (completed = true) });
    env.sender.send(frames(3));
    for (let i = 0; i < 100 && !held; i++) await sleep(5);
    expect(held).not.toBeNull();
    // A 1 kbit/s qdisc on the sender keeps the TX frames in the device's queue: the waits stay pending.
    execFileSync('ip', ['-n', env.t.genNs, 'link', 'set', env.t.genIf, 'up']);
    execFileSync('tc', ['-n', env.t.genNs, 'qdisc', 'replace', 'dev', env.t.genIf, 'root', 'tbf', 'rate', '1kbit', 'burst', '1600', 'limit', '3000']);
    const tx = PacketSocket.open({ interface: env.t.genIf, netns: env.t.genNs, rx: false, tx: { batch: 1000 } });
    for (let i = 0; i < 20; i++) tx.writer.write(frames(1, 100 + i)[0]);
    const drained = tx.writer.drained().then(
      () => 'resolved',
      (e: Error) => e.name,
    );
    // Netlink side: a request and a dump in flight, a frame held from frames().
    const nl = NetlinkSocket.open({ protocol: 'route', netns: env.t.capNs });
    let frame: NetlinkFrame | null = null;
    nl.frames().subscribe((fs) => {
      if (!frame) nl.hold((frame = fs[0]));
    });
    const dumped = lastValueFrom(nl.dump(linkDumpRequest()).pipe(toArray())).then(
      () => 'completed',
      (e: Error) => e.name,
    );
    for (let i = 0; i < 100 && !frame; i++) await sleep(5);
    const request = nl.request(new MessageBuilder().begin(RTM_GETLINK, 0, 0).bytes(new Uint8Array(16)).finish()).then(
      () => 'resolved',
      (e: Error) => e.name,
    );
    rx.close();
    tx.close();
    nl.close();
    execFileSync('tc', ['-n', env.t.genNs, 'qdisc', 'del', 'dev', env.t.genIf, 'root']);
    expect(completed).toBe(true);
    expect(held!.released).toBe(true);
    expect(() => held!.frame(0).len).toThrow(LeaseError);
    expect(await drained).toBe('PacketSocketClosedError');
    expect(() => tx.writer.write(frames(1)[0])).toThrow(expect.objectContaining({ name: 'PacketSocketClosedError' }));
    expect(await request).toBe('SocketClosedError');
    expect(['completed', 'SocketClosedError']).toContain(await dumped);
    expect(frame).not.toBeNull();
    expect(() => frame!.data[0]).not.toThrow(); // a detached view: reads give undefined, never memory
    expect(frame!.data.length).toBe(0);
  });

  it('a held batch keeps its slots from the kernel until released', async () => {
    // 8 slots. Hold a batch of 3; 8 more frames then find only 5 free slots.
    using sock = PacketSocket.open({
      interface: env.t.capIf,
      netns: env.t.capNs,
      version: 'v2',
      geometry: { blockSize: 4096, blockCount: 4, frameSize: 2048, frameCount: 8 },
    });
    const seen: number[] = [];
    let held: FrameBatch | null = null;
    const sub = sock.batches().subscribe((b) => {
      for (const v of b) seen.push(Buffer.from(v.data).readUInt32BE(14));
      if (!held) held = b.hold();
    });
    env.sender.send(frames(3));
    await sleep(30);
    env.sender.send(frames(8, 10));
    await sleep(30);
    expect(seen).toEqual([0, 1, 2, 10, 11, 12, 13, 14]);
    expect(held!.released).toBe(false);
    expect(held!.frame(2).len).toBe(100); // still readable while held
    held!.release();
    env.sender.send(frames(2, 20));
    await sleep(30);
    sub.unsubscribe();
    expect(seen.slice(8)).toEqual([20, 21]);
    expect(sock.stats().drops).toBe(3);
  });

  it('1,000 open/close cycles leave the fd count and ring mappings unchanged', async () => {
    // warm up lazily created fds (libuv, the netns helper)
    for (let i = 0; i < 5; i++) open().close();
    const fds = fdCount();
    const maps = socketMappings();
    const versions: TpacketVersionName[] = ['v1', 'v2', 'v3'];
    for (let i = 0; i < 1000; i++) {
      const s = open(versions[i % 3]);
      if (i % 10 === 0) {
        const sub = s.batches().subscribe();
        if (i % 20 === 0) sub.unsubscribe();
      }
      s.close();
    }
    await sleep(10);
    expect(fdCount()).toBe(fds);
    expect(socketMappings()).toBe(maps);
    expect(maps).toBe(0);
    // close() waits for an RCU grace period in packet_release(): ~20-40 ms each on a loaded 2-core VM.
  }, 180_000);

  it('a socket owned only by its reader (async iteration, an unkept subscription, a pending dump) is not collected mid-read', () => {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', join(__dirname, '..', 'fixtures', 'unreferenced-reader.js'), env.t.capNs, env.t.capIf, env.t.genNs, env.t.genIf],
      { encoding: 'utf8', timeout: 20000 },
    );
    const links = (JSON.parse(execFileSync('ip', ['-n', env.t.capNs, '-j', 'link', 'show'], { encoding: 'utf8' })) as unknown[]).length;
    expect(JSON.parse(out)).toEqual({ iterated: 300, subscribed: 300, links });
  });
});
