/**
 * Capture files, judged by tshark and tcpdump: what `kring capture -w` writes (pcapng and pcap) is
 * what tshark reads with the same count, lengths, timestamps (nanoseconds, the same skb stamps a
 * tcpdump beside it records) and bytes (the bytes the test sent, 802.1Q tags put back as libpcap
 * does); what tcpdump writes, `kring read` reads as tshark does; a capture whose interface is deleted
 * ends non-zero with its file readable; rotation by size splits the frames without losing one.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { CaptureWriter } from '../../src/pcap/write';
import { createNamespace, ipJson } from '../helpers/netns';
import { generatePackets } from '../helpers/packets';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KRING, startKring } from '../helpers/kring-process';
import { describePrivileged } from '../helpers/privileged';
import { scratchDir, startTcpdump } from '../helpers/tcpdump';
import { tsharkFrames } from '../helpers/tshark';
import { buildFrame, sleep, useVethPair } from '../helpers/traffic';

describePrivileged(
  'capture files against tshark and tcpdump',
  () => {
    const env = useVethPair();
    const frames = (n: number, vlanEvery = 0, size = 100) =>
      Array.from({ length: n }, (_, seq) => {
        const f = buildFrame(env.t.capMac, env.t.genMac, {
          seq,
          size: size + (seq % 50),
          ...(vlanEvery && seq % vlanEvery === 0 ? { vlan: { tci: 100 } } : {}),
        });
        return f.wire;
      });

    it.each(['pcapng', 'pcap'])('kring capture -w (%s): tshark reads the frames sent, with the timestamps tcpdump recorded', async (format) => {
      const { t, sender } = env;
      const file = join(scratchDir(), `k.${format}`);
      const dump = await startTcpdump(t.capNs, t.capIf, { nano: true, count: 40 });
      const k = startKring(['capture', '-i', t.capIf, '--netns', t.capNs, '-w', file, '-c', '40']);
      try {
        await k.until(() => k.err().includes('listening on'));
        const sent = frames(40, 4);
        expect(sender.send(sent)).toBe(40);
        expect(await k.exited).toBe(0);
        expect(k.err()).toMatch(/40 frames captured, 0 dropped by the kernel\n$/);
        const ours = tsharkFrames(file);
        const theirs = tsharkFrames((await dump.done, dump.file));
        // Bytes: what was sent, tags included (the receiving veth took them out; both put them back).
        expect(ours.map((f) => f.hex)).toEqual(sent.map((b) => b.toString('hex')));
        expect(ours.map((f) => [f.len, f.caplen])).toEqual(sent.map((b) => [b.length, b.length]));
        expect(ours.map((f) => f.epoch)).toEqual(theirs.map((f) => f.epoch));
        expect(ours[0].epoch).toMatch(/^\d{10}\.\d{9}$/);
        if (format === 'pcapng') {
          expect(new Set(ours.map((f) => [f.iface, f.direction].join()))).toEqual(new Set([`${t.capIf},0x00000001`]));
        }
      } finally {
        k.kill();
        dump.stop();
      }
    });

    it('-i any -w: Linux cooked v2 records, a pcapng interface per device named as ip names it', async () => {
      const { t, sender } = env;
      const file = join(scratchDir(), 'any.pcapng');
      const k = startKring(['capture', '-i', 'any', '--netns', t.capNs, '-w', file, '-c', '8', 'not ip6']);
      try {
        await k.until(() => k.err().includes('listening on'));
        const sent = frames(5);
        sender.send(sent);
        // Three datagrams on lo: each shows once (as libpcap, the loopback's outgoing copy is left out).
        execFileSync('ip', [
          'netns',
          'exec',
          t.capNs,
          'python3',
          '-c',
          "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(3): s.sendto(b'lo%d'%i,('127.0.0.1',9))",
        ]);
        expect(await k.exited).toBe(0);
        const rows = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'sll.ifindex', '-e', 'sll.etype'], {
          encoding: 'utf8',
        })
          .trim()
          .split('\n')
          .map((l) => l.split('\t'));
        const lo = (ipJson(t.capNs, ['link', 'show', 'lo']) as { ifindex: number }[])[0].ifindex;
        expect(rows.filter(([name]) => name === t.capIf).map(([, idx, type]) => [Number(idx), type])).toEqual(sent.map(() => [t.capIfindex, '0x88b5']));
        expect(rows.filter(([name]) => name === 'lo').map(([, idx, type]) => [Number(idx), type])).toEqual([0, 1, 2].map(() => [lo, '0x0800']));
        // The captured bytes: the 20-byte cooked header, then what followed the Ethernet header.
        const ours = tsharkFrames(file).filter((f) => f.iface === t.capIf);
        expect(ours.map((f) => f.hex.slice(40))).toEqual(sent.map((b) => b.subarray(14).toString('hex')));
      } finally {
        k.kill();
      }
    });

    it('kring read -r of a tcpdump file prints what tshark reads, and a filter picks what tcpdump -r picks', async () => {
      const { t, sender } = env;
      const dump = await startTcpdump(t.capNs, t.capIf, { nano: true, count: 30 });
      sender.send(frames(30, 3));
      await dump.done;
      const r = spawnSync(process.execPath, [KRING, 'read', '-r', dump.file, '--json'], { encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([0, '']);
      const ours = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { ts: string; len: number; caplen: number; hex: string });
      expect(ours.map((j) => [j.ts, j.len, j.caplen, j.hex])).toEqual(tsharkFrames(dump.file).map((f) => [f.epoch, f.len, f.caplen, f.hex]));
      const filtered = spawnSync(process.execPath, [KRING, 'read', '-r', dump.file, 'vlan', '--json'], { encoding: 'utf8' });
      const picked = join(scratchDir(), 'vlan.pcap');
      execFileSync('tcpdump', ['-r', dump.file, '-w', picked, 'vlan'], { stdio: 'ignore' });
      const want = tsharkFrames(picked).map((f) => f.hex);
      expect(
        filtered.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { hex: string }).hex),
      ).toEqual(want);
      expect(want.length).toBe(10);
      // A text line per frame: time, then the decode.
      const text = spawnSync(process.execPath, [KRING, 'read', '-r', dump.file, '-c', '1'], { encoding: 'utf8' });
      expect(text.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{9} vlan 100, p 0, ethertype 0x88b5, length \d+\n$/);
    });

    it('text lines decode as tcpdump -n does: addresses, ports, protocol, TCP flags, lengths, ARP whole', () => {
      // Whole, unfragmented, untagged frames of every kind the generator makes, written by kring.
      const file = join(scratchDir(), 'decode.pcap');
      const w = CaptureWriter.open(file, { format: 'pcap' });
      const pkts = generatePackets(600, 11)
        .map((p) => p.bytes)
        .filter((b) => b.readUInt16BE(12) !== 0x8100 && b.readUInt16BE(12) !== 0x88a8 && b.readUInt16BE(12) !== 0x9100)
        .filter((b) => !(b.readUInt16BE(12) === 0x0800 && (b.readUInt16BE(20) & 0x3fff) !== 0))
        .filter((b) => !(b.readUInt16BE(12) === 0x86dd && b[20] === 44))
        .filter((b) => b.readUInt16BE(12) !== 0x8035);
      pkts.forEach((data, i) => w.write({ data, sec: 1700000000 + i, nsec: 0 }));
      w.close();
      const ours = spawnSync(process.execPath, [KRING, 'read', '-r', file], { encoding: 'utf8' }).stdout.trim().split('\n');
      // tcpdump's continuation lines (options, payload decodes) are indented: one line per frame is the unindented one.
      const theirs = execFileSync('tcpdump', ['-n', '-tt', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')
        .filter((l) => /^\d/.test(l));
      expect(ours.length).toBe(pkts.length);
      expect(theirs.length).toBe(pkts.length);
      let compared = 0;
      const kinds = { arp: 0, ip: 0, udp: 0, tcp: 0 };
      ours.forEach((line, i) => {
        const mine = line.replace(/^\S+ /, '');
        const t = theirs[i].replace(/^\S+ /, '');
        if (mine.startsWith('ARP')) {
          expect(mine).toBe(t);
          kinds.arp++;
        } else if (mine.startsWith('IP')) {
          // "IP a.p > b.q" (tcpdump's port names are off with -n), then the protocol's own words.
          expect(mine.split(': ')[0]).toBe(t.split(': ')[0]);
          kinds.ip++;
          if (/: UDP, length/.test(mine) && /: UDP, length/.test(t)) {
            expect(mine).toBe(t);
            kinds.udp++;
          }
          // (a random TCP header may have a data offset below 5: tcpdump then prints no flags)
          if (/Flags \[/.test(mine) && /Flags \[/.test(t)) {
            expect(mine.match(/Flags \[[^\]]*\]/)![0]).toBe(t.match(/Flags \[[^\]]*\]/)![0]);
            kinds.tcp++;
          }
          // ICMP echo by name (tcpdump words the errors after their codes and quoted headers: not compared).
          if (/: ICMP /.test(mine)) {
            for (const w of ['ICMP echo request', 'ICMP echo reply']) expect(t.includes(w)).toBe(mine.includes(w));
          }
        } else expect(mine).toMatch(/^ethertype 0x[0-9a-f]{4}, length \d+$/);
        compared++;
      });
      expect(compared).toBe(pkts.length);
      expect(kinds).toEqual({ arp: expect.any(Number), ip: expect.any(Number), udp: expect.any(Number), tcp: expect.any(Number) });
      expect([kinds, Math.min(...Object.values(kinds)) >= 5]).toEqual([kinds, true]);
      // -x: the bytes from the network header, in tcpdump's lines (frame by frame; where tcpdump
      // adds a hex dump of a payload it did not decode, that frame has two blocks: not compared).
      const hexBlocks = (text: string) => {
        const frames: string[][] = [];
        for (const l of text.split('\n')) {
          if (/^\d/.test(l)) frames.push([]);
          else if (l.startsWith('\t0x')) frames[frames.length - 1].push(l);
        }
        return frames;
      };
      const ourHex = hexBlocks(spawnSync(process.execPath, [KRING, 'read', '-r', file, '-x'], { encoding: 'utf8' }).stdout);
      const theirHex = hexBlocks(execFileSync('tcpdump', ['-n', '-x', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      expect([ourHex.length, theirHex.length]).toEqual([pkts.length, pkts.length]);
      let hexCompared = 0;
      theirHex.forEach((block, i) => {
        // (and frames where tcpdump's dump is not the frame less its 14-byte Ethernet header: an
        // 802.3 frame's LLC header counts as link layer to it, and a malformed ICMPv6 option makes
        // it dump the whole frame)
        const bytes = block.join('').replace(/\t0x[0-9a-f]{4}:|\s/g, '').length / 2;
        if (block.filter((l) => l.startsWith('\t0x0000:')).length !== 1 || bytes !== pkts[i].length - 14) return;
        expect(ourHex[i]).toEqual(block);
        hexCompared++;
      });
      expect(hexCompared).toBeGreaterThan(pkts.length * 0.7);
    });

    it('on a terminal, a progress line on stderr each second: frames, bytes, rate, kernel drops', async () => {
      const { t, sender } = env;
      // script(1) gives the capture a pseudo-terminal; what it writes there comes back on stdout.
      const k = spawn('script', ['-qfc', `${process.execPath} ${KRING} capture -i ${t.capIf} --netns ${t.capNs} -w /dev/null`, '/dev/null']);
      let out = '';
      k.stdout.on('data', (d) => (out += d));
      try {
        const deadline = Date.now() + 10_000;
        while (!out.includes('listening on') && Date.now() < deadline) await sleep(20);
        for (let i = 0; i < 5; i++) {
          sender.send(frames(20));
          await sleep(300);
        }
        expect(out).toMatch(/\r\d+ frames, \d+ bytes, \d+ frames\/s, 0 dropped by the kernel/);
        const shown = [...out.matchAll(/\r(\d+) frames, (\d+) bytes/g)].map((m) => Number(m[1]));
        expect(shown.length).toBeGreaterThanOrEqual(1);
        expect(shown.every((n) => n > 0 && n <= 100)).toBe(true);
      } finally {
        k.kill('SIGINT');
      }
    });

    it('deleting the interface mid-capture ends kring capture -w with an error naming it, exit 1, and a readable file', async () => {
      const { t, sender } = env;
      const file = join(scratchDir(), 'gone.pcapng');
      const k = startKring(['capture', '-i', t.capIf, '--netns', t.capNs, '-w', file]);
      try {
        await k.until(() => k.err().includes('listening on'));
        const sent = frames(25);
        sender.send(sent);
        await sleep(200);
        execFileSync('ip', ['-n', t.capNs, 'link', 'del', t.capIf]);
        expect(await k.exited).toBe(1);
        expect(k.err()).toMatch(new RegExp(`kring: .*${t.capIf}.*\\n25 frames captured`));
        expect(tsharkFrames(file).map((f) => f.hex)).toEqual(sent.map((b) => b.toString('hex')));
      } finally {
        k.kill();
      }
    });
  },
  ['tcpdump', 'tshark'],
);

describePrivileged(
  'a capture whose interface moves away',
  () => {
    const env = useVethPair();
    const frames = (n: number) => Array.from({ length: n }, (_, seq) => buildFrame(env.t.capMac, env.t.genMac, { seq, size: 100 }).wire);
    it('an interface moved to another namespace mid-capture ends the capture too, exit 1', async () => {
      const { t, sender } = env;
      const file = join(scratchDir(), 'moved.pcap');
      const k = startKring(['capture', '-i', t.capIf, '--netns', t.capNs, '-w', file]);
      const away = createNamespace();
      try {
        await k.until(() => k.err().includes('listening on'));
        sender.send(frames(5));
        await sleep(200);
        execFileSync('ip', ['-n', t.capNs, 'link', 'set', t.capIf, 'netns', away.ns]);
        expect(await k.exited).toBe(1);
        expect(k.err()).toMatch(new RegExp(`kring: .*${t.capIf}.*\\n5 frames captured`));
        expect(tsharkFrames(file).length).toBe(5);
      } finally {
        k.kill();
        away.destroy();
      }
    });
  },
  ['tshark'],
);

describePrivileged(
  'capture file rotation',
  () => {
    const env = useVethPair();
    it('-C 1 -W 3: files of about a million bytes each, reused in turn; together the frames sent', async () => {
      const { t, sender } = env;
      const dir = scratchDir();
      const k = startKring(['capture', '-i', t.capIf, '--netns', t.capNs, '-w', join(dir, 'r.pcap'), '-C', '1', '-W', '3', '-c', '2000']);
      try {
        await k.until(() => k.err().includes('listening on'));
        const sent = Array.from({ length: 2000 }, (_, seq) => buildFrame(t.capMac, t.genMac, { seq, size: 1000 }).wire);
        for (let i = 0; i < sent.length; i += 200) {
          sender.send(sent.slice(i, i + 200));
          await sleep(5);
        }
        expect(await k.exited).toBe(0);
        expect(readdirSync(dir).sort()).toEqual(['r.pcap0', 'r.pcap1', 'r.pcap2']);
        const hex: string[][] = [];
        for (const f of ['r.pcap0', 'r.pcap1', 'r.pcap2']) hex.push(tsharkFrames(join(dir, f)).map((x) => x.hex));
        // In order and whole across the three: r.pcap0 and r.pcap1 each closed once past 1e6 bytes.
        expect(hex.flat()).toEqual(sent.map((b) => b.toString('hex')));
        for (const f of ['r.pcap0', 'r.pcap1']) expect(statSync(join(dir, f)).size).toBeGreaterThan(1_000_000);
        expect(statSync(join(dir, 'r.pcap0')).size).toBeLessThan(1_000_000 + 1100);
        expect(statSync(join(dir, 'r.pcap2')).size).toBeLessThan(1_000_000);
      } finally {
        k.kill();
      }
    });

    it('-G 1 -W 2 with a strftime name: a file per second, the capture ends after the second; together every frame captured', async () => {
      const { t, sender } = env;
      const dir = scratchDir();
      const k = startKring(['capture', '-i', t.capIf, '--netns', t.capNs, '-w', join(dir, 'g-%s.pcapng'), '-G', '1', '-W', '2']);
      try {
        await k.until(() => k.err().includes('listening on'));
        const sent: Buffer[] = [];
        let seq = 0;
        const deadline = Date.now() + 8000;
        while (Date.now() < deadline && !/frames captured/.test(k.err())) {
          const batch = Array.from({ length: 10 }, () => buildFrame(t.capMac, t.genMac, { seq: seq++, size: 80 }).wire);
          sender.send(batch);
          sent.push(...batch);
          await sleep(50);
        }
        expect(await k.exited).toBe(0);
        const files = readdirSync(dir).sort();
        expect(files.length).toBe(2);
        expect(files.every((f) => /^g-\d{10}\.pcapng$/.test(f))).toBe(true);
        expect(Number(files[1].slice(2, 12)) - Number(files[0].slice(2, 12))).toBeGreaterThanOrEqual(1);
        const got = files.flatMap((f) => tsharkFrames(join(dir, f)).map((x) => x.hex));
        const captured = Number(/(\d+) frames captured/.exec(k.err())![1]);
        expect(got.length).toBe(captured);
        // What was captured is what was sent, in order, from the start.
        expect(got).toEqual(sent.slice(0, captured).map((b) => b.toString('hex')));
      } finally {
        k.kill();
      }
    });
  },
  ['tshark'],
);
