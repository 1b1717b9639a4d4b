// TP_STATUS_COPY delivery and loss accounting on the real kernel.
import { FrameBatch, LossEvent, PacketSocket, TpacketVersionName } from '../../src';
import { collect } from '../helpers/collect';
import { rxPackets } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { buildFrame, sleep, useVethPair } from '../helpers/traffic';

describePrivileged('TP_STATUS_COPY and losses', () => {
  const env = useVethPair();
  const frame = (seq: number, size: number) => buildFrame(env.t.capMac, env.t.genMac, { seq, size }).untagged;

  describe.each(['v1', 'v2'] as TpacketVersionName[])('TPACKET_%s', (version) => {
    it('copyThreshold: a frame larger than its slot arrives whole through recv', async () => {
      // 256-byte slots: the link header sits at 66, so 190 bytes fit; larger frames are COPY.
      const geometry = { blockSize: 4096, blockCount: 8, frameSize: 256, frameCount: 128 };
      using sock = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version, geometry, copyThreshold: true });
      const sizes = [60, 190, 191, 600, 1514, 100, 1200];
      const sent = sizes.map((size, seq) => frame(seq, size));
      const frames = await collect(sock.frames(), sizes.length, () => expect(env.sender.send(sent)).toBe(sizes.length));
      expect(frames.length).toBe(sizes.length);
      frames.forEach((f, i) => {
        expect(f.len).toBe(sizes[i]);
        expect(f.caplen).toBe(sizes[i]);
        expect(f.copied).toBe(sizes[i] > 190);
        expect(f.truncated).toBe(false);
        expect(Buffer.compare(f.data, sent[i])).toBe(0);
      });
    });

    it('without copyThreshold the same frames are truncated to the slot', async () => {
      const geometry = { blockSize: 4096, blockCount: 8, frameSize: 256, frameCount: 128 };
      using sock = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version, geometry });
      const sent = [frame(0, 1514)];
      const frames = await collect(sock.frames(), 1, () => env.sender.send(sent));
      expect(frames.length).toBe(1);
      expect([frames[0].len, frames[0].caplen, frames[0].copied, frames[0].truncated]).toEqual([1514, 190, false, true]);
      expect(Buffer.compare(frames[0].data, sent[0].subarray(0, 190))).toBe(0);
    });
  });

  describe.each([
    ['v2', { blockSize: 4096, blockCount: 4, frameSize: 2048, frameCount: 8 }],
    ['v3', { blockSize: 4096, blockCount: 2, frameSize: 2048, frameCount: 4 }],
  ] as [TpacketVersionName, { blockSize: number; blockCount: number; frameSize: number; frameCount: number }][])('TPACKET_%s', (version, geometry) => {
    it('a tiny ring and a paused consumer: delivered + reported drops == sent, and the stream goes on', async () => {
      using sock = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version, geometry });
      const losses: LossEvent[] = [];
      const lossSub = sock.losses().subscribe((e) => losses.push(e));
      const seqOf = (b: FrameBatch, i: number) => Buffer.from(b.frame(i).data).readUInt32BE(14);
      const rx0 = rxPackets(env.t.capNs, env.t.capIf);

      // Paused: nobody is subscribed while 200 frames arrive; the ring keeps the first ones.
      expect(env.sender.send(Array.from({ length: 200 }, (_, seq) => frame(seq, 200)))).toBe(200);
      expect(rxPackets(env.t.capNs, env.t.capIf) - rx0).toBe(200); // every frame reached the interface
      await sleep(50); // V3: let the block timer retire the last block
      const first: number[] = [];
      const sub1 = sock.batches().subscribe((b) => {
        for (let i = 0; i < b.length; i++) first.push(seqOf(b, i));
      });
      await sleep(100);
      sub1.unsubscribe();
      // The delivered frames are the oldest, in order, with no gap.
      expect(first).toEqual(Array.from({ length: first.length }, (_, i) => i));
      if (version === 'v2') expect(first.length).toBe(8);
      expect(losses).toEqual([]); // no LOSING flag yet: these frames were written before any drop

      // The stream goes on: frames after the loss are delivered and carry TP_STATUS_LOSING, which
      // makes kring read PACKET_STATISTICS and report the drops as they happen.
      const frames = await collect(sock.frames(), 5, () => env.sender.send(Array.from({ length: 5 }, (_, i) => frame(1000 + i, 200))));
      expect(frames.map((f) => f.data.readUInt32BE(14))).toEqual([1000, 1001, 1002, 1003, 1004]);
      if (version === 'v2') expect(frames[0].losing).toBe(true);
      const reported = losses.filter((e) => e.kind === 'drops').reduce((n, e) => n + e.count, 0);
      expect(reported).toBe(200 - first.length);

      const st = sock.stats();
      expect(st.packets).toBe(205);
      expect(st.drops).toBe(200 - first.length);
      expect(first.length + frames.length + st.drops).toBe(205);
      if (version === 'v3') expect(st.freezeQueueCount).toBeGreaterThanOrEqual(1);
      lossSub.unsubscribe();
    });
  });
});
