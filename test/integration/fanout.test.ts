// PACKET_FANOUT on the real kernel: members of one group on the capture side share what the
// generator sends (many UDP flows, numbered); their sets are checked against what was sent. Also the
// worker-thread helper, and receive timestamp sources.
import { Frame, FanoutWorkers, MemberBatch, PacketSocket, UnsupportedError } from '../../src';
import { BPF_ABS, BPF_ALU, BPF_AND, BPF_B, BPF_K, BPF_LD, BPF_RET, BPF_A } from '../../src/constants';
import { nowNs } from '../helpers/collect';
import { rxPackets } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { buildUdpFrame, sleep, until, useVethPair } from '../helpers/traffic';
import { readdirSync } from 'node:fs';

const N = 2000;
const FLOWS = 100;

describePrivileged('PACKET_FANOUT on a veth pair', () => {
  const env = useVethPair();
  const udp = (seq: number) => buildUdpFrame(env.t.capMac, env.t.genMac, seq, 10000 + (seq % FLOWS));
  const isUdp = (f: Frame) => f.protocol === 0x0800 && f.data[23] === 17;
  const seqOf = (f: Frame) => f.data.readUInt32BE(42);
  const portOf = (f: Frame) => f.data.readUInt16BE(34);

  async function sendAll(n: number): Promise<void> {
    using tx = PacketSocket.open({ interface: env.t.genIf, netns: env.t.genNs, rx: false, tx: true });
    for (let i = 0; i < n; i++) while (!tx.writer.write(udp(i))) await tx.writer.writable();
    await tx.writer.drained();
  }

  async function members(n: number, fanout: Parameters<typeof PacketSocket.open>[0]['fanout']): Promise<Frame[][]> {
    // The sender shares this event loop, so the members read only when it yields; an 8 ms block
    // timeout lets a ring hold 16 × 8 ms of this trickle (the default 2 ms held 32 ms, and one
    // sanitizer run, where everything is several times slower, lost 9 of 2,000 frames). Stall
    // tolerance itself is tested in rx-ring.test.ts.
    const socks = Array.from({ length: n }, () => PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, fanout, blockTimeoutMs: 8 }));
    const got: Frame[][] = socks.map(() => []);
    const subs = socks.map((s, k) => s.frames().subscribe((f) => isUdp(f) && got[k].push(f)));
    try {
      await sleep(10);
      await sendAll(N);
      for (let t = 0; got.flat().length < N && t < 300; t++) await sleep(10);
      await sleep(50);
    } finally {
      subs.forEach((s) => s.unsubscribe());
      socks.forEach((s) => s.close());
    }
    return got;
  }

  const everyOnce = (sets: Frame[][]) => {
    const seqs = sets.flat().map(seqOf);
    expect(seqs.length).toBe(N);
    expect(new Set(seqs).size).toBe(N);
    expect(Math.min(...seqs)).toBe(0);
    expect(Math.max(...seqs)).toBe(N - 1);
  };

  it('hash: two members get disjoint sets whose union is what was sent, each flow on one member', async () => {
    const got = await members(2, { group: 101, mode: 'hash' });
    everyOnce(got);
    const ports = got.map((set) => new Set(set.map(portOf)));
    expect([...ports[0]].filter((p) => ports[1].has(p))).toEqual([]);
    expect(ports[0].size + ports[1].size).toBe(FLOWS);
    expect(got[0].length).toBeGreaterThan(0);
    expect(got[1].length).toBeGreaterThan(0);
  });

  it('lb: round robin splits evenly', async () => {
    const got = await members(2, { group: 102, mode: 'lb' });
    everyOnce(got);
    expect(got[0].length).toBeGreaterThanOrEqual(0.4 * N);
    expect(got[1].length).toBeGreaterThanOrEqual(0.4 * N);
  });

  it('cbpf: the group program picks the member (the low bit of the UDP source port)', async () => {
    // A fanout program sees the packet from the network header (the skb as it arrived, before
    // packet_rcv() pushes the link header back): ldb [21] (low byte of the source port); and #1; ret a
    const program = [
      [BPF_LD | BPF_B | BPF_ABS, 0, 0, 21],
      [BPF_ALU | BPF_AND | BPF_K, 0, 0, 1],
      [BPF_RET | BPF_A, 0, 0, 0],
    ] as const;
    const got = await members(2, { group: 103, mode: 'cbpf', program });
    everyOnce(got);
    expect(got[0].every((f) => portOf(f) % 2 === 0)).toBe(true);
    expect(got[1].every((f) => portOf(f) % 2 === 1)).toBe(true);
    expect(got[0].length).toBe(N / 2);
  });

  it('uniqueId: the kernel picks an unused group id; a second join of a fixed group with another mode is refused', () => {
    using a = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, fanout: { mode: 'hash', uniqueId: true } });
    using a2 = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, fanout: { mode: 'hash', uniqueId: true } });
    expect(Number.isInteger(a.fanoutGroup)).toBe(true);
    expect(a2.fanoutGroup).not.toBe(a.fanoutGroup);
    using b = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, fanout: { group: 104, mode: 'hash' } });
    expect(b.fanoutGroup).toBe(104);
    expect(() => PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, fanout: { group: 104, mode: 'lb' } })).toThrow(
      expect.objectContaining({ name: 'RingError', code: 'EINVAL', op: 'PACKET_FANOUT' }),
    );
  });

  it('FanoutWorkers: members on worker threads, merged into one stream with per-member stats', async () => {
    const fw = await FanoutWorkers.start({ interface: env.t.capIf, netns: env.t.capNs, members: 2, fanout: { group: 105, mode: 'hash' } });
    try {
      expect(fw.members).toBe(2);
      const got: MemberBatch[] = [];
      const sub = fw.batches().subscribe((b) => got.push(b));
      await sleep(50);
      await sendAll(N);
      const count = () => got.reduce((n, b) => n + b.frames.filter(isUdp).length, 0);
      for (let t = 0; count() < N && t < 300; t++) await sleep(10);
      sub.unsubscribe();
      const byMember = [0, 1].map((m) => got.filter((b) => b.member === m).flatMap((b) => b.frames.filter(isUdp)));
      everyOnce(byMember);
      byMember.forEach((set) => set.forEach((f) => expect(Buffer.compare(f.data, udp(seqOf(f)))).toBe(0)));
      const ports = byMember.map((set) => new Set(set.map(portOf)));
      expect([...ports[0]].filter((p) => ports[1].has(p))).toEqual([]);
      const stats = await fw.stats();
      expect(stats.map((s) => s.member)).toEqual([0, 1]);
      stats.forEach((s, m) => {
        expect(s.frames).toBe(got.filter((b) => b.member === m).reduce((n, b) => n + b.frames.length, 0));
        expect(s.kernel.packets).toBe(s.frames); // everything the kernel gave the member reached the main thread
        expect(s.kernel.drops).toBe(0);
      });
    } finally {
      const last = await fw.close();
      expect(last.map((s) => s.member)).toEqual([0, 1]);
    }
  });

  it('FanoutWorkers: a member that cannot open fails start() with its RingError, and nothing is left running', async () => {
    await expect(FanoutWorkers.start({ interface: 'nosuchif0', netns: env.t.capNs, members: 2, fanout: { group: 106, mode: 'hash' } })).rejects.toMatchObject({
      name: 'RingError',
      code: 'ENODEV',
    });
    await expect(FanoutWorkers.start({ interface: env.t.capIf, members: 0, fanout: { group: 1, mode: 'hash' } })).rejects.toThrow(RangeError);
  });

  it('FanoutWorkers: signal and timeoutMs end start() with every member stopped; stats() takes them too', async () => {
    const threads = () => readdirSync('/proc/self/task').length;
    const before = threads();
    const reason = new Error('stop');
    const ac = new AbortController();
    const o = { interface: env.t.capIf, netns: env.t.capNs, members: 2, fanout: { group: 108, mode: 'hash' as const } };
    const starting = FanoutWorkers.start({ ...o, signal: ac.signal });
    ac.abort(reason);
    await expect(starting).rejects.toBe(reason);
    await expect(FanoutWorkers.start({ ...o, timeoutMs: 1 })).rejects.toMatchObject({
      code: 'ERR_KRING_TIMEOUT',
      message: 'the fanout members did not all join within 1 ms',
    });
    await expect(FanoutWorkers.start({ ...o, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await until(() => threads() === before);
    const fw = await FanoutWorkers.start({ ...o, timeoutMs: 10_000 });
    try {
      await expect(fw.stats({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      expect((await fw.stats({ timeoutMs: 5000 })).map((s) => s.member)).toEqual([0, 1]);
    } finally {
      await fw.close();
    }
  });

  it('FanoutWorkers: members that do not keep up report their drops as losses; packets + nothing else = what arrived', async () => {
    const fw = await FanoutWorkers.start({ interface: env.t.capIf, netns: env.t.capNs, members: 2, fanout: { group: 107, mode: 'lb' }, bufferBytes: 65536 });
    try {
      const losses: { member: number; count: number }[] = [];
      fw.losses().subscribe((l) => losses.push({ member: l.member, count: l.count }));
      const before = rxPackets(env.t.capNs, env.t.capIf);
      await sendAll(N); // nobody reads: the members' 64 KiB rings fill
      await sleep(50);
      const arrived = rxPackets(env.t.capNs, env.t.capIf) - before;
      const stats = await fw.stats();
      await sleep(50); // the members' loss messages follow their stats answers
      const packets = stats.reduce((n, s) => n + s.kernel.packets, 0);
      const drops = stats.reduce((n, s) => n + s.kernel.drops, 0);
      expect(packets).toBe(arrived); // every packet that reached the interface went to a member
      expect(drops).toBeGreaterThan(0);
      expect(losses.reduce((n, l) => n + l.count, 0)).toBe(drops);
      for (const m of [0, 1]) expect(losses.filter((l) => l.member === m).reduce((n, l) => n + l.count, 0)).toBe(stats[m].kernel.drops);
    } finally {
      await fw.close();
    }
  });

  it('fanout flags: rollover and defrag members share a group and its packets', async () => {
    const got = await members(2, { group: 108, mode: 'hash', rollover: true, defrag: true });
    everyOnce(got);
  });

  it("timestampSource 'software': every frame says its stamp is the kernel's software clock", async () => {
    using rx = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, timestampSource: 'software' });
    const got: Frame[] = [];
    const sub = rx.frames().subscribe((f) => isUdp(f) && got.push(f));
    const t0 = nowNs();
    await sleep(10);
    await sendAll(20);
    for (let t = 0; got.length < 20 && t < 100; t++) await sleep(10);
    sub.unsubscribe();
    const t1 = nowNs();
    expect(got.length).toBe(20);
    for (const f of got) {
      expect(f.timestampSource).toBe('software');
      expect(f.timestamp).toBeGreaterThanOrEqual(t0);
      expect(f.timestamp).toBeLessThanOrEqual(t1);
    }
  });

  it("timestampSource 'raw-hardware' on veth (no hardware stamping) is an UnsupportedError naming the interface", () => {
    for (const timestampSource of ['hardware', 'raw-hardware'] as const) {
      let err: unknown = null;
      try {
        PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, timestampSource });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as UnsupportedError).feature).toBe(`hardware receive timestamps on ${env.t.capIf}`);
    }
  });
});
