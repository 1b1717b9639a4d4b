// kring reader for `npm run bench:latency`: how long after the kernel stamped a frame its
// subscriber sees it.
//   node bench/kring-latency.js IFACE VERSION TIMEOUT_MS|default SKIP
// Every UDP frame's kernel timestamp (CLOCK_REALTIME) is compared with the wall clock in the
// batches() callback (performance.timeOrigin + performance.now(): microsecond resolution), after
// the first SKIP frames (the warm-up: the JIT, the first blocks). Prints
// "ready"; on SIGINT "frames=N p50=MS p99=MS max=MS".
'use strict';
const { performance } = require('node:perf_hooks');
const { PacketSocket } = require('..');

const [iface, version, timeout, skip = '0'] = process.argv.slice(2);
let skipping = Number(skip);
const sock = PacketSocket.open({
  interface: iface,
  version,
  filter: 'udp',
  ...(timeout === 'default' ? {} : { blockTimeoutMs: Number(timeout) }),
});
const lat = [];
const sub = sock.batches().subscribe((batch) => {
  const now = performance.timeOrigin + performance.now();
  for (let i = 0; i < batch.length; i++) {
    if (skipping > 0 && skipping--) continue;
    const f = batch.frame(i);
    lat.push(now - (f.sec * 1e3 + f.nsec / 1e6));
  }
});
process.stdout.write('ready\n');
process.on('SIGINT', () => {
  sub.unsubscribe();
  sock.close();
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  process.stdout.write(`frames=${lat.length} p50=${q(0.5).toFixed(3)} p99=${q(0.99).toFixed(3)} max=${(lat[lat.length - 1] ?? NaN).toFixed(3)}\n`);
});
