// The kring CLI, run as a user would, against frames sent over a veth pair.
import { constants as bufferConstants } from 'node:buffer';
import { ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNamespace, ipBatch } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { scratchDir, startTcpdump } from '../helpers/tcpdump';
import { buildFrame, Sender, sleep, TEST_ETHERTYPE, until, useVethPair } from '../helpers/traffic';

const KRING = join(__dirname, '..', '..', 'bin', 'kring.js');

// The whole records of a (little-endian) pcap file written so far: its 24-byte header, then per
// record 16 bytes whose third word is the captured length, then that many bytes.
function pcapRecords(file: string): number {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch {
    return 0; // not created yet
  }
  let n = 0;
  for (let at = 24; at + 16 <= b.length && at + 16 + b.readUInt32LE(at + 8) <= b.length; at += 16 + b.readUInt32LE(at + 8)) n++;
  return n;
}

function run(args: string[]) {
  const child = spawn(process.execPath, [KRING, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const waitFor = async (stream: 'stdout' | 'stderr', text: string) => {
    const deadline = Date.now() + 10000;
    while (!(stream === 'stdout' ? stdout : stderr).includes(text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${text}: ${stdout} ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { child: child as ChildProcessWithoutNullStreams, exited, waitFor, out: () => stdout, err: () => stderr };
}

describe('kring CLI usage errors', () => {
  it('exits 2 with one line naming the problem and where the usage is, before opening anything', () => {
    const r = spawnSync(process.execPath, [KRING, 'capture', '-i', 'lo', '--ring', 'v9'], { encoding: 'utf8' });
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', 'kring: --ring must be v1, v2 or v3, got "v9"\nsee kring capture --help\n']);
    const unknownOption = spawnSync(process.execPath, [KRING, 'links', '--frobnicate'], { encoding: 'utf8' });
    expect([unknownOption.status, unknownOption.stderr.split('\n')[1]]).toEqual([2, 'see kring links --help']);
    const r2 = spawnSync(process.execPath, [KRING, 'capture', '-i', 'lo', '-c', '0'], { encoding: 'utf8' });
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--count must be a positive integer, got "0"/);
    const r3 = spawnSync(process.execPath, [KRING, 'frobnicate'], { encoding: 'utf8' });
    expect([r3.status, r3.stderr]).toEqual([2, 'kring: unknown command "frobnicate"\nsee kring help\n']);
    for (const [args, message] of [
      [['--queue', '70000'], 'nfqueue needs --queue N, a queue number 0..65535, got "70000"'],
      [[], 'nfqueue needs --queue N, a queue number 0..65535, got undefined'],
      [['--queue', '1', '--verdict', 'maybe'], '--verdict must be accept or drop, got "maybe"'],
      [['--queue', '1', '--mark', '0x100000000'], '--mark must be a 32-bit number, got "0x100000000"'],
    ] as const) {
      const r4 = spawnSync(process.execPath, [KRING, 'nfqueue', ...args], { encoding: 'utf8' });
      expect([r4.status, r4.stderr.split('\n')[0]]).toEqual([2, `kring: ${message}`]);
    }
  });
});

describePrivileged('kring capture', () => {
  const env = useVethPair();
  const frames = (n: number, size = 100) => Array.from({ length: n }, (_, seq) => buildFrame(env.t.capMac, env.t.genMac, { seq, size: size + seq }).untagged);

  it.each(['v1', 'v2', 'v3'])('--json -c 5 --ring %s prints one JSON line per frame and a summary', async (ring) => {
    const p = run(['capture', '-i', env.t.capIf, '--netns', env.t.capNs, '--ring', ring, '-c', '5', '--json']);
    await p.waitFor('stderr', 'listening on');
    const sent = frames(8);
    env.sender.send(sent);
    expect(await p.exited).toBe(0);
    const lines = p
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBe(5);
    lines.forEach((j, i) => {
      expect(Object.keys(j)).toEqual(['ts', 'len', 'caplen', 'ifindex', 'interface', 'pkttype', 'protocol', 'vlan', 'hex']);
      // The interface by the name ip gives its index in that namespace.
      expect(j).toMatchObject({
        len: 100 + i,
        caplen: 100 + i,
        ifindex: env.t.capIfindex,
        interface: env.t.capIf,
        pkttype: 'host',
        protocol: TEST_ETHERTYPE,
        vlan: null,
      });
      expect(j.hex).toBe(sent[i].subarray(0, 32).toString('hex'));
      expect(j.ts).toMatch(/^\d{10}\.\d{9}$/);
    });
    expect(p.err()).toMatch(/5 frames captured, 0 dropped by the kernel\n$/);
  });

  it('text: a line per frame naming the interface, kept current when it is renamed (-i any, RTM_NEWLINK)', async () => {
    const { t, sender } = env;
    const p = run(['capture', '-i', 'any', '--netns', t.capNs, '-c', '2', 'not ip and not ip6 and not arp']);
    await p.waitFor('stderr', 'listening on');
    sender.send(frames(1));
    await until(() => p.out().split('\n').length > 1);
    const renamed = `${t.capIf.slice(0, 12)}rn`;
    execFileSync('ip', ['-n', t.capNs, 'link', 'set', t.capIf, 'down']);
    execFileSync('ip', ['-n', t.capNs, 'link', 'set', t.capIf, 'name', renamed]);
    execFileSync('ip', ['-n', t.capNs, 'link', 'set', renamed, 'up']);
    try {
      await sleep(100);
      sender.send(frames(1));
      expect(await p.exited).toBe(0);
      const lines = p.out().trim().split('\n');
      expect(lines).toEqual([
        expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{9} ${t.capIf} In ethertype 0x88b5, length 86$`)),
        expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{9} ${renamed} In ethertype 0x88b5, length 86$`)),
      ]);
    } finally {
      execFileSync('ip', ['-n', t.capNs, 'link', 'set', renamed, 'down']);
      execFileSync('ip', ['-n', t.capNs, 'link', 'set', renamed, 'name', t.capIf]);
      execFileSync('ip', ['-n', t.capNs, 'link', 'set', t.capIf, 'up']);
    }
  });

  it('--quiet prints ready, reads every frame, and on SIGINT captured=N kpkts=N kdrops=N (the bench contract)', async () => {
    for (const ring of ['v2', 'v3']) {
      const p = run(['capture', '-i', env.t.capIf, '--netns', env.t.capNs, '--quiet', '--buffer-mb', '2', '--ring', ring]);
      await p.waitFor('stdout', 'ready\n');
      const sent = frames(500, 60);
      expect(env.sender.send(sent)).toBe(500);
      await new Promise((r) => setTimeout(r, 200));
      p.child.kill('SIGINT');
      expect(await p.exited).toBe(0);
      // sum: every frame's wire length, captured length and first byte, from the bytes sent.
      const sum = sent.reduce((n, f) => n + 2 * f.length + f[0], 0);
      expect(p.out()).toBe(`ready\ncaptured=500 kpkts=500 kdrops=0 sum=${sum}\n`);
    }
  });

  it('a missing interface exits 1 with the RingError message', () => {
    const r = spawnSync(process.execPath, [KRING, 'capture', '-i', 'kring-nope0', '--netns', env.t.capNs], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`kring: ioctl(SIOCGIFINDEX): ENODEV, no interface named kring-nope0 in network namespace /run/netns/${env.t.capNs}\n`);
    // The namespace, named, for the rtnetlink commands and the capture alike.
    for (const args of [['links'], ['capture', '-i', 'lo']]) {
      const n = spawnSync(process.execPath, [KRING, ...args, '--netns', 'kring-no-such-netns'], { encoding: 'utf8' });
      expect([n.status, n.stderr]).toEqual([1, 'kring: open(/run/netns/kring-no-such-netns): ENOENT, no such network namespace\n']);
    }
  });
});

describe('kring capture --buffer-mb', () => {
  it('past the largest ArrayBuffer is a usage error naming the limit (it used to wrap through a 32-bit shift)', () => {
    const max = Math.floor(bufferConstants.MAX_LENGTH / 2 ** 20);
    const r = spawnSync(process.execPath, [KRING, 'capture', '-i', 'lo', '--buffer-mb', String(max + 1)], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `kring: --buffer-mb must be at most ${max} (the ring is mapped as one ArrayBuffer, at most buffer.constants.MAX_LENGTH bytes), got ${max + 1}`,
    );
  });
});

describePrivileged('kring capture --buffer-mb sizes the ring in MiB', () => {
  const env = useVethPair();
  it('--buffer-mb 3 maps 3 MiB', async () => {
    const p = run(['capture', '-i', env.t.capIf, '--netns', env.t.capNs, '--buffer-mb', '3']);
    await p.waitFor('stderr', 'listening on');
    p.child.kill('SIGINT');
    await p.exited;
    expect(p.err()).toMatch(new RegExp(`listening on ${env.t.capIf}, TPACKET_V3 ring of ${3 * 2 ** 20} bytes`));
  });
});

describePrivileged('kring routes --table as ip route show table', () => {
  let ns: string;
  let destroy: () => void;
  beforeAll(() => {
    ({ ns, destroy } = createNamespace());
    ipBatch(ns, [
      'link add r0 type veth peer name r1',
      'link set r0 up',
      'addr add 10.0.0.1/16 dev r0',
      'route add 20.0.0.0/8 via 10.0.0.2 table 100',
      'route add 21.0.0.0/8 via 10.0.0.2',
    ]);
  });
  afterAll(() => destroy?.());
  const ipOut = (args: string[]) => spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });

  it("-n NS is --netns NS (iproute2's spelling): the same listing as ip -n NS", () => {
    const ip = ipOut(['-j', 'link', 'show']);
    const short = spawnSync(process.execPath, [KRING, 'links', '--json', '-n', ns], { encoding: 'utf8' });
    const long = spawnSync(process.execPath, [KRING, 'links', '--json', '--netns', ns], { encoding: 'utf8' });
    expect([short.status, long.status]).toEqual([0, 0]);
    expect(short.stdout).toBe(long.stdout);
    expect(JSON.parse(short.stdout).map((l: { ifname: string }) => l.ifname)).toEqual(JSON.parse(ip.stdout).map((l: { ifname: string }) => l.ifname));
  });

  it('--table 0 lists every table of both families, as ip does', () => {
    for (const fam of [[], ['-6']]) {
      const ip = ipOut([...fam, 'route', 'show', 'table', '0']);
      const k = spawnSync(process.execPath, [KRING, 'routes', ...fam, '--table', '0', '--netns', ns], { encoding: 'utf8' });
      expect(k.status).toBe(0);
      expect(k.stdout).toBe(
        ip.stdout
          .split('\n')
          .map((l) => l.trimEnd())
          .join('\n'),
      );
      expect(k.stdout).toMatch(fam.length ? /^local ::1 dev lo table local/ : /20\.0\.0\.0\/8 via 10\.0\.0\.2 dev r0 table 100/);
    }
  });

  it("--table default (absent here) fails as ip fails: the kernel's reason, exit 2", () => {
    const ip = ipOut(['route', 'show', 'table', 'default']);
    const k = spawnSync(process.execPath, [KRING, 'routes', '--table', 'default', '--netns', ns], { encoding: 'utf8' });
    expect([k.status, ip.status]).toEqual([2, 2]);
    // ip prints "Error: " and the extended ACK, ending it with a period, then "Dump terminated".
    const reason = ip.stderr.split('\n')[0].replace(/^Error: /, '');
    expect(reason).toBe('ipv4: FIB table does not exist.');
    expect(ip.stderr.split('\n')[1]).toBe('Dump terminated');
    expect(k.stderr).toBe(`kring: table default: ${reason}\n`);
    expect(k.stdout).toBe('');
  });
});

describe('kring CLI conventions', () => {
  const kring = (...args: string[]) => spawnSync(process.execPath, [KRING, ...args], { encoding: 'utf8' });
  it('--version prints the package version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { version } = require('../../package.json') as { version: string };
    for (const flag of ['--version', '-V']) expect(kring(flag)).toMatchObject({ status: 0, stdout: `kring ${version}\n`, stderr: '' });
  });

  it('help, help COMMAND and COMMAND --help print to stdout and exit 0', () => {
    const all = kring('help');
    expect([all.status, all.stderr]).toEqual([0, '']);
    expect(all.stdout).toMatch(/^usage:\n {2}kring routes /);
    for (const command of ['capture', 'send', 'nfqueue', 'monitor', 'routes']) {
      const help = kring('help', command);
      expect([help.status, help.stderr]).toEqual([0, '']);
      expect(help.stdout.split('\n')[1]).toMatch(new RegExp(`^ {2}kring ${command === 'routes' ? 'routes' : command} `));
      for (const flag of ['--help', '-h']) expect(kring(command, flag)).toMatchObject({ status: 0, stdout: help.stdout, stderr: '' });
    }
    expect(kring('help', 'frobnicate')).toMatchObject({ status: 2, stdout: '', stderr: 'kring: no help for "frobnicate": not a command\nsee kring help\n' });
  });

  it('no command prints the usage on stderr and exits 2', () => {
    const r = kring();
    expect([r.status, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(/^usage:\n/);
  });
});

describe('kring send usage errors', () => {
  it.each([
    [['-r', 'x.pcap'], 'send needs -i IFACE'],
    [['-i', 'lo'], 'send needs -r FILE'],
    [['-i', 'lo', '-r', 'x.pcap', '--loop', '0'], '--loop must be a positive integer, got "0"'],
    [['-i', 'lo', '-r', 'x.pcap', '--ring', 'v4'], '--ring must be v1, v2 or v3, got "v4"'],
  ])('kring send %j exits 2: %s', (args, message) => {
    const r = spawnSync(process.execPath, [KRING, 'send', ...args], { encoding: 'utf8' });
    expect([r.status, r.stderr.split('\n')[0]]).toEqual([2, `kring: ${message}`]);
  });
});

describePrivileged(
  'kring send replays a tcpdump capture',
  () => {
    const env = useVethPair();
    // A pcap written here from the format: global header, then one record per frame.
    const pcapOf = (frames: Buffer[], linktype: number) => {
      const head = Buffer.alloc(24);
      head.writeUInt32LE(0xa1b2c3d4, 0);
      head.writeUInt16LE(2, 4);
      head.writeUInt16LE(4, 6);
      head.writeUInt32LE(65535, 16);
      head.writeUInt32LE(linktype, 20);
      const recs = frames.map((f) => {
        const h = Buffer.alloc(16);
        h.writeUInt32LE(f.length, 8);
        h.writeUInt32LE(f.length, 12);
        return Buffer.concat([h, f]);
      });
      const file = join(scratchDir(), 'frames.pcap');
      writeFileSync(file, Buffer.concat([head, ...recs]));
      return file;
    };

    it.each([
      ['µs', false],
      ['ns', true],
    ])('a %s pcap written by tcpdump goes out frame for frame: a tcpdump on the peer sees the same bytes', async (_n, nano) => {
      const n = 40;
      const frames = Array.from({ length: n }, (_, seq) => buildFrame(env.t.capMac, env.t.genMac, { seq, size: 60 + seq * 37 }).wire);
      // Record: tcpdump on the generator side while frames come in from the capture side.
      const back = new Sender(env.t.capNs, env.t.capIf);
      const rec = await startTcpdump(env.t.genNs, env.t.genIf, { count: n, filter: ['ether', 'proto', String(TEST_ETHERTYPE)], nano });
      back.send(frames);
      back.close();
      await rec.done;
      // Replay on the generator side; a second tcpdump on the capture side is the witness.
      const seen = await startTcpdump(env.t.capNs, env.t.capIf, { count: 2 * n, filter: ['ether', 'proto', String(TEST_ETHERTYPE)] });
      const r = spawnSync(
        process.execPath,
        [KRING, 'send', '-i', env.t.genIf, '-r', rec.file, '--netns', env.t.genNs, '--loop', '2', '--batch', '16', '--quiet'],
        { encoding: 'utf8' },
      );
      expect([r.status, r.stdout, r.stderr]).toEqual([0, `sent=${2 * n}\n`, '']);
      const late = setTimeout(() => seen.stop(), 5000);
      await seen.done;
      clearTimeout(late);
      // tcpdump reads both files: the replay is the recording twice over, byte for byte.
      const bytes = (file: string) =>
        spawnSync('tcpdump', ['-r', file, '-xx', '-n'], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter((l) => l.startsWith('\t'))
          .join('\n');
      const recorded = bytes(rec.file);
      expect(recorded.length).toBeGreaterThan(0);
      expect(bytes(seen.file)).toBe(`${recorded}\n${recorded}`);
    });

    it('reports what it sent and the rate; a file that is not Ethernet, or not a capture, is refused', () => {
      const frames = Array.from({ length: 5 }, (_, seq) => buildFrame(env.t.capMac, env.t.genMac, { seq, size: 100 }).wire);
      const ok = spawnSync(process.execPath, [KRING, 'send', '-i', env.t.genIf, '-r', pcapOf(frames, 1), '--netns', env.t.genNs], { encoding: 'utf8' });
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/^5 frames sent in \d+\.\d{3} s \(\d+ frames\/s\)\n$/);
      // --pps paces: 20 frames at 50 per second take at least 19 intervals of 20 ms.
      const paced = spawnSync(
        process.execPath,
        [KRING, 'send', '-i', env.t.genIf, '-r', pcapOf(frames, 1), '--netns', env.t.genNs, '--loop', '4', '--pps', '50'],
        {
          encoding: 'utf8',
        },
      );
      const secs = Number(/in (\d+\.\d+) s/.exec(paced.stdout)?.[1]);
      expect(paced.stdout).toMatch(/^20 frames sent in /);
      expect(secs).toBeGreaterThanOrEqual(0.38);
      expect(secs).toBeLessThan(1.5);
      const sll = spawnSync(process.execPath, [KRING, 'send', '-i', env.t.genIf, '-r', pcapOf(frames, 113), '--netns', env.t.genNs], { encoding: 'utf8' });
      expect(sll.status).toBe(1);
      expect(sll.stderr.split('\n')[0]).toMatch(/: record at byte 24 has link type 113; kring send replays Ethernet frames \(link type 1\)$/);
      const text = join(scratchDir(), 'notes.txt');
      writeFileSync(text, 'hello, this is not a capture\n');
      const junk = spawnSync(process.execPath, [KRING, 'send', '-i', env.t.genIf, '-r', text, '--netns', env.t.genNs], { encoding: 'utf8' });
      expect([junk.status, junk.stderr.split('\n')[0]]).toEqual([1, 'kring: capture file, byte 0: not a pcap or pcapng file (first word 0x68656c6c)']);
    });

    it('SIGINT ends a long replay at once: exit 0, and sent=N is what a tcpdump on the peer saw', async () => {
      const frames = Array.from({ length: 5 }, (_, seq) => buildFrame(env.t.capMac, env.t.genMac, { seq, size: 100 }).wire);
      const seen = await startTcpdump(env.t.capNs, env.t.capIf, { filter: ['ether', 'proto', String(TEST_ETHERTYPE)] });
      // 5,000 frames at 200 per second: 25 s, were it not interrupted.
      const args = ['send', '-i', env.t.genIf, '-r', pcapOf(frames, 1), '--netns', env.t.genNs, '--loop', '1000', '--pps', '200', '--quiet'];
      const child = spawn(process.execPath, [KRING, ...args]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('close', r));
      let stopped = false;
      try {
        // Under way: the witness has 20 frames (the CLI starts slowly under the sanitizers).
        await until(() => pcapRecords(seen.file) >= 20, 20_000);
        const t0 = Date.now();
        child.kill('SIGINT');
        expect(await exited).toBe(0);
        expect(Date.now() - t0).toBeLessThan(2000);
        const sent = Number(/^sent=(\d+)\n$/.exec(out)?.[1]);
        expect(sent).toBeGreaterThanOrEqual(20);
        expect(sent).toBeLessThan(1000);
        await sleep(100);
        seen.stop();
        stopped = true;
        await seen.done;
        expect(pcapRecords(seen.file)).toBe(sent);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (!stopped) {
          seen.stop();
          await seen.done.catch(() => undefined);
        }
      }
    });
  },
  ['tcpdump'],
);
