/**
 * Filters on a live socket: the ring holds exactly the frames tcpdump captures with the same
 * expression on the same interface (libpcap's compiler and the kernel's filter as the witness),
 * a `tcpdump -dd` program attached as given does the same, and nothing unfiltered slips in while a
 * socket is being set up under a flood of frames the filter refuses.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { PacketSocket } from '../../src/packet/socket';
import { parseProgramText } from '../../src/bpf/program';
import { parseCaptureFile } from '../../src/pcap/read';
import { generatePackets } from '../helpers/packets';
import { describePrivileged } from '../helpers/privileged';
import { startTcpdump } from '../helpers/tcpdump';
import { sleep, until, useVethPair } from '../helpers/traffic';

const sorted = (bufs: Buffer[]) => bufs.map((b) => b.toString('hex')).sort();

describePrivileged(
  'filters attached to a live socket',
  () => {
    const env = useVethPair();
    // Untagged frames only: the receiving device takes an 802.1Q tag out of the packet before any
    // filter runs (skb_vlan_untag), where libpcap's live filters read it with ancillary loads.
    const frames = generatePackets(800, 7)
      .map((p) => p.bytes)
      .filter((b) => ![0x8100, 0x88a8, 0x9100].includes(b.readUInt16BE(12)));

    async function capture(
      filter: string | ReturnType<typeof parseProgramText>,
      expression: string,
      mode: 'raw' | 'dgram' = 'raw',
      snaplen?: number,
    ): Promise<{ ours: Buffer[]; theirs: Buffer[] }> {
      const { t, sender } = env;
      const dump = await startTcpdump(t.capNs, t.capIf, { filter: [...(snaplen ? ['-s', String(snaplen)] : []), '-Q', 'in', expression] });
      const sock = PacketSocket.open({ interface: t.capIf, netns: t.capNs, filter, ignoreOutgoing: true, mode, snaplen });
      const ours: Buffer[] = [];
      const sub = sock.frames().subscribe((f) => ours.push(Buffer.from(f.data)));
      try {
        expect(sender.send(frames)).toBe(frames.length);
        await sleep(300);
        dump.stop();
        // In dgram mode the ring holds what follows the Ethernet header.
        const theirs = parseCaptureFile(await dump.done).map((r) => (mode === 'raw' ? r.data : r.data.subarray(14)));
        await until(() => ours.length >= theirs.length, 3000).catch(() => undefined);
        await sleep(50);
        return { ours, theirs };
      } finally {
        sub.unsubscribe();
        sock.close();
      }
    }

    it.each([
      'udp port 53',
      'tcp and not port 80',
      'host 10.0.0.1',
      'icmp or icmp6 or arp',
      'ip[0] & 0xf > 5',
      'ip6 and net fe80::/10',
      'ip[6:2] & 0x1fff != 0',
    ])('%s: the ring holds exactly what tcpdump captures with the expression', async (expression) => {
      const { ours, theirs } = await capture(expression, expression);
      expect(theirs.length).toBeGreaterThan(0);
      expect(theirs.length).toBeLessThan(frames.length);
      expect(sorted(ours)).toEqual(sorted(theirs));
    });

    it.each(['udp port 53', 'host 10.0.0.1 or arp', 'ip6 and tcp'])(
      "mode 'dgram' (network-layer data, ethertype from skb->protocol), %s: what tcpdump captures",
      async (expression) => {
        const { ours, theirs } = await capture(expression, expression, 'dgram');
        expect(theirs.length).toBeGreaterThan(0);
        expect(sorted(ours)).toEqual(sorted(theirs));
      },
    );

    it('a tcpdump -dd program attached as given: the same frames', async () => {
      const expression = 'tcp or udp portrange 20-60';
      const program = parseProgramText(execFileSync('tcpdump', ['-i', 'lo', '-dd', expression], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      const { ours, theirs } = await capture(program, expression);
      expect(theirs.length).toBeGreaterThan(0);
      expect(sorted(ours)).toEqual(sorted(theirs));
    });

    it('a program that keeps A bytes ("ret a") is still cut at snaplen', async () => {
      // ld len; ret a: keep the whole packet. With snaplen 60 the ring must hold each frame's first
      // 60 bytes (the bytes this test sent), and the same frames tcpdump saw arrive. (tcpdump's own
      // -s 60 is no witness for the bytes: on this machine it kept at most 58 of them.)
      const program = parseProgramText('{ 0x80, 0, 0, 0x00000000 },\n{ 0x16, 0, 0, 0x00000000 },\n');
      const { ours, theirs } = await capture(program, 'greater 0', 'raw', 60);
      expect(ours.length).toBe(theirs.length);
      expect(sorted(ours)).toEqual(sorted(frames.map((b) => b.subarray(0, Math.min(60, b.length)))));
    });

    it('nothing slips in during setup: sockets opened under a flood of refused frames hold none of them', async () => {
      const { t } = env;
      // A UDP frame to port 9 (the filter wants 9999), sent as fast as python can for 3 s.
      const frame = Buffer.from(frames.find((b) => b.readUInt16BE(12) === 0x0800 && b[23] === 17 && (b[14] & 0xf) === 5)!);
      frame.writeUInt16BE(9, 36);
      const flood = spawn('ip', [
        'netns',
        'exec',
        t.genNs,
        'python3',
        '-c',
        `import socket,time\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind(("${t.genIf}",0))\nf=bytes.fromhex("${frame.toString('hex')}")\nend=time.time()+3\nwhile time.time()<end:\n  s.send(f)\n`,
      ]);
      try {
        await sleep(300);
        // The control: an unfiltered socket sees the flood.
        const open = PacketSocket.open({ interface: t.capIf, netns: t.capNs });
        let seen = 0;
        const s1 = open.frames().subscribe(() => seen++);
        await until(() => seen > 100, 2000);
        s1.unsubscribe();
        open.close();
        let slipped = 0;
        for (let i = 0; i < 20; i++) {
          const sock = PacketSocket.open({ interface: t.capIf, netns: t.capNs, filter: 'udp port 9999' });
          const sub = sock.frames().subscribe(() => slipped++);
          await sleep(20);
          sub.unsubscribe();
          expect(sock.stats().packets).toBe(0); // the kernel's count of what the filter let through
          sock.close();
        }
        expect(slipped).toBe(0);
      } finally {
        flood.kill();
      }
    });

    it('bad filters are refused before any socket: SyntaxError with the column, TypeError for a non-program, RangeError without an RX ring', () => {
      expect(() => PacketSocket.open({ interface: 'lo', filter: 'tcp and' })).toThrow(SyntaxError);
      expect(() => PacketSocket.open({ interface: 'lo', filter: 'ether host 00:11:22:33:44:55', mode: 'dgram' })).toThrow(
        '"ether" needs the link-layer header, which network-layer data (mode \'dgram\', -i any) does not have at column 1 of "ether host 00:11:22:33:44:55"',
      );
      expect(() => PacketSocket.open({ interface: 'lo', filter: 'tcp', tx: true, rx: false })).toThrow(RangeError);
      expect(() => PacketSocket.open({ interface: 'lo', filter: [[6, 0, 0]] as never })).toThrow(TypeError);
      expect(() => PacketSocket.open({ interface: 'lo', filter: [[0x15, 5, 0, 1]] })).toThrow('instruction 0 jumps past the end');
    });
  },
  ['tcpdump', 'python3'],
);
