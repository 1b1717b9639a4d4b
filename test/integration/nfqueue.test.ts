// NfQueue on the real kernel: UDP from a generator namespace to a receiver namespace whose
// iptables (legacy: this kernel has the xtables NFQUEUE target and no nft queue expression) sends
// it to a queue. What arrives is counted by a socket the test runs, the kernel's own counters and
// iptables rule counters.
import { firstValueFrom, take, toArray } from 'rxjs';
import { NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT, NFPROTO_IPV4 } from '../../src/constants';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseError, RingError, UnsupportedError } from '../../src/errors';
import { NfPacket } from '../../src/nfqueue/packet';
import { NfLossEvent, NfQueue } from '../../src/nfqueue/queue';
import { VerdictError } from '../../src/nfqueue/verdict-book';
import { QueueWorkers } from '../../src/nfqueue/workers';
import { simulateKernel } from '../../src/testing';
import { createVethPair, VethPair } from '../helpers/netns';
import { startKring } from '../helpers/kring-process';
import { describePrivileged } from '../helpers/privileged';
import { until } from '../helpers/traffic';
import { scratchDir } from '../helpers/tcpdump';
import { tsharkFrames } from '../helpers/tshark';
import { iptables, queueCounters, rulepackets, sendUdp, udpReceiver, UdpReceiver } from '../helpers/udp';

const GEN = '10.77.0.1';
const CAP = '10.77.0.2';
const PORT = 9999;
const payloads = (n: number, tag: string) => Array.from({ length: n }, (_, i) => Buffer.from(`${tag}-${i}-${'x'.repeat(i)}`));

describePrivileged(
  'NfQueue: verdicts on real packets',
  () => {
    let t: VethPair;
    let rx: UdpReceiver;
    let queueNum = 0;
    // Each test takes a queue of its own, its rule inserted first in mangle INPUT.
    const useQueue = () => {
      queueNum++;
      iptables(t.capNs, ['-t', 'mangle', '-F', 'INPUT']);
      iptables(t.capNs, ['-t', 'mangle', '-A', 'INPUT', '-p', 'udp', '--dport', String(PORT), '-j', 'NFQUEUE', '--queue-num', String(queueNum)]);
      rx.received.length = 0;
      return queueNum;
    };
    beforeAll(async () => {
      t = createVethPair();
      execFileSync('ip', ['-n', t.genNs, 'addr', 'add', `${GEN}/24`, 'dev', t.genIf]);
      // Sources of their own for the balance test's flows.
      for (let h = 0; h < 16; h++) execFileSync('ip', ['-n', t.genNs, 'addr', 'add', `10.77.0.${100 + h}/32`, 'dev', t.genIf]);
      execFileSync('ip', ['-n', t.capNs, 'addr', 'add', `${CAP}/24`, 'dev', t.capIf]);
      rx = await udpReceiver(t.capNs, PORT);
      // Neighbours resolved before the queue exists, so that the first test's packets are not ARP-delayed.
      sendUdp(t.genNs, CAP, PORT, [Buffer.from('warm')]);
      await rx.waitFor(1, 5000);
      expect(rx.received.map(String)).toEqual(['warm']);
    });
    afterAll(() => {
      rx?.stop();
      t?.destroy();
    });

    it('accept: every packet reaches the receiver byte-exact, with the right metadata; the kernel counts them judged', async () => {
      const n = useQueue();
      using q = await NfQueue.open({ queue: n, netns: t.capNs });
      const sent = payloads(20, 'acc');
      const seen: NfPacket[] = [];
      const done = new Promise<void>((resolve) =>
        q.packets().subscribe((p) => {
          seen.push(p);
          q.accept(p);
          if (seen.length === sent.length) resolve();
        }),
      );
      sendUdp(t.genNs, CAP, PORT, sent);
      await done;
      expect((await rx.waitFor(20, 5000)).map(String)).toEqual(sent.map(String));
      // The packets as the kernel queued them: IPv4 from the generator, UDP to the port, the bytes sent.
      expect(seen.map((p) => [p.queue, p.family, p.hook, p.hwProtocol, p.indev, p.outdev, p.truncated, p.origLen])).toEqual(
        sent.map((s) => [n, NFPROTO_IPV4, NF_INET_LOCAL_IN, 0x0800, t.capIfindex, 0, false, 28 + s.length]),
      );
      expect(seen.map((p) => Buffer.from(p.payload.subarray(28)).toString())).toEqual(sent.map(String));
      expect(seen.map((p) => Buffer.from(p.payload.subarray(12, 20)).toString('hex'))).toEqual(sent.map(() => '0a4d00010a4d0002'));
      expect(seen.map((p) => Buffer.from(p.hwAddr!).toString('hex'))).toEqual(sent.map(() => t.genMac.toString('hex')));
      // Ids: the kernel's sequence, one per packet, in order.
      expect(seen.map((p) => p.id - seen[0].id)).toEqual(sent.map((_, i) => i));
      expect(queueCounters(t.capNs, n)).toMatchObject({ total: 0, queueDropped: 0, userDropped: 0, idSequence: seen[seen.length - 1].id });
      expect(q.stats()).toEqual({ delivered: 20, judged: 20, gaps: 0, enobufs: 0, verdictErrors: 0 });
      // Names on demand: what ip says the index is called in that namespace.
      const ipName = (JSON.parse(execFileSync('ip', ['-n', t.capNs, '-j', 'link', 'show', 'dev', t.capIf], { encoding: 'utf8' })) as { ifname: string }[])[0]
        .ifname;
      expect(await Promise.all([q.deviceName(seen[0].indev), q.deviceName(seen[1].indev), q.deviceName(0), q.deviceName(99999)])).toEqual([
        ipName,
        ipName,
        undefined,
        undefined,
      ]);
      const reason = new Error('stop');
      await expect(q.deviceName(seen[0].indev, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      await expect(q.deviceName(seen[0].indev, { timeoutMs: -1 })).rejects.toThrow(RangeError);
    });

    it('batches(): packets read in place are leases: their bytes throw LeaseError after the callback; kept, they are still judged by id', async () => {
      const n = useQueue();
      using q = await NfQueue.open({ queue: n, netns: t.capNs });
      const kept: NfPacket[] = [];
      const inside: string[] = [];
      const sub = q.batches().subscribe((ps) => {
        for (const p of ps) {
          kept.push(p);
          inside.push(Buffer.from(p.payload.subarray(28)).toString());
        }
      });
      sendUdp(t.genNs, CAP, PORT, [Buffer.from('lease')]);
      await until(() => kept.length === 1);
      expect(inside).toEqual(['lease']);
      expect(() => kept[0].payload).toThrow(LeaseError);
      expect(() => kept[0].hwAddr).toThrow(LeaseError);
      q.accept(kept[0]);
      expect((await rx.waitFor(1, 5000)).map(String)).toEqual(['lease']);
      sub.unsubscribe();
    });

    it('a consumer whose callback throws: batches() and packets() error with its exception, the process lives, a new consumer judges', async () => {
      const n = useQueue();
      using q = await NfQueue.open({ queue: n, netns: t.capNs });
      const boom = new Error('judge failed');
      const failed = new Promise<unknown>((resolve) =>
        q.batches().subscribe({
          next: () => {
            throw boom;
          },
          error: resolve,
        }),
      );
      sendUdp(t.genNs, CAP, PORT, payloads(1, 'throw'));
      expect(await failed).toBe(boom);
      const failed2 = new Promise<unknown>((resolve) =>
        q.packets().subscribe({
          next: () => {
            throw boom;
          },
          error: resolve,
        }),
      );
      sendUdp(t.genNs, CAP, PORT, payloads(1, 'again'));
      expect(await failed2).toBe(boom);
      // The queue is still bound: a consumer that behaves judges what comes next. The two packets
      // the failed consumers were given stay undecided (the kernel holds them) until decided by id
      // or the queue closes.
      const sub = q.packets().subscribe((p) => q.accept(p));
      sendUdp(t.genNs, CAP, PORT, payloads(1, 'after'));
      expect((await rx.waitFor(1, 5000)).map(String)).toEqual(['after-0-']);
      expect(q.stats()).toMatchObject({ delivered: 3, judged: 1 });
      expect(queueCounters(t.capNs, n)).toMatchObject({ total: 2, idSequence: 3 });
      sub.unsubscribe();
    });

    it('drop: no packet reaches the receiver; the kernel counts none waiting; the trace holds the conversation', async () => {
      const n = useQueue();
      const trace = join(scratchDir(), 'nfq.pcapng');
      using q = await NfQueue.open({ queue: n, netns: t.capNs, trace });
      const sub = q.batches().subscribe((ps) => ps.forEach((p) => q.drop(p)));
      sendUdp(t.genNs, CAP, PORT, payloads(10, 'drop'));
      await until(() => q.stats().judged === 10);
      expect(await rx.waitFor(1, 300)).toEqual([]);
      expect(queueCounters(t.capNs, n)).toMatchObject({ total: 0, queueDropped: 0 });
      q.close();
      // tshark reads it as netlink: config requests and verdicts out, ACKs and the 10 packets in.
      const rows = execFileSync('tshark', ['-r', trace, '-T', 'fields', '-e', 'frame.packet_flags_direction', '-e', 'frame.protocols'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      expect(rows.every(([, p]) => /^netlink(:|$)/.test(p))).toBe(true);
      // Every message of every datagram read: the 10 NFQNL_MSG_PACKET the test sent.
      let packetsIn = 0;
      for (const f of tsharkFrames(trace).filter((x) => x.direction === '0x00000001')) {
        const d = Buffer.from(f.hex, 'hex');
        for (let at = 16; at + 16 <= d.length; at += (d.readUInt32LE(at) + 3) & ~3) if (d.readUInt16LE(at + 4) === 3 << 8) packetsIn++;
      }
      expect(packetsIn).toBe(10);
      expect(rows.some(([d]) => d === '0x00000002')).toBe(true);
      sub.unsubscribe();
    });

    it('mark: a mark rule after the queue counts exactly the marked packets; a replacement payload arrives as written', async () => {
      const n = useQueue();
      iptables(t.capNs, ['-t', 'filter', '-F', 'INPUT']);
      iptables(t.capNs, ['-t', 'filter', '-A', 'INPUT', '-p', 'udp', '-m', 'mark', '--mark', '0x2a']);
      using q = await NfQueue.open({ queue: n, netns: t.capNs });
      const sent = payloads(12, 'mark');
      let k = 0;
      const sub = q.packets().subscribe((p) => {
        const i = k++;
        if (i % 3 === 0) q.accept(p, { mark: 0x2a });
        else if (i % 3 === 1) {
          // Same length, UDP checksum 0 (none): the IPv4 header and its checksum stay valid.
          const bytes = Buffer.from(p.payload);
          bytes.writeUInt16BE(0, 26);
          bytes.fill('R'.charCodeAt(0), 28);
          q.accept(p, { payload: bytes });
        } else q.accept(p);
      });
      sendUdp(t.genNs, CAP, PORT, sent);
      const got = await rx.waitFor(12, 5000);
      // In order: a flush sends its verdicts in delivery order.
      expect(got.map(String)).toEqual(sent.map((s, i) => (i % 3 === 1 ? 'R'.repeat(s.length) : String(s))));
      expect(rulepackets(t.capNs, 'filter', 'INPUT', 1)).toBe(4);
      sub.unsubscribe();
      iptables(t.capNs, ['-t', 'filter', '-F', 'INPUT']);
    });

    it('out-of-order decisions: a batch verdict never covers an undecided packet', async () => {
      const n = useQueue();
      using q = await NfQueue.open({ queue: n, netns: t.capNs });
      const sent = payloads(10, 'ooo');
      const held: NfPacket[] = [];
      const sub = q.packets().subscribe((p) => held.push(p));
      sendUdp(t.genNs, CAP, PORT, sent);
      await until(() => held.length === 10);
      // Later packets first: 9..5 accepted (packets 0..4 still undecided), flushed.
      for (const p of held.slice(5)) q.accept(p);
      q.flush();
      expect((await rx.waitFor(5, 5000)).map(String)).toEqual(sent.slice(5).map(String));
      expect(queueCounters(t.capNs, n)).toMatchObject({ total: 5 });
      // Then 1 and 3 accepted, 0, 2, 4 dropped: mixed verdicts over the prefix.
      q.drop(held[0]);
      q.accept(held[1]);
      q.drop(held[2]);
      q.accept(held[3]);
      q.drop(held[4]);
      q.flush();
      expect((await rx.waitFor(7, 5000)).map(String)).toEqual([...sent.slice(5), sent[1], sent[3]].map(String));
      expect(await rx.waitFor(8, 300)).toHaveLength(7);
      expect(queueCounters(t.capNs, n)).toMatchObject({ total: 0 });
      expect(() => q.accept(held[0])).toThrow(VerdictError);
      expect(() => q.accept({ ...held[0], id: held[9].id + 100 })).toThrow(VerdictError);
      sub.unsubscribe();
    });

    it('failOpen: with the consumer stalled and the queue full, later packets pass; without it the kernel drops them, and losses() reports its count', async () => {
      for (const failOpen of [true, false]) {
        const n = useQueue();
        const q = await NfQueue.open({ queue: n, netns: t.capNs, maxLen: 4, flags: { failOpen }, countersIntervalMs: 20 });
        const losses: NfLossEvent[] = [];
        q.losses().subscribe((l) => losses.push(l));
        const sub = q.packets().subscribe(() => undefined); // never decides
        const sent = payloads(10, `fo${failOpen}`);
        sendUdp(t.genNs, CAP, PORT, sent);
        await until(() => q.stats().delivered === 4);
        const got = await rx.waitFor(6, failOpen ? 5000 : 300);
        expect(got.map(String)).toEqual(failOpen ? sent.slice(4).map(String) : []);
        const outside = queueCounters(t.capNs, n)!;
        expect(outside).toMatchObject({ total: 4, queueDropped: failOpen ? 0 : 6 });
        // kring's reading of the kernel's counters is the same file's, read in the queue's namespace.
        expect(q.kernelCounters()).toEqual(
          new Map([[n, { waiting: 4, queueDropped: outside.queueDropped, userDropped: outside.userDropped, idSequence: outside.idSequence }]]),
        );
        await until(() => failOpen || losses.length > 0);
        await new Promise((r) => setTimeout(r, 60));
        expect(losses).toEqual(failOpen ? [] : [{ kind: 'queue-full', queue: n, count: 6 }]);
        sub.unsubscribe();
        q.close();
      }
    });

    it("ENOBUFS: a burst past the socket's buffer is counted as the kernel counts it (gaps = user_dropped) and never ends the consumer", async () => {
      const n = useQueue();
      // A small buffer (the kernel doubles it), and a burst sent while this thread is blocked
      // (sendUdp waits for its sender): most of it cannot be delivered.
      const q = await NfQueue.open({ queue: n, netns: t.capNs, rcvbuf: 8192, countersIntervalMs: 20 });
      const losses: NfLossEvent[] = [];
      q.losses().subscribe((l) => losses.push(l));
      const judged: string[] = [];
      let failure: unknown = null;
      const sub = q.packets().subscribe({
        next: (p) => {
          judged.push(Buffer.from(p.payload.subarray(28)).toString()); // past the IPv4 and UDP headers
          q.accept(p);
        },
        error: (e) => (failure = e),
      });
      const burst = payloads(300, 'nobufs');
      sendUdp(t.genNs, CAP, PORT, burst);
      const dropped = queueCounters(t.capNs, n)!.userDropped;
      expect(dropped).toBeGreaterThan(0);
      await until(() => judged.length === 300 - dropped);
      // One more, after the drain: its id shows the gap before it, up to the burst's last packet.
      sendUdp(t.genNs, CAP, PORT, [Buffer.from('after')]);
      await until(() => judged.length === 301 - dropped);
      const outside = queueCounters(t.capNs, n)!;
      expect(outside).toMatchObject({ queueDropped: 0, userDropped: dropped, idSequence: 301 });
      const gaps = losses.filter((l) => l.kind === 'gap');
      expect(gaps.reduce((m, l) => m + (l.kind === 'gap' ? l.missing : 0), 0)).toBe(dropped);
      expect(losses.filter((l) => l.kind === 'enobufs').length).toBeGreaterThan(0);
      await until(() => losses.some((l) => l.kind === 'undeliverable'));
      expect(losses.filter((l) => l.kind === 'undeliverable')).toEqual([{ kind: 'undeliverable', queue: n, count: dropped }]);
      expect(q.stats()).toMatchObject({ delivered: 301 - dropped, judged: 301 - dropped, gaps: dropped });
      // What was judged (accepted) is what arrived, and what arrived was sent.
      const got = await rx.waitFor(301 - dropped, 5000);
      expect(got.map(String).sort()).toEqual([...judged].sort());
      expect(judged.every((j) => j === 'after' || burst.some((b) => b.toString() === j))).toBe(true);
      expect(judged[judged.length - 1]).toBe('after');
      expect(failure).toBeNull();
      sub.unsubscribe();
      q.close();
    });

    it('flags uidGid and gso: a packet a local socket sends (mangle OUTPUT) carries its owner, root', async () => {
      queueNum++;
      const n = queueNum;
      iptables(t.capNs, ['-t', 'mangle', '-F', 'INPUT']); // queued on the way out only
      iptables(t.genNs, ['-t', 'mangle', '-F', 'OUTPUT']);
      iptables(t.genNs, ['-t', 'mangle', '-A', 'OUTPUT', '-p', 'udp', '--dport', String(PORT), '-j', 'NFQUEUE', '--queue-num', String(n)]);
      rx.received.length = 0;
      try {
        using q = await NfQueue.open({ queue: n, netns: t.genNs, flags: { uidGid: true, gso: true } });
        const first = firstValueFrom(q.packets());
        sendUdp(t.genNs, CAP, PORT, [Buffer.from('owned')]);
        const p = await first;
        q.accept(p);
        expect([p.hook, p.outdev, p.uid, p.gid, Buffer.from(p.payload.subarray(28)).toString()]).toEqual([NF_INET_LOCAL_OUT, t.genIfindex, 0, 0, 'owned']);
        expect((await rx.waitFor(1, 5000)).map(String)).toEqual(['owned']);
      } finally {
        iptables(t.genNs, ['-t', 'mangle', '-F', 'OUTPUT']);
      }
    });

    it('flags: one this kernel lacks is named (conntrack needs the netlink glue this kernel is built without)', async () => {
      const n = useQueue();
      const e = await NfQueue.open({ queue: n, netns: t.capNs, flags: { conntrack: true } }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as UnsupportedError).feature).toBe('NFQUEUE flag conntrack (NFQA_CFG_F_CONNTRACK)');
    });

    it('a queue bound by another socket: RingError EPERM naming the queue', async () => {
      const n = useQueue();
      using q = await NfQueue.open({ queue: n, netns: t.capNs });
      const e = await NfQueue.open({ queue: n, netns: t.capNs }).catch((x: unknown) => x);
      expect(e).toMatchObject({ name: 'RingError', errno: 1, syscall: 'sendmsg', op: `NFQNL_CFG_CMD_BIND queue ${n}` });
      expect((e as Error).message).toBe(`sendmsg(NFQNL_CFG_CMD_BIND queue ${n}): EPERM, another socket has bound this queue`);
      expect(q.closed).toBe(false);
    });

    it('kring nfqueue --json -c 3 --mark: a JSON line per packet, each accepted with the mark; exits by itself', async () => {
      const n = useQueue();
      iptables(t.capNs, ['-t', 'filter', '-F', 'INPUT']);
      iptables(t.capNs, ['-t', 'filter', '-A', 'INPUT', '-p', 'udp', '-m', 'mark', '--mark', '0x2a']);
      const k = startKring(['nfqueue', '--queue', String(n), '--netns', t.capNs, '--json', '-c', '3', '--mark', '0x2a']);
      try {
        await k.until(() => k.err().includes('judging queue'));
        const sent = payloads(3, 'cli');
        sendUdp(t.genNs, CAP, PORT, sent);
        await k.until(() => k.out().split('\n').length > 3);
        expect(await k.interrupt()).toBe(0);
        const lines = k
          .out()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines.map((l) => [l.queue, l.hook, l.hwProtocol, l.indev, l.len, l.caplen, (l.hex as string).slice(24, 40)])).toEqual(
          sent.map((s) => [n, NF_INET_LOCAL_IN, 0x0800, t.capIfindex, 28 + s.length, 28 + s.length, '0a4d00010a4d0002']),
        );
        expect((await rx.waitFor(3, 5000)).map(String)).toEqual(sent.map(String));
        expect(rulepackets(t.capNs, 'filter', 'INPUT', 1)).toBe(3);
      } finally {
        k.kill();
        iptables(t.capNs, ['-t', 'filter', '-F', 'INPUT']);
      }
    });

    it('kring nfqueue --quiet: nothing per packet, then enobufs=0 and verdicts=N on the signal', async () => {
      const n = useQueue();
      const k = startKring(['nfqueue', '--queue', String(n), '--netns', t.capNs, '--quiet']);
      try {
        await k.until(() => queueCounters(t.capNs, n) !== undefined);
        sendUdp(t.genNs, CAP, PORT, payloads(25, 'quiet'));
        await rx.waitFor(25, 5000);
        expect(await k.interrupt()).toBe(0);
        expect(k.out()).toBe('enobufs=0\nverdicts=25\n');
      } finally {
        k.kill();
      }
    });

    it("the kernel's ring (a simulated 4.4 kernel): the same consumer, packets in ring frames and, larger than a frame, in COPY frames", async () => {
      const n = useQueue();
      const sim = simulateKernel('4.4');
      let q: NfQueue | undefined;
      try {
        q = await NfQueue.open({ queue: n, netns: t.capNs, rx: { blockSize: 4096, blockCount: 16, frameSize: 4096, frameCount: 16 } });
        expect(q.ringMode).toBe('kernel');
        const kernel = sim.kernels[sim.kernels.length - 1];
        const paths: string[] = [];
        const sendInRing = kernel.sendInRing.bind(kernel);
        kernel.sendInRing = (msg, meta) => {
          const where = sendInRing(msg, meta);
          if (msg.length > 200) paths.push(`${msg.length}:${where}`);
          return where;
        };
        const qq = q;
        const seen: NfPacket[] = [];
        const sub = q.packets().subscribe((p) => {
          seen.push(p);
          qq.accept(p);
        });
        // 6000 bytes: one IPv4 packet of 6028 after reassembly (before LOCAL_IN), larger than a 4 KiB frame.
        const sent = [Buffer.alloc(300, 'a'), Buffer.alloc(6000, 'b'), Buffer.alloc(1000, 'c')];
        sendUdp(t.genNs, CAP, PORT, sent);
        expect((await rx.waitFor(3, 5000)).map((b) => b.toString('hex'))).toEqual(sent.map((b) => b.toString('hex')));
        expect(seen.map((p) => [p.origLen, Buffer.from(p.payload.subarray(28)).equals(sent[seen.indexOf(p)])])).toEqual(sent.map((s) => [28 + s.length, true]));
        // Where the simulated kernel put each packet message (the 300- and 1000-byte ones fit a frame).
        expect(paths.map((x) => x.split(':')[1])).toEqual(['ring', 'copy', 'ring']);
        sub.unsubscribe();
      } finally {
        q?.close();
        sim.restore();
      }
    });

    it('a malformed packet message (injected by the simulated kernel) errors the stream with RingError EPROTO, also when it came before anyone subscribed', async () => {
      const n = useQueue();
      const sim = simulateKernel('4.4');
      let q: NfQueue | undefined;
      try {
        q = await NfQueue.open({ queue: n, netns: t.capNs });
        const kernel = sim.kernels[sim.kernels.length - 1];
        // nlmsghdr (type NFQNL_MSG_PACKET) + nfgenmsg + an attribute whose nla_len runs past the message.
        const bad = Buffer.from('1c000000000300000000000000000000' + '02000000' + 'ff000100' + '00000000', 'hex');
        kernel.sendInRing(bad);
        sendUdp(t.genNs, CAP, PORT, [Buffer.from('wake')]); // the real fd's wake-up reads the ring
        await new Promise((r) => setTimeout(r, 300)); // the wake-up reads the ring, nobody subscribed yet
        const e = await new Promise<unknown>((resolve) => q!.packets().subscribe({ error: resolve, next: () => undefined }));
        expect(e).toBeInstanceOf(RingError);
        expect(e).toMatchObject({ code: 'EPROTO', syscall: 'recvmsg', op: 'NFQNL_MSG_PACKET' });
      } finally {
        q?.close();
        sim.restore();
      }
    });

    it('queue: { from, to } with iptables --queue-balance: one socket judges both queues; every packet sent is judged once', async () => {
      queueNum += 2;
      const [a, b] = [queueNum - 1, queueNum];
      iptables(t.capNs, ['-t', 'mangle', '-F', 'INPUT']);
      iptables(t.capNs, ['-t', 'mangle', '-A', 'INPUT', '-p', 'udp', '--dport', String(PORT), '-j', 'NFQUEUE', '--queue-balance', `${a}:${b}`]);
      rx.received.length = 0;
      using q = await NfQueue.open({ queue: { from: a, to: b }, netns: t.capNs });
      expect(q.queues).toEqual([a, b]);
      const seen: NfPacket[] = [];
      const sub = q.packets().subscribe((p) => {
        seen.push(p);
        q.accept(p);
      });
      // Flows from 16 source addresses: the balance hashes addresses (not ports) over the queues.
      const sent: Buffer[] = [];
      for (let h = 0; h < 16; h++) {
        const flow = payloads(2, `bal${h}`);
        sendUdp(t.genNs, CAP, PORT, flow, `10.77.0.${100 + h}`);
        sent.push(...flow);
      }
      expect((await rx.waitFor(32, 5000)).map(String).sort()).toEqual(sent.map(String).sort());
      expect(seen.map((p) => Buffer.from(p.payload.subarray(28)).toString()).sort()).toEqual(sent.map(String).sort());
      const perQueue = [a, b].map((n) => seen.filter((p) => p.queue === n).length);
      expect(perQueue.every((c) => c > 0)).toBe(true);
      expect([a, b].map((n) => queueCounters(t.capNs, n)!.idSequence)).toEqual(perQueue);
      sub.unsubscribe();
    });

    it('close() inside the batch callback: the verdicts decided before it go out, the stream completes, later packets are dropped by the kernel', async () => {
      const n = useQueue();
      const q = await NfQueue.open({ queue: n, netns: t.capNs });
      let completed = false;
      q.batches().subscribe({
        next: (ps) => {
          q.accept(ps[0]);
          q.close();
        },
        complete: () => (completed = true),
      });
      sendUdp(t.genNs, CAP, PORT, [Buffer.from('first')]);
      expect((await rx.waitFor(1, 5000)).map(String)).toEqual(['first']);
      expect([completed, q.closed]).toEqual([true, true]);
      expect(() => q.accept({} as NfPacket)).toThrow(TypeError);
      // Unbound: the rule's packets now have no listener, and NFQUEUE without --queue-bypass drops them.
      sendUdp(t.genNs, CAP, PORT, [Buffer.from('second')]);
      expect(await rx.waitFor(2, 300)).toHaveLength(1);
      expect(queueCounters(t.capNs, n)).toBeUndefined();
    });

    it('QueueWorkers: --queue-balance over 2 queues in 2 worker threads; the union of their verdicts is the packets sent, counted per queue', async () => {
      queueNum += 2;
      const [a, b] = [queueNum - 1, queueNum];
      iptables(t.capNs, ['-t', 'mangle', '-F', 'INPUT']);
      iptables(t.capNs, ['-t', 'mangle', '-A', 'INPUT', '-p', 'udp', '--dport', String(PORT), '-j', 'NFQUEUE', '--queue-balance', `${a}:${b}`]);
      rx.received.length = 0;
      const w = await QueueWorkers.start({ queues: { from: a, to: b }, netns: t.capNs, module: join(__dirname, '..', 'fixtures', 'nfq-judge.js') });
      try {
        const reports: { queue: number; value: unknown }[] = [];
        w.reports().subscribe((r) => reports.push(r));
        const sent: Buffer[] = [];
        for (let h = 0; h < 16; h++) {
          const flow = payloads(2, `wk${h}`);
          sendUdp(t.genNs, CAP, PORT, flow, `10.77.0.${100 + h}`);
          sent.push(...flow);
        }
        expect((await rx.waitFor(32, 5000)).map(String).sort()).toEqual(sent.map(String).sort());
        await until(() => reports.length === 32);
        expect(reports.map((r) => r.value).sort()).toEqual(sent.map(String).sort());
        const perQueue = [a, b].map((n) => reports.filter((r) => r.queue === n).length);
        expect(perQueue.every((c) => c > 0)).toBe(true);
        expect([a, b].map((n) => queueCounters(t.capNs, n)!.idSequence)).toEqual(perQueue);
        const stats = await w.stats();
        expect([a, b].map((n) => [stats.get(n)!.delivered, stats.get(n)!.judged])).toEqual(perQueue.map((c) => [c, c]));
      } finally {
        await w.close();
      }
      expect([queueCounters(t.capNs, a), queueCounters(t.capNs, b)]).toEqual([undefined, undefined]);
    });

    it('QueueWorkers: a worker that cannot bind fails start() with its RingError (the class, its fields)', async () => {
      const n = useQueue();
      using q = await NfQueue.open({ queue: n, netns: t.capNs });
      const e = await QueueWorkers.start({ queues: { from: n, to: n }, netns: t.capNs, module: join(__dirname, '..', 'fixtures', 'nfq-judge.js') }).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(RingError);
      expect(e).toMatchObject({ code: 'EPERM', op: `NFQNL_CFG_CMD_BIND queue ${n}` });
      expect(q.closed).toBe(false);
    });

    it('QueueWorkers: a worker that exits errors reports() naming its queue; stats() and close() still settle', async () => {
      const n = useQueue();
      const w = await QueueWorkers.start({ queues: { from: n, to: n }, netns: t.capNs, module: join(__dirname, '..', 'fixtures', 'nfq-judge-exit.js') });
      const seen: unknown[] = [];
      const failed = new Promise<unknown>((resolve) => w.reports().subscribe({ next: (r) => seen.push(r.value), error: resolve }));
      sendUdp(t.genNs, CAP, PORT, [Buffer.from('before')]);
      await until(() => seen.length === 1);
      sendUdp(t.genNs, CAP, PORT, [Buffer.from('exit')]);
      expect(((await failed) as Error).message).toBe(`the worker of queue ${n} exited`);
      expect(seen).toEqual(['before']);
      expect(await w.stats()).toEqual(new Map());
      expect(await w.close()).toEqual(new Map());
      // Its socket went with the thread: the queue is unbound.
      expect(queueCounters(t.capNs, n)).toBeUndefined();
    });

    it('QueueWorkers: signal and timeoutMs end start() (no worker left, nothing bound) and stats() (a judge that blocks its thread)', async () => {
      const n = useQueue();
      const module = join(__dirname, '..', 'fixtures', 'nfq-judge-stuck.js');
      const threads = () => readdirSync('/proc/self/task').length;
      const before = threads();
      const reason = new Error('stop');
      const ac = new AbortController();
      const starting = QueueWorkers.start({ queues: { from: n, to: n }, netns: t.capNs, module, signal: ac.signal });
      ac.abort(reason);
      await expect(starting).rejects.toBe(reason);
      expect(queueCounters(t.capNs, n)).toBeUndefined();
      await until(() => threads() === before);
      await expect(QueueWorkers.start({ queues: { from: n, to: n }, netns: t.capNs, module, timeoutMs: 1 })).rejects.toMatchObject({
        code: 'ERR_KRING_TIMEOUT',
        message: 'the queue workers did not all bind their queues within 1 ms',
      });
      expect(queueCounters(t.capNs, n)).toBeUndefined();
      const w = await QueueWorkers.start({ queues: { from: n, to: n }, netns: t.capNs, module, timeoutMs: 10_000 });
      try {
        const seen: unknown[] = [];
        w.reports().subscribe((r) => seen.push(r.value));
        sendUdp(t.genNs, CAP, PORT, [Buffer.from('stuck')]);
        await until(() => queueCounters(t.capNs, n)!.idSequence === 1);
        await expect(w.stats({ timeoutMs: 100 })).rejects.toMatchObject({
          code: 'ERR_KRING_TIMEOUT',
          message: 'the queue workers did not answer within 100 ms',
        });
        await expect(w.stats({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        await until(() => seen.length === 1);
        expect((await w.stats({ timeoutMs: 5000 })).get(n)).toMatchObject({ delivered: 1, judged: 1 });
      } finally {
        await w.close();
      }
    });

    it('open(): an aborted signal rejects with its reason before anything is opened; a signal aborted during open leaves nothing bound', async () => {
      const n = useQueue();
      const reason = new Error('stop');
      await expect(NfQueue.open({ queue: n, netns: t.capNs, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      await expect(NfQueue.open({ queue: n, netns: t.capNs, signal: 'x' as unknown as AbortSignal })).rejects.toThrow(TypeError);
      const ac = new AbortController();
      const opening = NfQueue.open({ queue: n, netns: t.capNs, signal: ac.signal });
      ac.abort(reason);
      await expect(opening).rejects.toBe(reason);
      expect(queueCounters(t.capNs, n)).toBeUndefined();
    });

    it('copy range: packets cut to the range, with their whole length and the truncated flag', async () => {
      const n = useQueue();
      using q = await NfQueue.open({ queue: n, netns: t.capNs, copy: { range: 30 } });
      const sent = [Buffer.from('0123456789')];
      const p = firstValueFrom(q.packets().pipe(take(1), toArray()));
      sendUdp(t.genNs, CAP, PORT, sent);
      const [pk] = await p;
      expect([pk.payload.length, pk.origLen, pk.truncated, Buffer.from(pk.payload.subarray(28)).toString()]).toEqual([30, 38, true, '01']);
      q.accept(pk);
      expect((await rx.waitFor(1, 5000)).map(String)).toEqual(['0123456789']);
    });
  },
  ['iptables-legacy', 'python3', 'tshark'],
);
