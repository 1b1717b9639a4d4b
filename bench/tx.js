#!/usr/bin/env node
// `npm run bench:tx`: kring's TX ring writer against the project's C TX-ring sender (bench/c/txring.c),
// measured in the same run: frames per second and CPU per sent frame, nothing capturing on the far
// side of a veth pair (the peer's rx_packets counts what arrived).
//
//   npm run bench:tx [-- --count 1000000 --sizes 64,512,1500 --reps 3 --batch 64 --write]
//
// Both senders run on CPU 0 in the generator namespace with the same ring (TPACKET_V2, frames sized
// for the MTU, 1 MiB) and the same batch per kick. Each sends --warmup frames first (not measured:
// steady state, not the JIT compiling the loop), then prints "ready", and measures itself from
// there to the kernel having taken its last frame: wall time, and its process's CPU time over every
// thread (CLOCK_PROCESS_CPUTIME_ID in C, getrusage through process.cpuUsage() in Node). Start-up
// and exit (Node's takes tens of milliseconds) are in neither.
// --write replaces the table in docs/benchmarks.md. Needs root and gcc.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const { HERE, WORK, sh, sleep, median, buildC, vethPair, writeTable, frameBenchOptions } = require('./lib');

const { COUNT, WARMUP, SIZES, REPS, opt } = frameBenchOptions({ sizes: '64,512,1500' }, { batch: '64' });
const BATCH = opt.batch;
const FRAME_SIZE = '1552'; // TPACKET_ALIGN(32 + 1500 + 14 + 4): kring's default for MTU 1500
const FRAMES = String(Math.floor((1 << 20) / 1552));

let T;
const SENDERS = {
  'C TX ring (TPACKET_V2)': (size) => [path.join(WORK, 'txring'), T.genIf, String(COUNT), String(size), FRAME_SIZE, FRAMES, BATCH, String(WARMUP)],
  'kring PacketWriter': (size) => [
    process.execPath,
    path.join(HERE, 'kring-sender.js'),
    T.genIf,
    String(COUNT),
    String(size),
    FRAME_SIZE,
    FRAMES,
    BATCH,
    String(WARMUP),
  ],
};

const rxPackets = () => JSON.parse(sh('ip', ['-n', T.capNs, '-j', '-s', 'link', 'show', 'dev', T.capIf]))[0].stats64.rx.packets;

async function runOnce(sender, size) {
  const before = rxPackets();
  const child = spawn('ip', ['netns', 'exec', T.genNs, 'taskset', '-c', '0', ...SENDERS[sender](size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('exit', r));
  while (!out.includes('ready')) await sleep(1);
  await exited;
  // Each sender measures itself from "ready" to the kernel having taken its last frame (wall, and
  // its process's CPU over every thread), so neither's start-up nor exit is in the figures.
  const m = /sent=(\d+) ns=(\d+) cpu_ns=(\d+)/.exec(out);
  if (!m) throw new Error(`${sender}: no result line: ${out}`);
  const [sent, wallNs, cpuNs] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (sent !== COUNT) throw new Error(`${sender} sent ${sent} of ${COUNT}: ${out}`);
  await sleep(100);
  const arrived = rxPackets() - before - WARMUP;
  return { pps: sent / (wallNs / 1e9), nsPerFrame: cpuNs / sent, arrived };
}

async function main() {
  buildC(['txring']);
  T = vethPair('tx', { ipv6: false });
  const rows = [];
  try {
    for (const size of SIZES) {
      const res = {};
      for (let rep = 0; rep < REPS; rep++) {
        for (const sender of Object.keys(SENDERS)) {
          const r = await runOnce(sender, size);
          (res[sender] ??= []).push(r);
          process.stderr.write(`${size} B ${sender}: ${(r.pps / 1e6).toFixed(3)} Mpps, ${r.nsPerFrame.toFixed(0)} ns CPU/frame, ${r.arrived} arrived\n`);
        }
      }
      const ref = median(res['C TX ring (TPACKET_V2)'].map((r) => r.pps));
      for (const sender of Object.keys(SENDERS)) {
        const pps = median(res[sender].map((r) => r.pps));
        const ns = median(res[sender].map((r) => r.nsPerFrame));
        const lost = Math.max(...res[sender].map((r) => COUNT - r.arrived));
        rows.push(`| ${size} B | ${sender} | ${(pps / 1e6).toFixed(3)} Mpps | ${(pps / ref).toFixed(2)}× | ${ns.toFixed(0)} ns | ${lost} |`);
      }
    }
  } finally {
    T.down();
  }
  const table = ['| frame | sender | rate | vs C | CPU per frame | not arrived |', '|---|---|---|---|---|---|', ...rows].join('\n');
  process.stdout.write(`${table}\n`);
  if (opt.write) {
    const stamp = `Run of ${new Date().toISOString().slice(0, 10)}: ${COUNT} frames per run after ${WARMUP} of warm-up, median of ${REPS}, batch ${BATCH}, both senders on CPU 0, Linux ${sh('uname', ['-r']).trim()}, Node ${process.version}.`;
    writeTable('tx', stamp, table);
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  T?.down();
  process.exit(1);
});
