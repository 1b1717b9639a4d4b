// PacketSocket.readSync(): the synchronous batch read of a capture thread, on the real kernel (a
// veth pair between two namespaces, frames the test built and sent).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Frame, FrameBatch, LeaseError, PacketSocket, PacketSocketClosedError, RingError, TpacketVersionName } from '../../src';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { buildFrame, Sender, TEST_ETHERTYPE, useVethPair } from '../helpers/traffic';

const FIXTURE = join(__dirname, '..', 'fixtures', 'read-sync-worker.js');

// What `f` threw (the error itself: its class and fields are what is checked).
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describePrivileged('PacketSocket.readSync()', () => {
  const env = useVethPair();
  const wire = (seq: number, size = 60 + ((seq * 53) % 1400)) => buildFrame(env.t.capMac, env.t.genMac, { seq, size });
  const send = (from: number, n: number) => expect(env.sender.send(Array.from({ length: n }, (_, i) => wire(from + i).wire))).toBe(n);
  const open = (version: TpacketVersionName = 'v3') => PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version });

  // Reads until `n` frames came (copied), each batch's lease left to the next call.
  function readFrames(sock: PacketSocket, n: number): { frames: Frame[]; batches: FrameBatch[] } {
    const frames: Frame[] = [];
    const batches: FrameBatch[] = [];
    while (frames.length < n) {
      const b = sock.readSync({ timeoutMs: 2000 });
      if (!b) throw new Error(`readSync timed out after ${frames.length} of ${n} frames`);
      batches.push(b);
      frames.push(...b.copyAll());
    }
    return { frames, batches };
  }

  describe.each(['v1', 'v2', 'v3'] as TpacketVersionName[])('TPACKET_%s', (version) => {
    it('every frame sent, once, in order, byte-exact; then null after the timeout', () => {
      using sock = open(version);
      send(0, 200);
      const { frames, batches } = readFrames(sock, 200);
      expect(frames.map((f) => f.data.readUInt32BE(14))).toEqual(Array.from({ length: 200 }, (_, i) => i));
      frames.forEach((f, i) => {
        const { untagged } = buildFrame(env.t.capMac, env.t.genMac, { seq: i, size: 60 + ((i * 53) % 1400) });
        expect(f.len).toBe(untagged.length);
        expect(Buffer.compare(f.data, untagged)).toBe(0);
        expect(f.protocol).toBe(TEST_ETHERTYPE);
        expect(f.ifindex).toBe(env.t.capIfindex);
      });
      // Every batch but the last was released by the call after it.
      expect(batches.map((b) => b.released)).toEqual([...batches.slice(0, -1).map(() => true), false]);
      const t0 = Date.now();
      expect(sock.readSync({ timeoutMs: 150 })).toBeNull();
      const waited = Date.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(149);
      expect(waited).toBeLessThan(1500);
      expect(batches[batches.length - 1].released).toBe(true);
      expect(sock.stats()).toEqual({ packets: 200, drops: 0, freezeQueueCount: 0 });
    });
  });

  it('timeoutMs 0 looks once without waiting; no timeout waits for the next frame', () => {
    using sock = open();
    expect(sock.readSync({ timeoutMs: 0 })).toBeNull();
    // A frame sent by another process 200 ms from now: readSync() blocks until the block retires.
    const child = spawn(process.execPath, [
      '-e',
      `setTimeout(() => {
        const { native } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'native'))});
        const { encodeSockaddrLl } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'layouts', 'sockaddr-ll'))});
        const fd = native.krSocket({ domain: 17, type: 3, protocol: 0, netns: '/run/netns/${env.t.genNs}', op: 'send' });
        native.krBind(fd, encodeSockaddrLl(0, native.krIfIndex(fd, '${env.t.genIf}')), 'send');
        native.krSendmmsg({ fd, buffer: Buffer.from('${wire(7, 100).wire.toString('hex')}', 'hex'), lengths: Uint32Array.of(100), count: 1, op: 'send' });
      }, 200)`,
    ]);
    try {
      const t0 = Date.now();
      const b = sock.readSync();
      const waited = Date.now() - t0;
      expect(b).not.toBeNull();
      expect(b!.length).toBe(1);
      expect(b!.frame(0).copy().data.readUInt32BE(14)).toBe(7);
      expect(b!.lengths).toEqual(Uint32Array.of(100));
      expect(waited).toBeGreaterThanOrEqual(150);
      expect(waited).toBeLessThan(5000);
    } finally {
      child.kill();
    }
  });

  it('a held batch outlives the next call and keeps its bytes until released; release() is the caller’s', () => {
    using sock = open();
    send(1000, 3);
    const first = sock.readSync({ timeoutMs: 2000 })!.hold();
    const firstSeqs = Array.from({ length: first.length }, (_, i) => first.frame(i).copy().data.readUInt32BE(14));
    send(1000 + first.length, 5);
    const { frames } = readFrames(sock, 8 - first.length);
    expect(first.released).toBe(false);
    expect(Array.from({ length: first.length }, (_, i) => first.frame(i).copy().data.readUInt32BE(14))).toEqual(firstSeqs);
    expect([...firstSeqs, ...frames.map((f) => f.data.readUInt32BE(14))]).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
    first.release();
    expect(thrown(() => first.lengths)).toBeInstanceOf(LeaseError);
  });

  it('waiting with the last block held does not spin: the kernel keeps the socket readable, the wait is edge-triggered', () => {
    using sock = open('v3');
    send(1500, 2);
    const held = sock.readSync({ timeoutMs: 2000 })!.hold();
    // poll() now reports the socket readable for as long as that block is held (packet_poll looks at
    // the block before the kernel's current one): a level-triggered wait would return at once, again
    // and again, burning the CPU for the whole timeout.
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    expect(sock.readSync({ timeoutMs: 300 })).toBeNull();
    const wall = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    expect(wall).toBeGreaterThanOrEqual(299);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(60);
    held.release();
  });

  it('exclusive with batches(): each side refuses with ERR_KRING_BUSY while the other is in use', async () => {
    using sock = open();
    const sub = sock.batches().subscribe({ error: () => undefined });
    expect(thrown(() => sock.readSync({ timeoutMs: 0 }))).toMatchObject({ code: 'ERR_KRING_BUSY' });
    sub.unsubscribe();
    send(2000, 1);
    const b = sock.readSync({ timeoutMs: 2000 })!;
    let refused: unknown = null;
    sock.batches().subscribe({ error: (e) => (refused = e) });
    expect(refused).toMatchObject({ code: 'ERR_KRING_BUSY', message: 'this PacketSocket already has a batch from readSync() not yet released' });
    b.release();
    let got = 0;
    const sub2 = sock.batches().subscribe({ next: (x) => (got += x.length) });
    send(2001, 4);
    for (let i = 0; i < 300 && got < 4; i++) await new Promise((r) => setTimeout(r, 10));
    sub2.unsubscribe();
    expect(got).toBe(4);
  });

  it('misuse throws before any wait: bad options, no RX ring, closed; close() ends the lease', () => {
    const sock = open();
    expect(thrown(() => sock.readSync({ timeoutMs: -1 }))).toMatchObject({
      constructor: RangeError,
      message: 'timeoutMs must be between 0 and 2147483647, got -1',
    });
    expect(thrown(() => sock.readSync({ timeoutMs: 1.5 }))).toMatchObject({ constructor: TypeError, message: 'timeoutMs must be an integer, got 1.5' });
    expect(thrown(() => sock.readSync(5 as never))).toBeInstanceOf(TypeError);
    send(3000, 1);
    const b = sock.readSync({ timeoutMs: 2000 })!;
    sock.close();
    expect(b.released).toBe(true);
    expect(thrown(() => b.lengths)).toBeInstanceOf(LeaseError);
    expect(thrown(() => sock.readSync({ timeoutMs: 0 }))).toBeInstanceOf(PacketSocketClosedError);
    using tx = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, rx: false, tx: true });
    expect(thrown(() => tx.readSync({ timeoutMs: 0 }))).toMatchObject({
      constructor: TypeError,
      message: 'this PacketSocket has no RX ring (it was opened with rx: false)',
    });
  });

  it('in a worker thread: the worker blocks, the main thread runs, every frame arrives', async () => {
    const child = spawn(process.execPath, [FIXTURE, 'count', env.t.capNs, env.t.capIf, '50']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    for (let i = 0; i < 500 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(out).toBe('ready\n');
    await new Promise((r) => setTimeout(r, 100)); // the worker is in the kernel's wait now
    send(4000, 50);
    expect(await exited).toBe(0);
    expect(err).toBe('');
    const r = JSON.parse(out.split('\n')[1]);
    expect(r.frames).toBe(50);
    expect(r.seqs).toEqual(Array.from({ length: 50 }, (_, i) => 4000 + i));
    expect(r.bytes).toBe(Array.from({ length: 50 }, (_, i) => 60 + (((4000 + i) * 53) % 1400)).reduce((a, b) => a + b));
    expect(r.mainThreadTicked).toBe(true);
  });

  it('worker.terminate() ends a worker blocked in readSync() with no timeout (within a wait slice)', () => {
    const r = spawnSync(process.execPath, [FIXTURE, 'terminate', env.t.capNs, env.t.capIf], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(JSON.parse(r.stdout).terminatedInMs).toBeLessThan(1000);
  });
});

describePrivileged('PacketSocket.readSync() when the interface goes away', () => {
  let t: VethPair;
  beforeEach(() => (t = createVethPair()));
  afterEach(() => t?.destroy());

  it('deleted while waiting: RingError ENETDOWN naming the interface, after the frames before it', () => {
    using sock = PacketSocket.open({ interface: t.capIf, netns: t.capNs, version: 'v3' });
    const sender = new Sender(t.genNs, t.genIf);
    try {
      expect(sender.send([buildFrame(t.capMac, t.genMac, { seq: 1, size: 100 }).wire])).toBe(1);
    } finally {
      sender.close();
    }
    expect(sock.readSync({ timeoutMs: 2000 })!.frame(0).copy().data.readUInt32BE(14)).toBe(1);
    const del = spawn('sh', ['-c', `sleep 0.2; ip -n ${t.capNs} link del ${t.capIf}`]);
    try {
      const e = thrown(() => sock.readSync({ timeoutMs: 10_000 }));
      expect(e).toBeInstanceOf(RingError);
      expect(e).toMatchObject({ code: 'ENETDOWN', errno: 100, syscall: 'poll', op: `interface ${t.capIf}` });
    } finally {
      del.kill();
    }
  });
});
