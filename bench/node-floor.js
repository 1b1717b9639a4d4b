// The floor of a Node.js TPACKET_V3 reader for `npm run bench`: kring's native core (the poll
// handle, the native block walk) with none of the library above it: no batch object, no lease, no
// observable, the block status read and written with Atomics directly. The same work as
// c/v3reader.c and kring-reader.js (every frame's len and caplen read, in JavaScript, from the
// arrays the walk fills), the same contract (ready, SIGUSR2 mark, SIGINT totals), the same geometry
// as the C reader. What it costs over the C reader is what Node.js itself costs per wake-up and
// per frame on this machine; what kring costs over it is the library's.
//   node bench/node-floor.js IFACE RING_MB
// bench/per-block.js reads its bare ring through bareRing() below.
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

const STATUS = tpacketV3Block.statusOffset;

/**
 * A TPACKET_V3 RX ring on `ifname` (in `netns`, a path, or null for this one) with nothing of
 * kring's library: `block()` reads the next block (its frames' len + caplen added to `sum`) and
 * hands it back, returning its frame count, or -1 while the kernel still owns it.
 */
function bareRing({ netns = null, ifname, blockSize, blockCount, timeoutMs, op = 'node-floor' }) {
  const fd = native.krSocket({ domain: C.AF_PACKET, type: C.SOCK_RAW, protocol: 0, netns, op });
  native.krSetsockopt({ fd, level: C.SOL_PACKET, name: C.PACKET_VERSION, value: C.TPACKET_V3, op });
  const frameSize = 2048;
  const req = { blockSize, blockCount, frameSize, frameCount: (blockSize / frameSize) * blockCount };
  const v3 = { retireBlkTov: timeoutMs, sizeofPriv: 0, featureReqWord: 0 };
  native.krSetsockopt({ fd, level: C.SOL_PACKET, name: C.PACKET_RX_RING, op, value: encodeTpacketReq(req, v3) });
  const map = native.krMmap(fd, blockSize * blockCount, op);
  const words = new Int32Array(map);
  const dv = new DataView(map);
  native.krBind(fd, encodeSockaddrLl(C.ETH_P_ALL, native.krIfIndex(fd, ifname)), op);
  const walk = new native.WalkPlan({ buffer: map, ...V3_WALK });
  const maxFrames = Math.ceil(blockSize / 48); // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
  const scratch = new ArrayBuffer(maxFrames * 24); // native/walk.cc's layout
  const lens = new Uint32Array(scratch, 16 * maxFrames, maxFrames);
  const caplens = new Uint32Array(scratch, 20 * maxFrames, maxFrames);
  let cur = 0;
  const ring = {
    fd,
    sum: 0,
    block() {
      const b = cur * blockSize;
      // acquire: pairs with the kernel's release of block_status when it retires the block
      if ((Atomics.load(words, (b + STATUS) >>> 2) & C.TP_STATUS_USER) === 0) return -1;
      const k = walk.walk(v3FirstFrame(dv, b), b + blockSize, v3NumPackets(dv, b), scratch);
      let s = 0;
      for (let i = 0; i < k; i++) s += lens[i] + caplens[i];
      ring.sum += s;
      // release: the kernel reads block_status before it reuses the block
      Atomics.store(words, (b + STATUS) >>> 2, C.TP_STATUS_KERNEL);
      cur = cur + 1 === blockCount ? 0 : cur + 1;
      return k;
    },
  };
  return ring;
}

module.exports = { bareRing };

if (require.main === module) {
  const [iface, ringMb] = process.argv.slice(2);
  // The C reader's geometry: blocks of min(1 MiB, ring / 16), 4 ms block timeout.
  const bytes = Number(ringMb) << 20;
  const blockSize = (Math.min(1 << 20, bytes / 16) + 4095) & ~4095;
  const ring = bareRing({ ifname: iface, blockSize, blockCount: bytes / blockSize, timeoutMs: 4 });
  let captured = 0;
  const drain = () => {
    for (let k; (k = ring.block()) >= 0;) captured += k;
  };
  const poller = new native.Poller(ring.fd, 'node-floor', drain);
  poller.start(1);
  drain();
  process.stdout.write('ready\n');
  process.on('SIGUSR2', () => process.stdout.write(`mark captured=${captured}\n`));
  process.on('SIGINT', () => {
    poller.close();
    const out = new Uint8Array(12);
    native.krGetsockopt({ fd: ring.fd, level: C.SOL_PACKET, name: C.PACKET_STATISTICS, out, op: 'node-floor' });
    const st = new DataView(out.buffer);
    process.stdout.write(`captured=${captured} kpkts=${st.getUint32(0, true)} kdrops=${st.getUint32(4, true)} sum=${ring.sum}\n`);
    process.exit(0);
  });
}
