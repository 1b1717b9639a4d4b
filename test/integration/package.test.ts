// The package as npm would publish it: its file list, and its types as a TypeScript consumer sees
// them under each module resolution (node10, node16, bundler).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('the published package', () => {
  it('npm pack ships the build, the native sources, the docs and LICENSE, and nothing else', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
    for (const needed of [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/kring.js',
      'binding.gyp',
      'native/kring.cc',
      'native/kring.h',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'dist/nfqueue/worker.js',
      'dist/packet/fanout-worker.js',
      'docs/api.md',
    ]) {
      expect(files).toContain(needed);
    }
    const stray = files.filter(
      (f) =>
        f.endsWith('.map') ||
        /^(test|bench|src|build|node_modules|\.ci)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        /tsconfig|jest\.config|eslint\.config/.test(f),
    );
    expect(stray).toEqual([]);
  });

  it.each([
    ['node10', 'commonjs'],
    ['node16', 'node16'],
    ['bundler', 'esnext'],
  ])('a TypeScript consumer compiles with --strict under moduleResolution %s', (resolution, module) => {
    const dir = mkdtempSync(join(tmpdir(), 'kring-consumer-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(ROOT, join(dir, 'node_modules', 'kring'), 'dir');
      writeFileSync(
        join(dir, 'consumer.ts'),
        [
          "import { PacketSocket, PacketWriter, routes, RouteTable, NfQueue, FanoutWorkers, readCaptureFile, RingError, AF_INET } from 'kring';",
          "import { simulateKernel } from 'kring/testing';",
          'export function main(): void {',
          "  const sock = PacketSocket.open({ interface: 'eth0', rx: false, tx: { batch: 32 } });",
          '  const w: PacketWriter = sock.writer;',
          '  w.write(new Uint8Array(60));',
          '  routes({ family: AF_INET }).subscribe((r) => console.log(r.dst, r.gateway));',
          '  const sim = simulateKernel("4.5");',
          '  sim.restore();',
          '  void RouteTable; void NfQueue; void FanoutWorkers; void readCaptureFile;',
          '  const e: unknown = null;',
          '  if (e instanceof RingError) console.log(e.code, e.errno, e.syscall, e.op);',
          '}',
        ].join('\n'),
      );
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: 'ES2022',
            lib: ['ES2022', 'ESNext.Disposable', 'DOM'],
            module,
            moduleResolution: resolution,
            typeRoots: [join(ROOT, 'node_modules', '@types')],
            types: ['node'],
          },
          files: ['consumer.ts'],
        }),
      );
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
    } catch (e) {
      throw new Error(String((e as { stdout?: string }).stdout ?? e));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
