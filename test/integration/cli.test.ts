// The kring CLI, run as a user would, against frames sent over a veth pair.
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describePrivileged } from '../helpers/privileged';
import { buildFrame, TEST_ETHERTYPE, useVethPair } from '../helpers/traffic';

const KRING = join(__dirname, '..', '..', 'bin', 'kring.js');

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
  it('exits 2 with the usage on a bad option, before opening anything', () => {
    const r = spawnSync(process.execPath, [KRING, 'capture', '-i', 'lo', '--ring', 'v9'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^kring: --ring must be v1, v2 or v3, got "v9"\nusage:/);
    const r2 = spawnSync(process.execPath, [KRING, 'capture', '-i', 'lo', '-c', '0'], { encoding: 'utf8' });
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--count must be a positive integer, got "0"/);
    const r3 = spawnSync(process.execPath, [KRING, 'frobnicate'], { encoding: 'utf8' });
    expect(r3.status).toBe(2);
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
    const lines = p.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(5);
    lines.forEach((j, i) => {
      expect(Object.keys(j)).toEqual(['ts', 'len', 'caplen', 'ifindex', 'pkttype', 'protocol', 'vlan', 'hex']);
      expect(j).toMatchObject({ len: 100 + i, caplen: 100 + i, ifindex: env.t.capIfindex, pkttype: 'host', protocol: TEST_ETHERTYPE, vlan: null });
      expect(j.hex).toBe(sent[i].subarray(0, 32).toString('hex'));
      expect(j.ts).toMatch(/^\d{10}\.\d{9}$/);
    });
    expect(p.err()).toMatch(/5 frames captured, 0 dropped by the kernel\n$/);
  });

  it('--quiet prints ready, and on SIGINT captured=N kpkts=N kdrops=N (the bench contract)', async () => {
    const p = run(['capture', '-i', env.t.capIf, '--netns', env.t.capNs, '--quiet', '--buffer-mb', '2']);
    await p.waitFor('stdout', 'ready\n');
    expect(env.sender.send(frames(500, 60))).toBe(500);
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(p.out()).toBe('ready\ncaptured=500 kpkts=500 kdrops=0\n');
  });

  it('a missing interface exits 1 with the RingError message', () => {
    const r = spawnSync(process.execPath, [KRING, 'capture', '-i', 'kring-nope0', '--netns', env.t.capNs], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('kring: ioctl(SIOCGIFINDEX): ENODEV, No such device\n');
  });
});
