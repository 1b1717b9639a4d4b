// Socket options with effects visible from outside: dgram mode, ignoreOutgoing, promiscuous.
import { execFileSync } from 'node:child_process';
import { PacketSocket } from '../../src';
import { PACKET_OUTGOING } from '../../src/constants';
import { collect } from '../helpers/collect';
import { describePrivileged } from '../helpers/privileged';
import { simulateKernel } from '../../src/testing';
import { buildFrame, Sender, TEST_ETHERTYPE, useVethPair } from '../helpers/traffic';

describePrivileged('socket options on the real kernel', () => {
  const env = useVethPair();
  const frames = (n: number) => Array.from({ length: n }, (_, seq) => buildFrame(env.t.capMac, env.t.genMac, { seq, size: 80 + seq }).untagged);

  it.each(['v2', 'v3'] as const)('%s dgram mode: data starts at the network header, len excludes the link header', async (version) => {
    using sock = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, version, mode: 'dgram' });
    const sent = frames(5);
    const got = await collect(sock.frames(), 5, () => env.sender.send(sent));
    expect(got.length).toBe(5);
    got.forEach((f, i) => {
      expect(f.len).toBe(sent[i].length - 14);
      expect(Buffer.compare(f.data, sent[i].subarray(14))).toBe(0);
      expect(f.protocol).toBe(TEST_ETHERTYPE);
      expect(Buffer.compare(f.address, env.t.genMac)).toBe(0);
    });
  });

  it('outgoing frames are captured with PACKET_OUTGOING, and ignoreOutgoing drops them', async () => {
    // Capture on the sending side this time.
    const onSender = (ignoreOutgoing: boolean) => PacketSocket.open({ interface: env.t.genIf, netns: env.t.genNs, ignoreOutgoing });
    {
      using sock = onSender(false);
      const got = await collect(sock.frames(), 3, () => env.sender.send(frames(3)));
      expect(got.map((f) => [f.pkttype, f.data.readUInt32BE(14)])).toEqual([
        [PACKET_OUTGOING, 0],
        [PACKET_OUTGOING, 1],
        [PACKET_OUTGOING, 2],
      ]);
    }
    {
      using sock = onSender(true);
      const got = await collect(sock.frames(), 3, () => env.sender.send(frames(3)), 300);
      expect(got).toEqual([]);
      expect(sock.stats().packets).toBe(0);
    }
  });

  it('promiscuous raises the interface promiscuity for the socket life only', () => {
    const promiscuity = () =>
      JSON.parse(execFileSync('ip', ['-n', env.t.capNs, '-d', '-j', 'link', 'show', 'dev', env.t.capIf], { encoding: 'utf8' }))[0].promiscuity;
    expect(promiscuity()).toBe(0);
    const sock = PacketSocket.open({ interface: env.t.capIf, netns: env.t.capNs, promiscuous: true });
    expect(promiscuity()).toBe(1);
    sock.close();
    expect(promiscuity()).toBe(0);
  });

  it.each([
    ['this kernel (PACKET_IGNORE_OUTGOING, 4.20)', null, 'kernel'],
    ['a simulated 4.4 (no PACKET_IGNORE_OUTGOING: the socket filter drops PACKET_OUTGOING)', '4.4', 'filter'],
  ] as const)('ignoreOutgoing on %s: only what arrives is captured, also with a snaplen', async (_n, profile, how) => {
    const sim = profile ? simulateKernel(profile) : null;
    const back = new Sender(env.t.capNs, env.t.capIf);
    try {
      for (const snaplen of [undefined, 40]) {
        using sock = PacketSocket.open({ interface: env.t.genIf, netns: env.t.genNs, ignoreOutgoing: true, snaplen });
        expect(sock.features).toEqual({ ignoreOutgoing: how, qdiscBypass: 'off' });
        // Three frames out of genIf (outgoing there), then two into it from the other end.
        const incoming = Array.from({ length: 2 }, (_, i) => buildFrame(env.t.genMac, env.t.capMac, { seq: 100 + i, size: 90 }).untagged);
        const got = await collect(sock.frames(), 2, () => {
          env.sender.send(frames(3));
          back.send(incoming);
        });
        expect(got.map((f) => [f.pkttype, f.data.readUInt32BE(14), f.caplen])).toEqual([
          [0 /* PACKET_HOST */, 100, snaplen ?? 90],
          [0, 101, snaplen ?? 90],
        ]);
        expect(sock.stats().packets).toBe(2);
      }
    } finally {
      back.close();
      sim?.restore();
    }
  });
});
