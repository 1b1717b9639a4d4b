#!/usr/bin/env node
// `npm run bench:nfqueue`: CPU per verdict of kring's NfQueue against the project's own C consumer
// (c/nfqconsumer.c: recvmmsg of 64, every packet walked, one batch verdict per wake-up), measured
// in the same run. UDP from a generator namespace (c/udpgen.c, on CPU 0) to a consumer namespace
// whose iptables-legacy mangle INPUT rule queues it to queue 0; the consumer runs on CPU 1.
//
//   npm run bench:nfqueue [-- --reps 3 --size 64 --write]
//
// Scenarios: `flood` (the queue backlogged: the generator as fast as it goes) and `rate50000`
// (50k packets/s, paced). A consumer's cost is the on-CPU time of all its threads (sum of
// /proc/PID/task/*/schedstat) over the measured phase, divided by the packets judged in it; what
// was lost is the kernel's own count (queue_dropped + user_dropped in
// /proc/net/netfilter/nfnetlink_queue). --write replaces the table in docs/benchmarks.md.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const { HERE, WORK, sh, sleep, median, buildC, vethPair, cpuNs, startReady, writeTable } = require('./lib');

const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    size: { type: 'string', default: '64' },
    write: { type: 'boolean', default: false },
  },
});
const REPS = Number(opt.reps);
const SIZE = Number(opt.size);
const MAXLEN = 65536;
const RCVBUF = 64 << 20;
const SCENARIOS = {
  flood: { count: 500000, rate: 0, warm: 100000 },
  rate50000: { count: 150000, rate: 50000, warm: 50000 },
};

// The topology, made in main(): addresses, and the rule that queues the generator's UDP.
let T;
function topoUp() {
  T = vethPair('nfqb');
  sh('ip', ['-n', T.genNs, 'addr', 'add', '198.18.0.1/24', 'dev', T.genIf]);
  sh('ip', ['-n', T.capNs, 'addr', 'add', '198.18.0.2/24', 'dev', T.capIf]);
  sh('ip', ['netns', 'exec', T.capNs, 'iptables-legacy', '-t', 'mangle', '-A', 'INPUT', '-p', 'udp', '--dport', '9999', '-j', 'NFQUEUE', '--queue-num', '0']);
}

// The kernel's counters of queue 0: [waiting, dropped (queue full + undeliverable), id sequence].
function counters() {
  const line = sh('ip', ['netns', 'exec', T.capNs, 'cat', '/proc/net/netfilter/nfnetlink_queue']).trim().split('\n')[0];
  const f = line.trim().split(/\s+/).map(Number);
  return { waiting: f[2], dropped: f[5] + f[6], ids: f[7] };
}

const CONSUMERS = {
  'C consumer (recvmmsg + batch verdict)': () => [path.join(WORK, 'nfqconsumer'), '0', String(MAXLEN), String(RCVBUF)],
  'kring NfQueue batches()': () => [process.execPath, path.join(HERE, 'kring-nfqueue.js'), '0', String(MAXLEN), String(RCVBUF)],
  'Node.js floor (native core, no library)': () => [process.execPath, path.join(HERE, 'nfq-floor.js'), '0', String(MAXLEN), String(RCVBUF)],
};

async function runOnce(consumer, sc) {
  const child = await startReady(T.capNs, 1, CONSUMERS[consumer]());
  const gen = (n, rate) =>
    sh('ip', ['netns', 'exec', T.genNs, 'taskset', '-c', '0', path.join(WORK, 'udpgen'), '198.18.0.2', '9999', String(n), String(SIZE), String(rate)]);
  gen(sc.warm, sc.rate);
  await drained();
  const c0 = counters();
  const cpu0 = cpuNs(child.pid);
  const t0 = process.hrtime.bigint();
  const sent = Number(/sent=(\d+)/.exec(gen(sc.count, sc.rate))[1]);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  await drained();
  const cpu1 = cpuNs(child.pid);
  const c1 = counters();
  const out = await child.stop('SIGTERM');
  const lost = c1.dropped - c0.dropped;
  // Packets judged in the measured phase: the ids the kernel handed out, less those it could not deliver.
  const verdicts = sent - lost;
  return { cpuPerVerdict: (cpu1 - cpu0) / Math.max(1, verdicts), lossPct: (100 * lost) / sent, pps: sent / wall, total: Number(/verdicts=(\d+)/.exec(out)[1]) };
}

// Waits until the kernel has nothing waiting in the queue (every packet judged or dropped).
async function drained() {
  const end = Date.now() + 20000;
  await sleep(200);
  while (counters().waiting > 0 && Date.now() < end) await sleep(50);
}

async function main() {
  if (process.getuid() !== 0) throw new Error('the benchmark needs root (network namespaces, iptables)');
  buildC(['nfqconsumer', 'udpgen']);
  topoUp();
  const rows = [];
  try {
    for (const [name, sc] of Object.entries(SCENARIOS)) {
      const results = {};
      for (let rep = 0; rep < REPS; rep++) {
        for (const consumer of Object.keys(CONSUMERS)) (results[consumer] ??= []).push(await runOnce(consumer, sc));
      }
      // Each run measures every consumer back to back, and the VM's speed drifts between runs: the
      // ratio is the median of the per-run ratios (as in run.js).
      const ref = results[Object.keys(CONSUMERS)[0]];
      for (const [consumer, rs] of Object.entries(results)) {
        const cpu = median(rs.map((r) => r.cpuPerVerdict));
        const ratio = median(rs.map((r, k) => r.cpuPerVerdict / ref[k].cpuPerVerdict));
        rows.push({ name, consumer, cpu, ratio, loss: median(rs.map((r) => r.lossPct)), pps: median(rs.map((r) => r.pps)) });
      }
    }
  } finally {
    T.down();
  }
  const table = [
    `| scenario | consumer | CPU per verdict | vs C | lost | sender rate |`,
    `|---|---|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.consumer} | ${(r.cpu / 1000).toFixed(2)} µs | ${r.ratio.toFixed(2)}× | ${r.loss.toFixed(2)} % | ${(r.pps / 1000).toFixed(0)} kpps |`,
    ),
  ].join('\n');
  const stamp = `${new Date().toISOString().slice(0, 10)}, ${SIZE}-byte UDP payloads, median of ${REPS} runs (vs C: the median of per-run ratios; flood: ${SCENARIOS.flood.count} packets; rate50000: ${SCENARIOS.rate50000.count}), each after a warm-up, Linux ${sh('uname', ['-r']).trim()}, Node ${process.version}`;
  process.stdout.write(`${stamp}\n\n${table}\n`);
  if (opt.write) writeTable('nfqueue', stamp, table);
}

main().catch((e) => {
  T?.down();
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
