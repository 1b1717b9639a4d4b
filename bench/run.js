#!/usr/bin/env node
// `npm run bench`: CPU per captured frame of kring's readers against the project's own C
// TPACKET_V3 reader, measured in the same run on a veth pair between two namespaces; then the
// transmit table (bench/tx.js: kring's TX ring writer against the C TX-ring sender).
//
//   npm run bench [-- --count 1000000 --warmup 300000 --sizes 64,1500 --reps 3 --ring-mb 8 --rps --write]
//
// --rps steers the capture side's receive softirq (RPS on the veth's queue) to the reader's CPU,
// where the kernel's copy into the ring competes with the reader: loss shows there first. Its
// table is written apart (and the transmit benchmark is not run).
//
// Layout (as in the shared harness): the C generator sends on CPU 0 in one namespace, the reader
// under test runs on CPU 1 in the other. A reader's cost is the on-CPU time of all its threads
// (sum of /proc/PID/task/*/schedstat, ns) between "ready" and the end of the drain, divided by the
// frames it captured. --write replaces the table in docs/benchmarks.md. Needs root and gcc.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { HERE, WORK, sh, sleep, median, buildC, vethPair, cpuNs, startReady, writeTable, frameBenchOptions } = require('./lib');

const { COUNT, WARMUP, SIZES, REPS, opt } = frameBenchOptions({ sizes: '64,1500' }, { 'ring-mb': '8' }, { rps: false });
const RING_MB = Number(opt['ring-mb']);

// The topology, made in main().
let T;

const READERS = {
  'C TPACKET_V3 reference': () => [path.join(WORK, 'v3reader'), T.capIf, String(RING_MB)],
  'kring batches()': () => [process.execPath, path.join(HERE, 'kring-reader.js'), 'batches', T.capIf, String(RING_MB)],
  'kring batches() flyweight': () => [process.execPath, path.join(HERE, 'kring-reader.js'), 'flyweight', T.capIf, String(RING_MB)],
  'kring V2 batches()': () => [process.execPath, path.join(HERE, 'kring-reader.js'), 'batches', T.capIf, String(RING_MB), 'v2'],
  'kring frames()': () => [process.execPath, path.join(HERE, 'kring-reader.js'), 'frames', T.capIf, String(RING_MB)],
  'kring readSync() in a worker': () => [process.execPath, path.join(HERE, 'kring-reader.js'), 'sync', T.capIf, String(RING_MB)],
  'Node.js floor (native core, no library)': () => [process.execPath, path.join(HERE, 'node-floor.js'), T.capIf, String(RING_MB)],
};

async function runOnce(reader, size) {
  const child = await startReady(T.capNs, 1, READERS[reader]());
  // Warm-up burst, not measured: every reader (the C one too) sees WARMUP frames first, so the
  // figures are steady state rather than the JIT compiling the hot loop.
  const genArgs = (n) => ['netns', 'exec', T.genNs, 'taskset', '-c', '0', path.join(WORK, 'afgen'), T.genIf, String(n), String(size)];
  const warm = WARMUP > 0 ? Number(/sent=(\d+)/.exec(sh('ip', genArgs(WARMUP)))[1]) : 0;
  await sleep(300);
  // The end of the warm-up: the reader prints what it has captured, so that loss is counted apart
  // for the warm-up (the JIT compiling, memory first touched) and the measured burst.
  process.kill(child.pid, 'SIGUSR2');
  const markDeadline = Date.now() + 2000;
  let mark;
  while (!(mark = /mark captured=(\d+)/.exec(child.output())) && Date.now() < markDeadline) await sleep(10);
  if (!mark) throw new Error(`${reader} did not answer SIGUSR2`);
  const atMark = Number(mark[1]);
  const cpu0 = cpuNs(child.pid);
  const t0 = process.hrtime.bigint();
  const gen = sh('ip', genArgs(COUNT));
  const wallSend = Number(process.hrtime.bigint() - t0) / 1e9;
  await sleep(300); // drain: block timeout is 4 ms
  const cpu1 = cpuNs(child.pid);
  const out = await child.stop();
  const measured = Number(/sent=(\d+)/.exec(gen)[1]);
  const captured = Number(/^captured=(\d+)/m.exec(out)[1]);
  const kdrops = Number(/kdrops=(\d+)/.exec(out)[1]);
  // Frames lost in the measured phase are not charged CPU: divide by what was captured of it.
  const capturedMeasured = Math.max(1, captured - atMark);
  return {
    cpuPerFrame: (cpu1 - cpu0) / capturedMeasured,
    measured,
    lost: measured - (captured - atMark),
    warm,
    warmLost: warm - atMark,
    kdrops,
    pps: measured / wallSend,
  };
}

async function main() {
  if (process.getuid() !== 0) throw new Error('the benchmark needs root (network namespaces, AF_PACKET)');
  buildC(['v3reader', 'afgen']);
  T = vethPair('bench', { ipv6: false });
  // RPS: the capture interface's receive processing (tpacket_rcv's copy into the ring) on CPU 1.
  if (opt.rps) sh('ip', ['netns', 'exec', T.capNs, 'sh', '-c', `echo 2 > /sys/class/net/${T.capIf}/queues/rx-0/rps_cpus`]);
  const rows = [];
  try {
    for (const size of SIZES) {
      const results = {};
      for (let rep = 0; rep < REPS; rep++) {
        for (const reader of Object.keys(READERS)) {
          (results[reader] ??= []).push(await runOnce(reader, size));
        }
      }
      // Each rep runs every reader back to back, so a reader's ratio is taken against the C
      // reader's figure of the same rep (the machine's speed drifts between reps), then the median.
      const ref = results['C TPACKET_V3 reference'].map((r) => r.cpuPerFrame);
      for (const [reader, rs] of Object.entries(results)) {
        const cpu = median(rs.map((r) => r.cpuPerFrame));
        const ratio = median(rs.map((r, rep) => r.cpuPerFrame / ref[rep]));
        const lost = rs.reduce((n, r) => n + r.lost, 0);
        const sent = rs.reduce((n, r) => n + r.measured, 0);
        const warmLost = rs.reduce((n, r) => n + r.warmLost, 0);
        const warm = rs.reduce((n, r) => n + r.warm, 0);
        rows.push({
          size,
          reader,
          cpu,
          ratio,
          lossPct: (100 * lost) / sent,
          warmLossPct: warm > 0 ? (100 * warmLost) / warm : 0,
          kdrops: rs.reduce((n, r) => n + r.kdrops, 0),
          pps: median(rs.map((r) => r.pps)),
        });
      }
    }
  } finally {
    T.down();
  }
  const table = [
    `| frame | reader | CPU per frame | vs C | lost | lost in warm-up | sender rate |`,
    `|---|---|---|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.size} B | ${r.reader} | ${r.cpu.toFixed(0)} ns | ${r.ratio.toFixed(2)}× | ${r.lossPct.toFixed(2)} % | ${r.warmLossPct.toFixed(2)} % | ${(r.pps / 1e6).toFixed(2)} Mpps |`,
    ),
  ].join('\n');
  const stamp = `${new Date().toISOString().slice(0, 10)}, ${COUNT} measured frames per run after ${WARMUP} warm-up frames, median of ${REPS} runs, ${RING_MB} MiB rings${opt.rps ? ", receive softirq on the reader's CPU (RPS)" : ''}, Linux ${sh('uname', ['-r']).trim()}, Node ${process.version}`;
  process.stdout.write(`${stamp}\n\n${table}\n`);
  if (opt.write) writeTable(opt.rps ? 'bench-rps' : 'bench', stamp, table);
  if (opt.rps) return;
  // Then the transmit side (bench/tx.js), with the same repetitions and --write.
  process.stdout.write('\nAF_PACKET transmit (bench/tx.js):\n');
  const tx = spawnSync(process.execPath, [path.join(HERE, 'tx.js'), '--reps', String(REPS), ...(opt.write ? ['--write'] : [])], { stdio: 'inherit' });
  if (tx.status !== 0) throw new Error(`bench/tx.js exited with ${tx.status}`);
}

main().catch((e) => {
  T?.down();
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
