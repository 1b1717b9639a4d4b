// A capture whose interface goes away (deleted, or moved to another namespace) ends with a
// RingError (ENETDOWN, which the kernel's packet_notifier() sets on the bound socket); an interface
// that only goes down and up again does not end it, nor does the namespace's name being deleted
// (the namespace lives on while sockets hold it). kring capture exits 1 saying so.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { FrameBatch, getLinks, NetlinkSocket, PacketSocket, RingError } from '../../src';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { buildFrame, Sender, sleep } from '../helpers/traffic';

const ip = (ns: string, args: string) => execFileSync('ip', ['-n', ns, ...args.split(' ')], { stdio: 'ignore' });

describePrivileged('capture when the interface goes away', () => {
  let t: VethPair;
  let sender: Sender;
  beforeEach(() => {
    t = createVethPair();
    sender = new Sender(t.genNs, t.genIf);
  });
  afterEach(() => {
    sender?.close();
    t?.destroy();
  });
  const frames = (n: number, from = 0) => Array.from({ length: n }, (_, i) => buildFrame(t.capMac, t.genMac, { seq: from + i, size: 100 }).wire);

  // Captures, runs `act` once 5 frames are in, and resolves with what the stream did within 3 s.
  async function captureThrough(act: () => void, after?: () => void): Promise<{ seqs: number[]; error: unknown; completed: boolean }> {
    const sock = PacketSocket.open({ interface: t.capIf, netns: t.capNs, version: 'v3', bufferBytes: 1 << 16 });
    const seqs: number[] = [];
    let error: unknown = null;
    let completed = false;
    const sub = sock.batches().subscribe({
      next: (b: FrameBatch) => {
        for (let i = 0; i < b.length; i++) seqs.push(Buffer.from(b.frame(i).data).readUInt32BE(14));
      },
      error: (e) => (error = e),
      complete: () => (completed = true),
    });
    try {
      await sleep(20);
      sender.send(frames(5));
      for (let i = 0; i < 200 && seqs.length < 5; i++) await sleep(5);
      act();
      after?.();
      for (let i = 0; i < 300 && !error && !completed; i++) await sleep(10);
      return { seqs, error, completed };
    } finally {
      sub.unsubscribe();
      sock.close();
    }
  }

  it('deleted: the stream errors with RingError ENETDOWN naming the interface, after every frame before it', async () => {
    const r = await captureThrough(() => ip(t.capNs, `link del ${t.capIf}`));
    expect(r.seqs).toEqual([0, 1, 2, 3, 4]);
    expect(r.error).toBeInstanceOf(RingError);
    expect(r.error).toMatchObject({ code: 'ENETDOWN', errno: 100, syscall: 'poll', op: `interface ${t.capIf}` });
    expect((r.error as Error).message).toBe(
      `poll(interface ${t.capIf}): ENETDOWN, the interface (ifindex ${t.capIfindex}) was deleted or moved to another network namespace`,
    );
  });

  it('moved to another namespace: the same error', async () => {
    const r = await captureThrough(() => ip(t.capNs, `link set ${t.capIf} netns ${t.genNs}`));
    expect(r.error).toMatchObject({ name: 'RingError', code: 'ENETDOWN', op: `interface ${t.capIf}` });
  });

  it('down and up again: no error, and frames sent after it come up arrive', async () => {
    const r = await captureThrough(
      () => {
        ip(t.capNs, `link set ${t.capIf} down`);
        ip(t.capNs, `link set ${t.capIf} up`);
      },
      () => {
        execFileSync('sleep', ['0.1']);
        sender.send(frames(3, 100));
      },
    );
    expect(r.error).toBeNull();
    expect(r.completed).toBe(false);
    expect(r.seqs).toEqual([0, 1, 2, 3, 4, 100, 101, 102]);
  });

  it("the namespace's name deleted under open sockets: they carry on (the namespace lives while they hold it); a new open by that name is ENOENT naming it", async () => {
    const nl = NetlinkSocket.open({ protocol: 'route', netns: t.capNs });
    let error: unknown = null;
    const r = await captureThrough(
      () => execFileSync('ip', ['netns', 'del', t.capNs]),
      () => {
        execFileSync('sleep', ['0.1']);
        sender.send(frames(3, 100));
      },
    ).catch((e: unknown) => ((error = e), null));
    expect(error).toBeNull();
    expect(r!.error).toBeNull();
    expect(r!.seqs).toEqual([0, 1, 2, 3, 4, 100, 101, 102]);
    // The netlink socket still answers, from inside the namespace it was opened in.
    const links = await getLinks({ socket: nl });
    expect(links.map((l) => l.name).sort()).toEqual(['lo', t.capIf].sort());
    nl.close();
    expect(() => PacketSocket.open({ interface: t.capIf, netns: t.capNs })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => PacketSocket.open({ interface: t.capIf, netns: t.capNs })).toThrow(new RegExp(t.capNs));
  });

  it('kring capture exits 1 with the error when its interface is deleted', async () => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'kring.js'), 'capture', '-i', t.capIf, '--netns', t.capNs, '--quiet']);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    for (let i = 0; i < 500 && !out.includes('ready'); i++) await sleep(10);
    ip(t.capNs, `link del ${t.capIf}`);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    expect(await exited).toBe(1);
    clearTimeout(timer);
    expect(err).toBe(
      `kring: poll(interface ${t.capIf}): ENETDOWN, the interface (ifindex ${t.capIfindex}) was deleted or moved to another network namespace\n`,
    );
    expect(out).toBe('ready\ncaptured=0 kpkts=0 kdrops=0 sum=0\n');
  });
});
