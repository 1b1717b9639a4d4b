// kring reader for `npm run bench`, same contract as c/v3reader.c.
//   node bench/kring-reader.js batches|flyweight|frames|sync IFACE RING_MB [v3|v2] [BLOCK_TIMEOUT_MS]
// batches:   every frame's len and caplen from the batch's arrays (one lease check per batch).
// sync:      the same work from readSync() in a worker thread that does nothing else (the main
//            thread only relays the signals).
// flyweight: the same through batch.frame(i) (a lease check per field; no allocation per frame).
// frames:    the copying per-frame observable.
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { PacketSocket } = require('..');

const [mode, iface, ringMb, version = 'v3', timeout = '4'] = isMainThread ? process.argv.slice(2) : workerData.argv;
if (mode === 'sync' && isMainThread) {
  // [stop flag, frames captured]: the worker never turns its event loop, so it takes no messages.
  const shared = new Float64Array(new SharedArrayBuffer(16));
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(__filename, { workerData: { argv: process.argv.slice(2), shared, flag } });
  w.on('message', (m) => process.stdout.write(m));
  w.on('error', (e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
  process.on('SIGUSR2', () => process.stdout.write(`mark captured=${shared[1]}\n`));
  process.on('SIGINT', () => Atomics.store(flag, 0, 1));
  return;
}
const sock = PacketSocket.open({
  interface: iface,
  version,
  bufferBytes: Number(ringMb) << 20,
  ...(timeout === 'default' ? {} : { blockTimeoutMs: Number(timeout) }),
});
let captured = 0;
let sum = 0;
let batches = 0;
if (mode === 'sync') {
  const { shared, flag } = workerData;
  parentPort.postMessage('ready\n');
  while (Atomics.load(flag, 0) === 0) {
    const batch = sock.readSync({ timeoutMs: 100 });
    if (!batch) continue;
    batches++;
    const lens = batch.lengths;
    const caplens = batch.caplens;
    captured += lens.length;
    let s = 0; // a local, as the C reader's sum is a register: a closure variable past 2^31 is a heap number per frame
    for (let i = 0; i < lens.length; i++) s += lens[i] + caplens[i];
    sum += s;
    shared[1] = captured;
  }
  const st = sock.stats();
  sock.close();
  parentPort.postMessage(`captured=${captured} kpkts=${st.packets} kdrops=${st.drops} sum=${sum} batches=${batches}\n`);
  return;
}
const sub =
  mode === 'count'
    ? sock.batches().subscribe((batch) => {
        captured += batch.length;
      })
    : mode === 'frames'
      ? sock.frames().subscribe((f) => {
          captured++;
          // Wrapped to 32 bits: a closure variable past 2^31 is a heap number, allocated afresh per
          // frame (at 1500 B after 700k frames); the C reader's sum is a register.
          sum = (sum + f.len + f.caplen) | 0;
        })
      : mode === 'flyweight'
        ? sock.batches().subscribe((batch) => {
            captured += batch.length; // before the loop (docs/api.md: code after an OSR'd loop deoptimises)
            let s = 0; // a local, as in the batches mode
            for (let i = 0; i < batch.length; i++) {
              const v = batch.frame(i);
              s += v.len + v.caplen;
            }
            sum += s;
          })
        : sock.batches().subscribe((batch) => {
            batches++;
            const lens = batch.lengths;
            const caplens = batch.caplens;
            captured += lens.length; // before the loop, as for the flyweight
            let s = 0; // a local, as in the sync mode
            for (let i = 0; i < lens.length; i++) s += lens[i] + caplens[i];
            sum += s;
          });
process.stdout.write('ready\n');
// The end of the warm-up (bench/run.js splits its loss figures there).
process.on('SIGUSR2', () => process.stdout.write(`mark captured=${captured}\n`));
process.on('SIGINT', () => {
  sub.unsubscribe();
  const st = sock.stats();
  sock.close();
  process.stdout.write(`captured=${captured} kpkts=${st.packets} kdrops=${st.drops} sum=${sum} batches=${batches}\n`);
});
