#!/usr/bin/env node
// `npm run bench:dump`: a large IPv4 route dump read by the project's C recvmsg reader
// (bench/c/nldump.c), by kring (raw batches, message copies, typed routes streamed and retained,
// the CLI's --count), and by `ip -j route show`,
// in the same run, in a namespace this script fills and removes. Wall time of each whole process
// (start-up included), median of --reps interleaved rounds after a warm-up round, and peak RSS.
//   npm run bench:dump [-- --routes 1000000 --reps 5 --write]
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { HERE, WORK, buildC, writeTable } = require('./lib');

const { values: opt } = parseArgs({
  options: { routes: { type: 'string', default: '1000000' }, reps: { type: 'string', default: '5' }, write: { type: 'boolean', default: false } },
});
const ROUTES = Number(opt.routes);
const REPS = Number(opt.reps);
const NS = `kring-bench-dump-${process.pid.toString(36)}`;

function setup() {
  buildC(['nldump']);
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'kbd0', 'type', 'veth', 'peer', 'name', 'kbd1']);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'kbd0', 'up']);
  execFileSync('ip', ['-n', NS, 'addr', 'add', '10.0.0.1/8', 'dev', 'kbd0']);
  // Routes as /32s under 11.0.0.0/8 and up, via the veth's subnet, fed to ip -batch in slices.
  const lines = [];
  for (let i = 0; i < ROUTES; i++) lines.push(`route add ${11 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}/32 via 10.0.0.2`);
  for (let i = 0; i < lines.length; i += 200000)
    execFileSync('ip', ['-n', NS, '-batch', '-'], { input: lines.slice(i, i + 200000).join('\n'), maxBuffer: 1 << 26 });
}

// Wall time and peak RSS of one whole process: python3 (on every machine node-gyp builds on) runs
// it and reads the child's rusage, which Node's spawnSync does not expose.
const MEASURE = `import resource, subprocess, sys, time
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
wall = (time.perf_counter() - t0) * 1000
sys.stdout.buffer.write(r.stdout)
sys.stderr.write('\\nKRING_MEASURE %f %d %d\\n' % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode))`;

function time(cmd, args) {
  const r = spawnSync('python3', ['-c', MEASURE, cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = /KRING_MEASURE (\S+) (\d+) (-?\d+)/.exec(r.stderr);
  if (!m || m[3] !== '0') throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return { wall: Number(m[1]), rssMiB: Number(m[2]) / 1024, out: r.stdout };
}

const kring = (mode) => () => [process.execPath, [path.join(HERE, 'kring-dump.js'), mode, NS]];
const READERS = {
  'C recvmsg, 32 KiB buffer': () => ['ip', ['netns', 'exec', NS, path.join(WORK, 'nldump')]],
  'kring dumpBatches(), records in place': kring('batch'),
  'kring dump(), a message copy per record': kring('stream'),
  'kring routes(), a typed Route per emission (streamed)': kring('routes'),
  'kring getRoutes(), every Route kept (retained)': kring('retain'),
  'kring routes --count (CLI)': () => [
    process.execPath,
    [path.join(HERE, '..', 'bin', 'kring.js'), 'routes', '--count', '--table', 'all', '-4', '--netns', NS],
  ],
  'ip -j route show': () => ['ip', ['-n', NS, '-j', 'route', 'show']],
};

function main() {
  if (process.getuid() !== 0) throw new Error('the benchmark needs root (network namespaces)');
  setup();
  try {
    // Rounds interleave the readers (C, kring..., ip, then again), so drift of this shared VM
    // (and the kernel's leftover work from filling the table) falls on every reader alike; the
    // first round is a warm-up and is not counted.
    const rows = Object.keys(READERS).map((name) => ({ name, walls: [], count: null, rss: 0 }));
    for (let round = 0; round <= REPS; round++) {
      for (const row of rows) {
        const [cmd, args] = READERS[row.name]();
        const { wall, rssMiB, out } = time(cmd, args);
        const m = /routes=(\d+)/.exec(out);
        row.count = m ? Number(m[1]) : JSON.parse(out).length;
        if (round === 0) continue;
        row.walls.push(wall);
        row.rss = Math.max(row.rss, rssMiB);
      }
    }
    for (const row of rows) row.wall = row.walls.sort((a, b) => a - b)[Math.floor(row.walls.length / 2)];
    const ref = rows[0].wall;
    const table = [
      '| reader | routes | wall | vs C | peak RSS |',
      '|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.name} | ${r.count} | ${r.wall.toFixed(0)} ms | ${(r.wall / ref).toFixed(2)}× | ${r.rss.toFixed(0)} MiB |`),
    ].join('\n');
    const stamp = `${new Date().toISOString().slice(0, 10)}, ${ROUTES} IPv4 routes (plus the connected and local ones), median of ${REPS} interleaved rounds after a warm-up round, whole-process wall time including start-up`;
    process.stdout.write(`${stamp}\n\n${table}\n`);
    if (opt.write) writeTable('dump', stamp, table);
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
}

process.on('SIGINT', () => {
  spawnSync('ip', ['netns', 'del', NS]);
  process.exit(130);
});
main();
