// kring reader for `npm run bench`, same contract as c/v3reader.c.
//   node bench/kring-reader.js batches|frames IFACE RING_MB
// batches: walk each batch with the flyweight, reading len and caplen (no allocation per frame).
// frames:  the copying per-frame observable.
'use strict';
const { PacketSocket } = require('..');

const [mode, iface, ringMb] = process.argv.slice(2);
const sock = PacketSocket.open({ interface: iface, version: 'v3', bufferBytes: Number(ringMb) << 20, blockTimeoutMs: 4 });
let captured = 0;
let sum = 0;
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
      : sock.batches().subscribe((batch) => {
          for (let i = 0; i < batch.length; i++) {
            const v = batch.frame(i);
            sum += v.len + v.caplen;
          }
          captured += batch.length;
        });
process.stdout.write('ready\n');
process.on('SIGINT', () => {
  sub.unsubscribe();
  const st = sock.stats();
  sock.close();
  process.stdout.write(`captured=${captured} kpkts=${st.packets} kdrops=${st.drops} sum=${sum}\n`);
});
