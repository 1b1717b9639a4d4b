// The packed tarball installs and loads in a fresh project three ways: a normal install, with
// --ignore-scripts, and with no C compiler on PATH. It carries a prebuilt addon for this platform
// (prebuildify, loaded by node-gyp-build), so none of them compiles.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('the packed tarball', () => {
  let work: string;
  let tarball: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'kring-install-'));
    // dist/ is built (npm test's pretest); the prebuilt addon goes to prebuilds/ (git-ignored).
    execFileSync('npm', ['run', '-s', 'build:prebuilds'], { cwd: ROOT, stdio: 'ignore' });
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
    tarball = join(work, JSON.parse(out)[0].filename);
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('carries a prebuilt addon for linux-x64 and, cross-built, linux-arm64 (ELF e_machine checked)', () => {
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    const machine = (arch: string) => {
      const elf = execFileSync('tar', ['xzf', tarball, '-O', `package/prebuilds/linux-${arch}/kring.node`], { maxBuffer: 64 << 20 });
      expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      return elf.readUInt16LE(18); // e_machine
    };
    expect(listing).toEqual(expect.arrayContaining(['package/prebuilds/linux-x64/kring.node', 'package/prebuilds/linux-arm64/kring.node']));
    expect(machine('x64')).toBe(62); // EM_X86_64
    expect(machine('arm64')).toBe(183); // EM_AARCH64
  });

  it("leaves the checkout's own build alone: build/Release still holds this machine's addon", () => {
    // prebuildify builds in ./build; run in the checkout, the arm64 build replaced the addon every
    // process here loads first (node-gyp-build prefers build/Release to prebuilds/).
    expect(readFileSync(join(ROOT, 'build', 'Release', 'kring.node')).readUInt16LE(18)).toBe(62); // EM_X86_64
    expect(
      execFileSync(process.execPath, ['-p', `typeof require(${JSON.stringify(join(ROOT, 'build', 'Release', 'kring.node'))}).krGather`], { encoding: 'utf8' }),
    ).toBe('function\n');
  });

  // A PATH with node and npm only: no cc, g++, make or python to build with.
  function bareBin(): string {
    const bin = join(work, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['node', 'npm', 'npx', 'sh', 'env']) {
      const where = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      try {
        symlinkSync(where, join(bin, tool));
      } catch {
        // made by an earlier case
      }
    }
    return bin;
  }

  it.each([
    ['a normal install', [], null],
    ['--ignore-scripts', ['--ignore-scripts'], null],
    ['no compiler on PATH', [], 'bare'],
  ] as const)('%s: require and import load it, and kring --version prints the version', (name, flags, path) => {
    const project = join(work, name.replace(/\W+/g, '-'));
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    const env = { ...process.env, ...(path ? { PATH: bareBin() } : {}) };
    if (path) expect(() => execFileSync('sh', ['-c', 'command -v cc || command -v g++ || command -v make'], { env })).toThrow();
    execFileSync('npm', ['install', '--no-audit', '--no-fund', ...flags, tarball], { cwd: project, env, stdio: 'ignore' });
    const run = (args: string[]) => execFileSync('node', args, { cwd: project, env, encoding: 'utf8' });
    expect(run(['-e', "const k = require('kring'); console.log(typeof k.PacketSocket.open, typeof k.routes)"])).toBe('function function\n');
    expect(run(['--input-type=module', '-e', "const k = await import('kring'); console.log(typeof k.NfQueue.open)"])).toBe('function\n');
    expect(run([join(project, 'node_modules', '.bin', 'kring'), '--version'])).toBe(`kring ${version}\n`);
  });
});
