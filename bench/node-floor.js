// The floor of a Node.js TPACKET_V3 reader for `npm run bench`: kring's native core (the poll
// handle, the native block walk) with none of the library above it: no batch object, no lease, no
// observable, the block status read and written with Atomics directly. The same work as
// c/v3reader.c and kring-reader.js (every frame's len and caplen read, in JavaScript, from the
// arrays the walk fills), the same contract (ready, SIGUSR2 mark, SIGINT totals), the same geometry
// as the C reader. What it costs over the C reader is what Node.js itself costs per wake-up and
// per frame on this machine; what kring costs over it is the library's.
//   node bench/node-floor.js IFACE RING_MB
'use strict';
const path = require('node:path');
const D = path.join(__dirname, '..', 'dist');
const { native } = require(D + '/native');
const C = require(D + '/constants');
const { encodeTpacketReq } = require(D + '/layouts/packet-sockopt');
const { encodeSockaddrLl } = require(D + '/layouts/sockaddr-ll');
const { V3_WALK, tpacketV3Block, v3NumPackets, v3FirstFrame } = require(D + '/layouts/tpacket-v3');
const { RingError } = require(D + '/errors');
native.krInit({ RingError });
const [iface, ringMb] = process.argv.slice(2);
// The C reader's geometry: blocks of min(1 MiB, ring / 16), 4 ms block timeout.
const ring = Number(ringMb) << 20;
let block = Math.min(1 << 20, ring / 16);
block = (block + 4095) & ~4095;
const nblocks = ring / block;
const frameSize = 2048;
const fd = native.krSocket({ domain: C.AF_PACKET, type: C.SOCK_RAW, protocol: 0, netns: null, op: 'node-floor' });
native.krSetsockopt({ fd, level: C.SOL_PACKET, name: C.PACKET_VERSION, value: C.TPACKET_V3, op: 'node-floor' });
native.krSetsockopt({
  fd,
  level: C.SOL_PACKET,
  name: C.PACKET_RX_RING,
  op: 'node-floor',
  value: encodeTpacketReq(
    { blockSize: block, blockCount: nblocks, frameSize, frameCount: (block / frameSize) * nblocks },
    { retireBlkTov: 4, sizeofPriv: 0, featureReqWord: 0 },
  ),
});
const map = native.krMmap(fd, block * nblocks, 'node-floor');
const words = new Int32Array(map);
const dv = new DataView(map);
const ifindex = native.krIfIndex(fd, iface);
native.krBind(fd, encodeSockaddrLl(C.ETH_P_ALL, ifindex), 'node-floor');
const walk = new native.WalkPlan({ buffer: map, ...V3_WALK });
// Each frame takes at least TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) = 48 bytes.
const maxFrames = Math.ceil(block / 48);
const scratch = new ArrayBuffer(maxFrames * 24);
const lens = new Uint32Array(scratch, 16 * maxFrames, maxFrames);
const caplens = new Uint32Array(scratch, 20 * maxFrames, maxFrames);
const STATUS = tpacketV3Block.statusOffset;
let cur = 0;
let captured = 0;
let sum = 0;
function drain() {
  for (;;) {
    const b = cur * block;
    // acquire: pairs with the kernel's release of block_status when it retires the block
    if ((Atomics.load(words, (b + STATUS) >>> 2) & C.TP_STATUS_USER) === 0) return;
    const n = v3NumPackets(dv, b);
    const first = v3FirstFrame(dv, b);
    const k = walk.walk(first, b + block, n, scratch);
    let s = 0;
    for (let i = 0; i < k; i++) s += lens[i] + caplens[i];
    sum += s;
    captured += k;
    // release: the kernel reads block_status before it reuses the block
    Atomics.store(words, (b + STATUS) >>> 2, C.TP_STATUS_KERNEL);
    cur = cur + 1 === nblocks ? 0 : cur + 1;
  }
}
const poller = new native.Poller(fd, 'node-floor', () => drain());
poller.start(1);
drain();
process.stdout.write('ready\n');
process.on('SIGUSR2', () => process.stdout.write(`mark captured=${captured}\n`));
process.on('SIGINT', () => {
  poller.close();
  const out = new Uint8Array(12);
  native.krGetsockopt({ fd, level: C.SOL_PACKET, name: C.PACKET_STATISTICS, out, op: 'node-floor' });
  const st = new DataView(out.buffer);
  process.stdout.write(`captured=${captured} kpkts=${st.getUint32(0, true)} kdrops=${st.getUint32(4, true)} sum=${sum}\n`);
  process.exit(0);
});
