#!/usr/bin/env node
// `npm run bench:per-block`: what kring's library costs per TPACKET_V3 block, apart from the walk,
// the wake-up and the machine's drift. Two sockets on the same veth end receive the same frames:
// kring's PacketSocket and a bare ring on kring's native core (bench/node-floor.js's drain: the
// block status with Atomics, the native walk, the loop over the lengths). Each round sends eight
// blocks' worth, waits for the block timeout, then drains both rings block by block (in alternating
// order), timing each block's read alone: `readSync({ timeoutMs: 0 })` plus the same loop for kring.
// The difference per block is the library's per-block cost (batch object, lease, reader, release),
// measured in one process, on one CPU, without the event loop: steady where `npm run bench` drifts.
//
//   npm run bench:per-block [-- --size 1500 --rounds 400]
//
// Needs root (network namespaces, AF_PACKET).
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const { sh, vethPair } = require('./lib');

const { values: opt } = parseArgs({
  options: { size: { type: 'string', default: '1500' }, rounds: { type: 'string', default: '400' }, child: { type: 'string' } },
});

if (opt.child === undefined) {
  if (process.getuid() !== 0) throw new Error('the benchmark needs root (network namespaces, AF_PACKET)');
  const T = vethPair('blk', { ipv6: false });
  try {
    const out = sh('taskset', ['-c', '1', process.execPath, __filename, '--size', opt.size, '--rounds', opt.rounds, '--child', JSON.stringify(T)]);
    process.stdout.write(out);
  } finally {
    T.down();
  }
  return;
}

const T = JSON.parse(opt.child);
const D = path.join(__dirname, '..', 'dist');
const { PacketSocket } = require(D);
const { native } = require(D + '/native');
const C = require(D + '/constants');
const { encodeSockaddrLl } = require(D + '/layouts/sockaddr-ll');
const { bareRing } = require('./node-floor');

const SIZE = Number(opt.size);
const ROUNDS = Number(opt.rounds);
// The same geometry for both: 16 blocks of 512 KiB, a 10 ms block timeout (blocks fill before it
// at these rates; the last one of a round retires by it).
const BLOCK = 512 << 10;
const NBLOCKS = 16;
const sock = PacketSocket.open({ interface: T.capIf, netns: T.capNs, version: 'v3', bufferBytes: BLOCK * NBLOCKS, blockTimeoutMs: 10 });
if (sock.ring.geometry.blockSize !== BLOCK) throw new Error(`kring planned ${sock.ring.geometry.blockSize}-byte blocks, not ${BLOCK}`);

const op = 'per-block';
const bare = bareRing({ netns: `/run/netns/${T.capNs}`, ifname: T.capIf, blockSize: BLOCK, blockCount: NBLOCKS, timeoutMs: 10, op });
let sum = 0;

// One block through kring, or -1 when none is ready.
function kringBlock() {
  const batch = sock.readSync({ timeoutMs: 0 });
  if (!batch) return -1;
  const a = batch.lengths;
  const c = batch.caplens;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] + c[i];
  sum += s;
  return a.length;
}

const sfd = native.krSocket({ domain: C.AF_PACKET, type: C.SOCK_RAW, protocol: 0, netns: `/run/netns/${T.genNs}`, op });
native.krBind(sfd, encodeSockaddrLl(0, native.krIfIndex(sfd, T.genIf)), op);
const frame = Buffer.alloc(SIZE, 1);
frame.writeUInt16BE(0x88b5, 12);
const burst = Buffer.concat(Array(64).fill(frame));
const burstLens = new Uint32Array(64).fill(SIZE);
const perBlock = Math.floor(BLOCK / (SIZE + 96)); // tpacket3_hdr + sockaddr_ll, aligned, before the frame
const pause = new Int32Array(new SharedArrayBuffer(4));
const acc = { kring: { ns: 0n, blocks: 0, frames: 0 }, bare: { ns: 0n, blocks: 0, frames: 0 } };
const readers = { kring: kringBlock, bare: bare.block };
for (let round = 0; round < ROUNDS; round++) {
  for (let sent = 0; sent < perBlock * 10;) {
    try {
      sent += native.krSendmmsg({ fd: sfd, buffer: burst, lengths: burstLens, count: 64, op });
    } catch {
      // the device queue was full for a moment (ENOBUFS): send again
    }
  }
  Atomics.wait(pause, 0, 0, 12); // the block timeout retires the last block
  for (const who of round & 1 ? ['kring', 'bare'] : ['bare', 'kring']) {
    for (;;) {
      const t0 = process.hrtime.bigint();
      const n = readers[who]();
      const t1 = process.hrtime.bigint();
      if (n < 0) break;
      // The first quarter of the rounds is warm-up.
      if (round >= ROUNDS / 4) {
        acc[who].ns += t1 - t0;
        acc[who].blocks++;
        acc[who].frames += n;
      }
    }
  }
}
const drops = sock.stats().drops;
sock.close();
// A drop makes the kernel mark blocks TP_STATUS_LOSING, and kring then reads its counters per batch.
if (drops > 0) process.stderr.write(`per-block: the kernel dropped ${drops} frames: the figures include kring's loss path\n`);
const us = (a) => Number(a.ns) / a.blocks / 1000;
process.stdout.write(
  `${SIZE}-byte frames, ${(acc.kring.frames / acc.kring.blocks).toFixed(0)} per block, ${acc.kring.blocks} blocks timed (kernel drops: ${drops}):\n` +
    `  kring readSync(): ${us(acc.kring).toFixed(2)} µs per block\n` +
    `  bare ring:        ${us(acc.bare).toFixed(2)} µs per block\n` +
    `  kring's per-block cost: ${(us(acc.kring) - us(acc.bare)).toFixed(2)} µs (${((1000 * (us(acc.kring) - us(acc.bare))) / (acc.kring.frames / acc.kring.blocks)).toFixed(1)} ns per frame)\n` +
    `(sums ${sum} ${bare.sum})\n`,
);
