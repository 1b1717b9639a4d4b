// The floor of a Node.js NFQUEUE consumer for `npm run bench:nfqueue`: kring's native core (the
// poll handle, a prepared recvmmsg and sendmmsg) with none of the library above it: no ring, no
// packet objects, no verdict book, no observable. The same work as c/nfqconsumer.c (recvmmsg of up
// to 64 per wake-up, every packet message walked and its id, hw protocol, hook and payload length
// read, one NFQNL_MSG_VERDICT_BATCH of NF_ACCEPT up to the highest id per wake-up) and the same
// contract (ready; verdicts=N on SIGTERM or SIGINT). What it costs over the C consumer is what
// Node.js itself costs per wake-up on this machine; what kring costs over it is the library's.
//   node bench/nfq-floor.js QUEUE MAXLEN RCVBUF
'use strict';
const path = require('node:path');
const D = path.join(__dirname, '..', 'dist');
const { native, RECV_META_WORDS, POLL_READABLE } = require(D + '/native');
const C = require(D + '/constants');
const { RingError } = require(D + '/errors');
native.krInit({ RingError });
const { ENOBUFS } = require('node:os').constants.errno;

const [queue, maxLen, rcvbuf] = process.argv.slice(2).map(Number);
const op = 'nfq-floor';
const BATCH = 64;
const SLOT = 65536; // as the C consumer's buffers: no datagram spills
const fd = native.krSocket({ domain: C.AF_NETLINK, type: C.SOCK_RAW, protocol: C.NETLINK_NETFILTER, netns: null, op });
native.krBind(fd, Uint8Array.of(C.AF_NETLINK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), op); // struct sockaddr_nl, nl_pid 0: the kernel picks
native.krSetsockopt({ fd, level: C.SOL_SOCKET, name: C.SO_RCVBUFFORCE, value: rcvbuf, op });

// One nfnetlink message of the queue subsystem into `out` at 0: header, nfgenmsg, then attributes
// [type, bytes]; returns its length.
let seq = 0;
function message(out, type, flags, attrs) {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.fill(0, 0, 256);
  let len = C.NLMSG_HDRLEN + 4;
  dv.setUint16(4, (C.NFNL_SUBSYS_QUEUE << 8) | type, true);
  dv.setUint16(6, C.NLM_F_REQUEST | flags, true);
  dv.setUint32(8, ++seq, true);
  dv.setUint8(16, C.AF_UNSPEC);
  dv.setUint16(18, queue, false);
  for (const [t, bytes] of attrs) {
    dv.setUint16(len, 4 + bytes.length, true);
    dv.setUint16(len + 2, t, true);
    out.set(bytes, len + 4);
    len += (4 + bytes.length + 3) & ~3;
  }
  dv.setUint32(0, len, true);
  return len;
}

const recvBuf = new ArrayBuffer(BATCH * SLOT);
const bytes = new Uint8Array(recvBuf);
const dv = new DataView(recvBuf);
const send = new ArrayBuffer(256);
const sendBytes = new Uint8Array(send);
const sendDv = new DataView(send);
const sendLen = new Uint32Array(1);

// A config message, then its ACK (the kernel answers within the send: the socket is nonblocking).
function config(attrs) {
  sendLen[0] = message(sendBytes, C.NFQNL_MSG_CONFIG, C.NLM_F_ACK, attrs);
  native.krSendmmsg({ fd, buffer: send, lengths: sendLen, count: 1, op });
  const n = native.krRecv({ fd, buf: bytes, flags: 0, op });
  const err = n >= 20 && dv.getUint16(4, true) === C.NLMSG_ERROR ? dv.getInt32(16, true) : 1;
  if (err !== 0) throw new Error(`config: error ${err}`);
}
const be = (n, size) => {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  if (size === 4) v.setUint32(0, n, false);
  else v.setUint16(0, n, false);
  return b;
};
config([[C.NFQA_CFG_CMD, Uint8Array.of(C.NFQNL_CFG_CMD_BIND, 0, 0, 0)]]);
const params = new Uint8Array(5);
params.set(be(0xffff, 4), 0);
params[4] = C.NFQNL_COPY_PACKET;
config([
  [C.NFQA_CFG_PARAMS, params],
  [C.NFQA_CFG_QUEUE_MAXLEN, be(maxLen, 4)],
]);

// The verdict message: built once, its id rewritten per wake-up.
const verdictLen = message(sendBytes, C.NFQNL_MSG_VERDICT_BATCH, 0, [[C.NFQA_VERDICT_HDR, new Uint8Array(8)]]);
sendDv.setUint32(C.NLMSG_HDRLEN + 4 + 4, C.NF_ACCEPT, false);
const VERDICT_ID = C.NLMSG_HDRLEN + 4 + 8;
const sendPlan = new native.SendPlan({ fd, buffer: send, offsets: new Float64Array(1), lengths: Uint32Array.of(verdictLen), op });
const offsets = Float64Array.from({ length: BATCH }, (_, i) => i * SLOT);
const meta = new Uint32Array(BATCH * RECV_META_WORDS);
const recvPlan = new native.RecvPlan({ fd, buffer: recvBuf, offsets, capacity: SLOT, spill: new Uint8Array(0), spillSize: 0, meta, op });
const PACKET = (C.NFNL_SUBSYS_QUEUE << 8) | C.NFQNL_MSG_PACKET;

let verdicts = 0;
let enobufs = 0;
let sum = 0;
function onWake() {
  let n;
  try {
    n = recvPlan.recv(BATCH);
  } catch (e) {
    if (e.errno === ENOBUFS) enobufs++;
    else throw e;
    return onWake();
  }
  let maxId = 0;
  let got = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    let at = i * SLOT;
    let left = meta[i * RECV_META_WORDS];
    while (left >= C.NLMSG_HDRLEN) {
      const len = dv.getUint32(at, true);
      if (len < C.NLMSG_HDRLEN || len > left) break;
      if (dv.getUint16(at + 4, true) === PACKET) {
        const end = at + len;
        let p = at + C.NLMSG_HDRLEN + 4;
        while (p + 4 <= end) {
          const alen = dv.getUint16(p, true);
          if (alen < 4 || p + alen > end) break;
          const type = dv.getUint16(p + 2, true) & 0x3fff;
          if (type === C.NFQA_PACKET_HDR) {
            const id = dv.getUint32(p + 4, false);
            if (id > maxId) maxId = id;
            s += dv.getUint16(p + 8, false) + bytes[p + 10];
          } else if (type === C.NFQA_PAYLOAD) s += alen - 4;
          p += (alen + 3) & ~3;
        }
        got++;
      }
      const step = (len + 3) & ~3;
      at += step;
      left -= step;
    }
  }
  sum += s;
  if (got > 0) {
    sendDv.setUint32(VERDICT_ID, maxId, false);
    sendPlan.send(0, 1);
    verdicts += got;
  }
  // The poll handle is edge-triggered: read again until the queue was found short of a batch.
  if (n === BATCH) onWake();
}

const poller = new native.Poller(fd, op, (status) => {
  if (status < 0) throw new Error(`poll: ${status}`);
  onWake();
});
poller.start(POLL_READABLE);
process.stdout.write('ready\n');
const end = () => {
  poller.close();
  native.krClose(fd, op);
  process.stdout.write(`enobufs=${enobufs}\nverdicts=${verdicts}\n`);
  process.stderr.write(`sum=${sum}\n`);
  process.exit(0);
};
process.on('SIGTERM', end);
process.on('SIGINT', end);
