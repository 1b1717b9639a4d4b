// kring reader for `npm run bench`, same contract as c/v3reader.c.
//   node bench/kring-reader.js batches|flyweight|frames IFACE RING_MB [v3|v2] [BLOCK_TIMEOUT_MS]
// batches:   every frame's len and caplen from the batch's arrays (one lease check per batch).
// flyweight: the same through batch.frame(i) (a lease check per field; no allocation per frame).
// frames:    the copying per-frame observable.
'use strict';
const { PacketSocket } = require('..');

const [mode, iface, ringMb, version = 'v3', timeout = '4'] = process.argv.slice(2);
const sock = PacketSocket.open({
  interface: iface,
  version,
  bufferBytes: Number(ringMb) << 20,
  ...(timeout === 'default' ? {} : { blockTimeoutMs: Number(timeout) }),
});
let captured = 0;
let sum = 0;
let batches = 0;
const sub =
  mode === 'count'
    ? sock.batches().subscribe((batch) => {
        captured += batch.length;
      })
    : mode === 'frames'
      ? sock.frames().subscribe((f) => {
          captured++;
          sum += f.len + f.caplen;
        })
      : mode === 'flyweight'
        ? sock.batches().subscribe((batch) => {
            captured += batch.length; // before the loop (docs/api.md: code after an OSR'd loop deoptimises)
            for (let i = 0; i < batch.length; i++) {
              const v = batch.frame(i);
              sum += v.len + v.caplen;
            }
          })
        : sock.batches().subscribe((batch) => {
            batches++;
            const lens = batch.lengths;
            const caplens = batch.caplens;
            captured += lens.length; // before the loop, as for the flyweight
            for (let i = 0; i < lens.length; i++) sum += lens[i] + caplens[i];
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
