#!/usr/bin/env node
// `npm run bench:latency`: the time from the kernel's timestamp of a frame to kring's subscriber,
// at a low rate (1,000 UDP packets per second by default), for TPACKET_V3 block timeouts and for
// V2 (one wake-up per frame); and, beside it, what each timeout costs at saturation (CPU per frame
// of a batches() reader, as in `npm run bench`). A V3 block is handed over when it is full or when
// its timeout retires it: at a low rate every frame waits for the timeout.
//
//   npm run bench:latency [-- --rate 1000 --count 3000 --timeouts 1,2,4,8 --reps 3 --write]
//
// The reader runs on CPU 1, the sender (bench/c/udpgen.c, paced) on CPU 0, in two namespaces
// joined by a veth pair. --write replaces the table in docs/benchmarks.md. Needs root and gcc.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const { HERE, WORK, sh, sleep, median, buildC, vethPair, cpuNs, startReady, writeTable } = require('./lib');
const { DEFAULT_BLOCK_TIMEOUT_MS } = require('../dist/packet/options');

const { values: opt } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    count: { type: 'string', default: '3000' },
    timeouts: { type: 'string', default: '1,2,4,8' },
    reps: { type: 'string', default: '3' },
    'saturation-count': { type: 'string', default: '1000000' },
    write: { type: 'boolean', default: false },
  },
});
const RATE = Number(opt.rate);
const COUNT = Number(opt.count);
const REPS = Number(opt.reps);
const SAT = Number(opt['saturation-count']);
const CONFIGS = [
  ...opt.timeouts
    .split(',')
    .map((t) => ({ name: `V3, block timeout ${t} ms${Number(t) === DEFAULT_BLOCK_TIMEOUT_MS ? ' (default)' : ''}`, version: 'v3', timeout: t })),
  { name: 'V2 (a wake-up per frame)', version: 'v2', timeout: 'default' },
];

let T;

// p50/p99/max at RATE packets per second.
async function latency(c) {
  const warm = Math.max(200, RATE / 5); // the JIT, the first blocks: not measured
  const r = await startReady(T.capNs, 1, [process.execPath, path.join(HERE, 'kring-latency.js'), T.capIf, c.version, c.timeout, String(warm)]);
  const udp = (n) => sh('ip', ['netns', 'exec', T.genNs, 'taskset', '-c', '0', path.join(WORK, 'udpgen'), '198.18.0.2', '9', String(n), '64', String(RATE)]);
  udp(warm);
  udp(COUNT);
  await sleep(100);
  const out = await r.stop();
  const f = (k) => Number(new RegExp(`${k}=([\\d.]+)`).exec(out)[1]);
  return { frames: f('frames'), p50: f('p50'), p99: f('p99'), max: f('max') };
}

// CPU per frame of a batches() reader at the veth's saturation (64-byte frames), as bench/run.js.
async function saturation(c) {
  const r = await startReady(T.capNs, 1, [process.execPath, path.join(HERE, 'kring-reader.js'), 'batches', T.capIf, '8', c.version, c.timeout]);
  const gen = (n) => sh('ip', ['netns', 'exec', T.genNs, 'taskset', '-c', '0', path.join(WORK, 'afgen'), T.genIf, String(n), '64']);
  gen(300000);
  await sleep(300);
  const cpu0 = cpuNs(r.pid);
  gen(SAT);
  await sleep(300);
  const cpu1 = cpuNs(r.pid);
  const out = await r.stop();
  const captured = Number(/captured=(\d+)/.exec(out)[1]);
  const batches = Number(/batches=(\d+)/.exec(out)[1]);
  // Lost: the kernel's own count of frames it could not put in the ring.
  return { cpu: (cpu1 - cpu0) / SAT, perBatch: captured / Math.max(1, batches), lost: Number(/kdrops=(\d+)/.exec(out)[1]) };
}

async function main() {
  if (process.getuid() !== 0) throw new Error('the benchmark needs root (network namespaces, AF_PACKET)');
  buildC(['udpgen', 'afgen']);
  T = vethPair('lat', { ipv6: false });
  sh('ip', ['-n', T.genNs, 'addr', 'add', '198.18.0.1/24', 'dev', T.genIf]);
  sh('ip', ['-n', T.capNs, 'addr', 'add', '198.18.0.2/24', 'dev', T.capIf]);
  const rows = [];
  try {
    for (const c of CONFIGS) {
      const ls = [];
      const ss = [];
      for (let rep = 0; rep < REPS; rep++) {
        ls.push(await latency(c));
        ss.push(await saturation(c));
      }
      rows.push({
        name: c.name,
        frames: median(ls.map((l) => l.frames)),
        p50: median(ls.map((l) => l.p50)),
        p99: median(ls.map((l) => l.p99)),
        max: Math.max(...ls.map((l) => l.max)),
        cpu: median(ss.map((s) => s.cpu)),
        perBatch: median(ss.map((s) => s.perBatch)),
        lost: ss.reduce((n, s) => n + s.lost, 0),
      });
    }
  } finally {
    T.down();
  }
  const table = [
    `| ring | latency p50 | p99 | max | frames seen | CPU per frame at saturation | frames per batch | dropped at saturation (kernel) |`,
    `|---|---|---|---|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.max.toFixed(2)} ms | ${r.frames} | ${r.cpu.toFixed(0)} ns | ${r.perBatch.toFixed(0)} | ${r.lost} |`,
    ),
  ].join('\n');
  const stamp = `${new Date().toISOString().slice(0, 10)}, latency: ${COUNT} UDP packets at ${RATE}/s (64 B); saturation: ${SAT} 64-byte frames, 8 MiB rings; median of ${REPS} runs, Linux ${sh('uname', ['-r']).trim()}, Node ${process.version}`;
  process.stdout.write(`${stamp}\n\n${table}\n`);
  if (opt.write) writeTable('latency', stamp, table);
}

main().catch((e) => {
  T?.down();
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
