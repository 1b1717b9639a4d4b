// AF_PACKET TX rings on the real kernel: kring sends from the generator namespace through its TX
// ring; what arrives in the capture namespace is seen by tcpdump (written to a pcap file) and by a
// kring RX ring, and compared with the bytes the test built. Back-pressure, refused frames, the
// ring's options and the socket's lifetime are checked against the kernel's own counters.
import { execFileSync } from 'node:child_process';
import { from, Observable, of } from 'rxjs';
import {
  Frame,
  PacketSocket,
  PacketSocketClosedError,
  RingError,
  UnsupportedError,
  TpacketVersionName,
  TxProgress,
  WrongFormatError,
  WrongFormatReport,
} from '../../src';
import { parseCaptureFile } from '../../src/pcap/read';
import { simulateKernel } from '../../src/testing';
import { collect } from '../helpers/collect';
import { createNamespace, createVethPair, rxPackets } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { cpuMs, startTcpdump } from '../helpers/tcpdump';
import { buildFrame, sleep, TEST_ETHERTYPE, useVethPair } from '../helpers/traffic';

const N = 300;
const sizeOf = (seq: number) => (seq === 0 ? 60 : seq === N - 1 ? 1514 : 60 + ((seq * 97) % 1455));
const FILTER = ['ether', 'proto', String(TEST_ETHERTYPE)];
const SMALL_RING = { blockSize: 4096, blockCount: 2, frameSize: 2048, frameCount: 4 };

/** A 1 kbit/s token bucket on the interface: past its burst, it holds each 100-byte frame for 0.8 s. */
function slowQdisc(ns: string, dev: string): () => void {
  execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', '1kbit', 'burst', '1600', 'limit', '100000']);
  return () => execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root'], { stdio: 'ignore' });
}

/** Writes and kicks until the ring is full with frames the qdisc holds (its burst spent). */
async function stall(tx: PacketSocket, frame: Buffer): Promise<void> {
  for (let i = 0; i < 100; i++) {
    while (tx.writer.write(frame));
    tx.writer.send();
    await sleep(30);
    if (!tx.writer.write(frame)) return;
  }
  throw new Error('the ring never filled');
}

describePrivileged(
  'AF_PACKET TX ring on a veth pair',
  () => {
    const env = useVethPair();
    const frames = (n: number, size: (seq: number) => number = sizeOf) =>
      Array.from({ length: n }, (_, seq) => buildFrame(env.t.capMac, env.t.genMac, { seq, size: size(seq) }).wire);
    const txSocket = (o: Omit<Parameters<typeof PacketSocket.open>[0], 'interface'> = {}) =>
      PacketSocket.open({ interface: env.t.genIf, netns: env.t.genNs, rx: false, tx: true, ...o });
    const rxSocket = () => PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version: 'v2', bufferBytes: 8 << 20 });
    const ours = (f: Frame) => f.protocol === TEST_ETHERTYPE;
    const sameBytes = (got: Uint8Array[], want: Buffer[]) => {
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(Buffer.compare(Buffer.from(g), want[i])).toBe(0));
    };

    describe.each(['v1', 'v2', 'v3'] as TpacketVersionName[])('TPACKET_%s', (version) => {
      it('N frames of mixed sizes arrive exactly once, byte-exact and in order (tcpdump and a kring RX ring)', async () => {
        const list = frames(N);
        const dump = await startTcpdump(env.t.capNs, env.t.capIf, { count: N, filter: FILTER });
        using rx = rxSocket();
        using tx = txSocket({ version });
        expect(tx.ring).toBeNull();
        expect(tx.txRing!.version).toBe(version);
        const got = await collect(rx.frames(), N, () => {
          for (const f of list) expect(tx.writer.write(f)).toBe(true);
        });
        sameBytes(
          got.filter(ours).map((f) => f.data),
          list,
        );
        const late = setTimeout(() => dump.stop(), 5000); // tcpdump -c N ends by itself once all arrived
        const file = parseCaptureFile(await dump.done);
        clearTimeout(late);
        sameBytes(
          file.map((r) => r.data),
          list,
        );
        await tx.writer.drained({ timeoutMs: 2000 });
        expect(tx.writer.stats()).toEqual({ written: N, sent: N, wrongFormat: 0, kicks: Math.ceil(N / 64) });
      });
    });

    it("the interface down and up during TX: sends are ENETDOWN while down, not the writer's end; what waited goes out once it is up", async () => {
      using tx = txSocket();
      const list = frames(5);
      const ip = (state: string) => execFileSync('ip', ['-n', env.t.genNs, 'link', 'set', env.t.genIf, state]);
      const before = rxPackets(env.t.capNs, env.t.capIf);
      tx.writer.write(list[0]);
      await tx.writer.drained({ timeoutMs: 2000 });
      ip('down');
      try {
        tx.writer.write(list[1]);
        tx.writer.write(list[2]);
        const waiting = tx.writer.drained({ timeoutMs: 2000 }).catch((e: unknown) => e);
        expect(() => tx.writer.send()).toThrow(expect.objectContaining({ name: 'RingError', code: 'ENETDOWN', syscall: 'sendto' }));
        expect(await waiting).toMatchObject({ code: 'ENETDOWN' });
      } finally {
        ip('up');
      }
      await sleep(50); // the veth's carrier comes back
      tx.writer.write(list[3]);
      tx.writer.write(list[4]);
      await tx.writer.drained({ timeoutMs: 2000 });
      expect(tx.writer.stats()).toMatchObject({ written: 5, sent: 5, wrongFormat: 0 });
      expect(rxPackets(env.t.capNs, env.t.capIf) - before).toBe(5); // the kernel's count on the far side
    });

    it('write(length, fill) fills the slot in place; a fill that throws submits nothing', async () => {
      const list = frames(3);
      using rx = rxSocket();
      using tx = txSocket();
      const got = await collect(rx.frames(), 2, () => {
        expect(tx.writer.write(list[0].length, (view) => view.set(list[0]))).toBe(true);
        expect(() =>
          tx.writer.write(list[1].length, () => {
            throw new Error('no');
          }),
        ).toThrow('no');
        expect(tx.writer.write(list[2].length, (view) => view.set(list[2]))).toBe(true);
      });
      sameBytes(
        got.filter(ours).map((f) => f.data),
        [list[0], list[2]],
      );
      expect(tx.writer.stats().written).toBe(2);
    });

    it('back-pressure: sink() of 100× the ring delivers every frame in order; write() returns false on a full ring', async () => {
      const ring = { blockSize: 4096, blockCount: 16, frameSize: 2048, frameCount: 32 };
      using tx = txSocket({ tx: { geometry: ring } });
      expect(tx.writer.frames).toBe(32);
      // A full ring: 32 writes in one go fill it (nothing is kicked before the microtask ends).
      const probe = frames(33, () => 60);
      for (let i = 0; i < 32; i++) expect(tx.writer.write(probe[i])).toBe(true);
      expect(tx.writer.write(probe[32])).toBe(false);
      await tx.writer.drained({ timeoutMs: 2000 });

      const n = 100 * 32;
      const list = frames(n, (seq) => 60 + (seq % 200));
      using rx = rxSocket();
      const before = rxPackets(env.t.capNs, env.t.capIf);
      const progress: TxProgress[] = [];
      const got: Frame[] = [];
      const sub = rx.frames().subscribe((f) => ours(f) && got.push(f));
      await sleep(20);
      await new Promise<void>((resolve, reject) => tx.writer.sink(from(list)).subscribe({ next: (p) => progress.push(p), error: reject, complete: resolve }));
      for (let t = 0; got.length < n && t < 200; t++) await sleep(10);
      sub.unsubscribe();
      expect(rxPackets(env.t.capNs, env.t.capIf) - before).toBe(n); // the kernel's count on the far side
      sameBytes(
        got.map((f) => f.data),
        list,
      );
      expect(progress.at(-1)).toEqual({ written: n, sent: n, queued: 0 });
      expect(progress.length).toBeGreaterThan(n / 32 - 1); // progress once per wake-up that wrote
      for (let i = 1; i < progress.length; i++) expect(progress[i].written).toBeGreaterThanOrEqual(progress[i - 1].written);
    });

    it('writeAll() pulls a generator and an async iterable one frame at a time, through a full ring', async () => {
      using rx = rxSocket();
      using tx = txSocket({ version: 'v2', tx: { geometry: { blockSize: 4096, blockCount: 4, frameSize: 2048, frameCount: 8 } } });
      const list = frames(400, (seq) => 60 + (seq % 300));
      let pulled = 0;
      function* gen() {
        for (const f of list.slice(0, 200)) {
          pulled++;
          yield f;
        }
      }
      async function* agen() {
        for (const f of list.slice(200)) yield f;
      }
      const got = await collect(rx.frames(), 400, () => {
        void (async () => {
          expect(await tx.writer.writeAll(gen())).toBe(200);
          expect(pulled).toBe(200);
          expect(await tx.writer.writeAll(agen())).toBe(200);
        })();
      });
      sameBytes(
        got.filter(ours).map((f) => f.data),
        list,
      );
    });

    it("sink() errors with its source's error, and stops", async () => {
      using tx = txSocket();
      const boom = new Error('source failed');
      const source = new Observable<Uint8Array>((s) => {
        s.next(frames(1)[0]);
        s.error(boom);
      });
      const err = await new Promise((resolve) => tx.writer.sink(source).subscribe({ error: resolve }));
      expect(err).toBe(boom);
      const bad = await new Promise((resolve) => tx.writer.sink(of('not bytes' as unknown as Uint8Array)).subscribe({ error: resolve }));
      expect(bad).toBeInstanceOf(TypeError);
    });

    it('a forced stall (a 1 kbit/s qdisc holds the frames) waits on EPOLLOUT with no CPU spent', async () => {
      const undo = slowQdisc(env.t.genNs, env.t.genIf);
      try {
        using tx = txSocket({ tx: { geometry: SMALL_RING } });
        await stall(tx, frames(1, () => 100)[0]);
        const c0 = cpuMs();
        const t0 = Date.now();
        await tx.writer.writable({ timeoutMs: 5000 });
        const wall = Date.now() - t0;
        const cpu = cpuMs() - c0;
        expect(wall).toBeGreaterThan(400); // 1 kbit/s: one 100-byte frame every 0.8 s
        expect(cpu).toBeLessThanOrEqual(30);
      } finally {
        undo();
      }
    });

    it('PACKET_LOSS on: refused frames are skipped and reported; the rest arrive', async () => {
      using rx = rxSocket();
      using tx = txSocket({ tx: { packetLoss: true } });
      const before = rxPackets(env.t.capNs, env.t.capIf);
      const good = frames(3, () => 200);
      const short = Buffer.alloc(10, 1);
      const long = frames(1, () => 1515)[0]; // MTU 1500 + 14, one byte over, untagged
      const reports: WrongFormatReport[] = [];
      tx.writer.wrongFormat().subscribe((r) => reports.push(r));
      const got = await collect(rx.frames(), 3, () => {
        for (const f of [good[0], short, good[1], long, good[2]]) tx.writer.write(f);
      });
      sameBytes(
        got.filter(ours).map((f) => f.data),
        good,
      );
      expect(reports).toEqual([
        { sequence: 1, frame: 1, length: 10, errno: 22, skipped: true, reason: '10 bytes is shorter than the 14-byte link-layer header' },
        {
          sequence: 3,
          frame: 3,
          length: 1515,
          errno: 90,
          skipped: true,
          reason: '1515 bytes is longer than the device takes (MTU 1500 + 14 bytes of link-layer header)',
        },
      ]);
      expect(tx.writer.stats()).toEqual({ written: 5, sent: 3, wrongFormat: 2, kicks: 1 });
      expect(rxPackets(env.t.capNs, env.t.capIf) - before).toBe(3); // the kernel's count on the far side
    });

    it('PACKET_LOSS off: a refused frame fails the writer with a WrongFormatError naming it', async () => {
      using rx = rxSocket();
      using tx = txSocket();
      const before = rxPackets(env.t.capNs, env.t.capIf);
      const good = frames(2, () => 200);
      const reports: WrongFormatReport[] = [];
      let streamError: unknown = null;
      tx.writer.wrongFormat().subscribe({ next: (r) => reports.push(r), error: (e) => (streamError = e) });
      const got = await collect(rx.frames(), 1, () => {
        for (const f of [good[0], Buffer.alloc(10, 1), good[1]]) tx.writer.write(f);
      });
      sameBytes(
        got.filter(ours).map((f) => f.data),
        [good[0]],
      );
      const err = await tx.writer.flush().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WrongFormatError);
      expect(err).toBeInstanceOf(RingError);
      expect((err as WrongFormatError).code).toBe('EINVAL');
      expect((err as WrongFormatError).report).toEqual({
        sequence: 1,
        frame: 1,
        length: 10,
        errno: 22,
        skipped: false,
        reason: '10 bytes is shorter than the 14-byte link-layer header',
      });
      expect(reports).toEqual([(err as WrongFormatError).report]);
      expect(streamError).toBe(err);
      expect(() => tx.writer.write(good[0])).toThrow(err as Error);
      expect(tx.writer.stats()).toEqual({ written: 3, sent: 1, wrongFormat: 1, kicks: 1 });
      expect(rxPackets(env.t.capNs, env.t.capIf) - before).toBe(1); // only the frame before the refused one left
    });

    it('a frame larger than the slot is a RangeError before anything is written', async () => {
      using rx = rxSocket();
      using tx = txSocket({ version: 'v2', tx: { frameSize: 256 } });
      const cap = tx.writer.capacity;
      expect(cap).toBe(256 - 32); // V2 default: data at TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
      expect(() => tx.writer.write(Buffer.alloc(cap + 1))).toThrow(RangeError);
      expect(() => tx.writer.write(cap + 1, () => {})).toThrow(RangeError);
      const got = await collect(rx.frames(), 1, () => undefined, 300);
      expect(got.filter(ours)).toEqual([]);
      expect(tx.writer.stats().written).toBe(0);
    });

    it('txHasOffset puts the data where the frame says (PACKET_TX_HAS_OFF); qdiscBypass and blocking kicks send too', async () => {
      for (const tx of [{ txHasOffset: 128 }, { qdiscBypass: true }, { blocking: true, batch: 7 }]) {
        using rx = rxSocket();
        using sock = txSocket({ version: 'v2', tx });
        if (tx.qdiscBypass) expect(sock.features.qdiscBypass).toBe('kernel');
        const list = frames(20);
        const got = await collect(rx.frames(), 20, () => list.forEach((f) => sock.writer.write(f)));
        sameBytes(
          got.filter(ours).map((f) => f.data),
          list,
        );
        expect(sock.writer.capacity).toBe(sock.txRing!.geometry.frameSize - (tx.txHasOffset ?? 32));
      }
      expect(() => txSocket({ version: 'v2', tx: { txHasOffset: 16 } })).toThrow(/below the smallest data offset the kernel takes \(32/);
    });

    it.each([
      ['4.5', 'kernel'],
      ['3.10', 'qdisc'],
    ] as const)('qdiscBypass on a simulated %s (PACKET_QDISC_BYPASS is 3.14): %s, and frames go out either way', async (profile, how) => {
      const sim = simulateKernel(profile);
      try {
        using rx = rxSocket();
        using tx = txSocket({ version: 'v2', tx: { qdiscBypass: true } });
        expect(tx.features).toEqual({ ignoreOutgoing: 'off', qdiscBypass: how });
        const list = frames(10);
        const got = await collect(rx.frames(), 10, () => list.forEach((f) => tx.writer.write(f)));
        sameBytes(
          got.filter(ours).map((f) => f.data),
          list,
        );
      } finally {
        sim.restore();
      }
    });

    it('a V3 TX ring on a simulated 4.5 (V3 TX is 4.11) is an UnsupportedError naming the version; V2 works there', async () => {
      const sim = simulateKernel('4.5');
      try {
        let err: unknown = null;
        try {
          txSocket({ version: 'v3' });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(UnsupportedError);
        expect((err as UnsupportedError).feature).toBe('TPACKET_V3 TX ring');
        expect((err as Error).message).toBe('TPACKET_V3 TX ring is not supported here: Linux 4.11 or later sends from V3 rings; use version v2');
        using rx = rxSocket();
        using tx = txSocket({ version: 'v2' });
        const got = await collect(rx.frames(), 3, () => frames(3).forEach((f) => tx.writer.write(f)));
        expect(got.filter(ours).length).toBe(3);
        expect(tx.txStats()).toEqual(tx.writer.stats());
      } finally {
        sim.restore();
      }
    });

    it('a send-only socket receives nothing; an RX consumer of it errors with a TypeError', async () => {
      using tx = txSocket();
      const err = await new Promise((resolve) => tx.batches().subscribe({ error: resolve }));
      expect(err).toBeInstanceOf(TypeError);
      // Closed by `using`: a socket left to the finalizer keeps its ring mapped in this jest worker,
      // where a later file's count of mappings (lifetime.test.ts) would see it.
      using rx = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs });
      expect(() => rx.writer).toThrow(TypeError);
    });

    it('RX and TX rings on one socket share one mapping: a socket sends and receives', async () => {
      using a = PacketSocket.open({ interface: env.t.genIf, netns: env.t.genNs, version: 'v3', tx: true });
      using b = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version: 'v2', tx: true });
      expect(a.ring!.version).toBe('v3');
      const there = frames(5);
      const back = Array.from({ length: 5 }, (_, seq) => buildFrame(env.t.genMac, env.t.capMac, { seq, size: 100 + seq }).wire);
      const gotB = await collect(b.frames(), 5, () => there.forEach((f) => a.writer.write(f)));
      const gotA = await collect(a.frames(), 5, () => back.forEach((f) => b.writer.write(f)));
      sameBytes(
        gotB.filter(ours).map((f) => f.data),
        there,
      );
      sameBytes(
        gotA.filter(ours).map((f) => f.data),
        back,
      );
    });

    it('close() rejects what waits with PacketSocketClosedError; writes after close throw it', async () => {
      const undo = slowQdisc(env.t.genNs, env.t.genIf);
      try {
        const tx = txSocket({ tx: { geometry: SMALL_RING } });
        const frame = frames(1, () => 100)[0];
        await stall(tx, frame);
        // (flush() would resolve: the kernel has taken every frame; they wait in the qdisc.)
        const waits = [tx.writer.writable(), tx.writer.drained()].map((p) => p.catch((e: unknown) => e));
        await sleep(20);
        tx.close();
        for (const e of await Promise.all(waits)) expect(e).toBeInstanceOf(PacketSocketClosedError);
        expect(() => tx.writer.write(frame)).toThrow(PacketSocketClosedError);
        tx.close();
      } finally {
        undo();
      }
    });

    it('waits are cancellable: AbortSignal and timeoutMs', async () => {
      const undo = slowQdisc(env.t.genNs, env.t.genIf);
      try {
        using tx = txSocket({ tx: { geometry: SMALL_RING } });
        await stall(tx, frames(1, () => 100)[0]);
        const ac = new AbortController();
        const aborted = tx.writer.drained({ signal: ac.signal }).catch((e: unknown) => e);
        ac.abort(new Error('stop waiting'));
        expect(((await aborted) as Error).message).toBe('stop waiting');
        const late = await tx.writer.drained({ timeoutMs: 50 }).catch((e: unknown) => e);
        expect((late as { code: string }).code).toBe('ERR_KRING_TIMEOUT');
        await expect(tx.writer.flush({ timeoutMs: -1 })).rejects.toThrow(RangeError);
      } finally {
        undo();
      }
    });
  },
  ['tcpdump', 'tc'],
);

describePrivileged('AF_PACKET TX ring: a lost interface', () => {
  const env = useVethPair();
  it('deleting the interface fails the writer with a RingError naming it', async () => {
    using tx = PacketSocket.open({ interface: env.t.genIf, netns: env.t.genNs, rx: false, tx: { geometry: SMALL_RING } });
    const frame = buildFrame(env.t.capMac, env.t.genMac, { seq: 0, size: 100 }).wire;
    expect(tx.writer.write(frame)).toBe(true);
    await tx.writer.drained();
    execFileSync('ip', ['-n', env.t.genNs, 'link', 'del', env.t.genIf]);
    // A send-only socket has no receive hook, so the kernel reports nothing until it sends: the
    // next kick finds no device (ENXIO), and the writer has failed from then on.
    expect(tx.writer.write(frame)).toBe(true);
    let err: unknown = null;
    try {
      tx.writer.send();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RingError);
    expect((err as RingError).code).toBe('ENXIO');
    expect((err as RingError).message).toBe(
      `send(interface ${env.t.genIf}): ENXIO, the interface (ifindex ${env.t.genIfindex}) was deleted or moved to another network namespace`,
    );
    await expect(tx.writer.flush()).rejects.toBe(err);
    expect(() => tx.writer.write(frame)).toThrow(err as Error);
  });

  it("with an RX ring too, the interface going away rejects the writer's waits (EPOLLERR)", async () => {
    const t = createVethPair();
    const elsewhere = createNamespace();
    try {
      using sock = PacketSocket.open({ interface: t.genIf, netns: t.genNs, tx: { geometry: SMALL_RING } });
      slowQdisc(t.genNs, t.genIf);
      const frame = buildFrame(t.capMac, t.genMac, { seq: 0, size: 100 }).wire;
      await stall(sock, frame);
      const wait = sock.writer.writable().catch((e: unknown) => e);
      await sleep(20);
      execFileSync('ip', ['-n', t.genNs, 'link', 'set', t.genIf, 'netns', elsewhere.ns]);
      const err = await wait;
      expect(err).toBeInstanceOf(RingError);
      expect((err as RingError).code).toBe('ENETDOWN');
    } finally {
      t.destroy();
      elsewhere.destroy();
    }
  });
});
