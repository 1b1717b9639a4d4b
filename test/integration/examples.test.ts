// Every JavaScript example of README.md and docs/ runs as written: each is a whole program, run with
// `require('kring')` resolving to this package, inside a namespace the test creates whose `eth0`
// (one end of a veth pair) sees frames the test sends from the other end while they run. Each must
// exit 0 by itself, with no uncaught exception.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, ipBatch } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { buildFrame, Sender } from '../helpers/traffic';

const ROOT = join(__dirname, '..', '..');

function examples(): { where: string; code: string }[] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) => f.endsWith('.md'));
  const out: { where: string; code: string }[] = [];
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/```(?:js|javascript)\n([\s\S]*?)```/g)) {
      out.push({ where: `${f}:${text.slice(0, m.index).split('\n').length}`, code: m[1] });
    }
  }
  return out;
}

describePrivileged('the examples in README.md and docs/', () => {
  it('every one runs as written and exits 0', async () => {
    const list = examples();
    expect(list.length).toBeGreaterThanOrEqual(8);
    const { ns, destroy } = createNamespace();
    const dir = mkdtempSync(join(tmpdir(), 'kring-examples-'));
    let sender: Sender | null = null;
    let timer: NodeJS.Timeout | null = null;
    try {
      ipBatch(ns, ['link add eth0 type veth peer name eth1', 'link set eth0 up', 'link set eth1 up']);
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(ROOT, join(dir, 'node_modules', 'kring'), 'dir');
      // Traffic for the capture examples: frames into eth0 from its peer, every 10 ms.
      sender = new Sender(ns, 'eth1');
      const frame = buildFrame(Buffer.alloc(6, 0xff), Buffer.from([2, 0, 0, 0, 0, 1]), { seq: 0, size: 100 }).wire;
      timer = setInterval(() => sender?.send(Array(20).fill(frame)), 10);
      const results = await Promise.all(
        list.map(({ where, code }, i) => {
          const file = join(dir, `example${i}.js`);
          writeFileSync(file, code);
          return new Promise<{ where: string; code: number | null; stderr: string }>((resolve) => {
            const child = spawn('ip', ['netns', 'exec', ns, process.execPath, file], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (d) => (stderr += d));
            const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
            child.on('exit', (c) => {
              clearTimeout(kill);
              resolve({ where, code: c, stderr });
            });
          });
        }),
      );
      for (const r of results)
        expect({ where: r.where, code: r.code, uncaught: /^\s+at /m.test(r.stderr) ? r.stderr : null }).toEqual({ where: r.where, code: 0, uncaught: null });
    } finally {
      if (timer) clearInterval(timer);
      sender?.close();
      rmSync(dir, { recursive: true, force: true });
      destroy();
    }
  });
});
