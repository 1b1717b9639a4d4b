// kring sender for `npm run bench:tx`, same contract and work as c/txring.c: COUNT frames of SIZE
// bytes (a template copied into the slot, the sequence number written at byte 14) through a
// TPACKET_V2 TX ring of the same geometry, BATCH frames per kick, waiting on EPOLLOUT when full.
// WARMUP frames go first, not counted; "ready" is printed after them, and at the end
// "sent=N ns=WALL cpu_ns=CPU", measured from "ready" to the kernel having taken the last frame.
//   node bench/kring-sender.js IFACE COUNT SIZE FRAME_SIZE FRAMES BATCH [WARMUP]
'use strict';
const { PacketSocket } = require('..');

const [iface, count, size, frameSize, frames, batch, warmup = '0'] = process.argv.slice(2);
const WARMUP = Number(warmup);
const COUNT = Number(count) + WARMUP;
const SIZE = Number(size);
const sock = PacketSocket.open({
  interface: iface,
  version: 'v2',
  rx: false,
  tx: { frameSize: Number(frameSize), bufferBytes: Number(frameSize) * Number(frames), batch: Number(batch) },
});
const w = sock.writer;
const tmpl = Buffer.alloc(SIZE);
tmpl.fill(0xff, 0, 6);
tmpl.fill(0x02, 6, 12);
tmpl.writeUInt16BE(0x88b5, 12);
for (let i = 18; i < SIZE; i++) tmpl[i] = i & 0xff;
let seq = 0;
// One fill function for every frame: no allocation per frame.
const fill = (view) => {
  view.set(tmpl);
  view[14] = seq >>> 24;
  view[15] = (seq >>> 16) & 0xff;
  view[16] = (seq >>> 8) & 0xff;
  view[17] = seq & 0xff;
};
// Writes frames until `seq` reaches `upTo`, waiting for room when the ring is full.
async function sendUpTo(upTo) {
  while (seq < upTo) {
    if (w.write(SIZE, fill)) seq++;
    else await w.writable();
  }
}
(async () => {
  await sendUpTo(WARMUP);
  await w.flush();
  process.stdout.write('ready\n');
  const w0 = process.hrtime.bigint();
  const c0 = process.cpuUsage(); // getrusage: every thread of the process, as CLOCK_PROCESS_CPUTIME_ID
  await sendUpTo(COUNT);
  await w.flush();
  const wall = process.hrtime.bigint() - w0;
  const cpu = process.cpuUsage(c0);
  process.stdout.write(`sent=${w.stats().sent - WARMUP} ns=${wall} cpu_ns=${(cpu.user + cpu.system) * 1000}\n`);
  sock.close();
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
