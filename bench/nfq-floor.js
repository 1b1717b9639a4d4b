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
const { MessageBuilder } = require(D + '/netlink/message');
const { NLMSGHDR, NLATTR } = require(D + '/layouts/netlink');
const N = require(D + '/layouts/nfnetlink');
const { nfqMsgType, encodeNfgenmsg, encodeConfigCmd, encodeConfigParams, be32, writeVerdictMessage, VERDICT_MSG_SIZE, NFGENMSG_SIZE } = N;
const { NFQNL_MSG_VERDICT_HDR, NFQNL_MSG_PACKET_HDR } = N;
native.krInit({ RingError });
const { ENOBUFS } = require('node:os').constants.errno;

const [queue, maxLen, rcvbuf] = process.argv.slice(2).map(Number);
const op = 'nfq-floor';
const BATCH = 64;
const SLOT = 65536; // as the C consumer's buffers: no datagram spills
const fd = native.krSocket({ domain: C.AF_NETLINK, type: C.SOCK_RAW, protocol: C.NETLINK_NETFILTER, netns: null, op });
native.krBind(fd, Uint8Array.of(C.AF_NETLINK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), op); // struct sockaddr_nl, nl_pid 0: the kernel picks
native.krSetsockopt({ fd, level: C.SOL_SOCKET, name: C.SO_RCVBUFFORCE, value: rcvbuf, op });

const recvBuf = new ArrayBuffer(BATCH * SLOT);
const bytes = new Uint8Array(recvBuf);
const dv = new DataView(recvBuf);

// Setup through kring's message builder and layouts (not the hot path): a config message, then
// its ACK (the kernel answers within the send: the socket is nonblocking).
let seq = 0;
function config(attrs) {
  const msg = attrs(
    new MessageBuilder().begin(nfqMsgType(C.NFQNL_MSG_CONFIG), C.NLM_F_REQUEST | C.NLM_F_ACK, ++seq).bytes(encodeNfgenmsg(C.AF_UNSPEC, queue)),
  ).finish();
  native.krSendmmsg({ fd, buffer: msg, lengths: Uint32Array.of(msg.length), count: 1, op });
  const n = native.krRecv({ fd, buf: bytes, flags: 0, op });
  const err = n >= C.NLMSG_HDRLEN + 4 && dv.getUint16(NLMSGHDR.nlmsg_type, true) === C.NLMSG_ERROR ? dv.getInt32(C.NLMSG_HDRLEN, true) : 1;
  if (err !== 0) throw new Error(`config: error ${err}`);
}
config((b) => b.attr(C.NFQA_CFG_CMD, encodeConfigCmd(C.NFQNL_CFG_CMD_BIND, C.AF_UNSPEC)));
config((b) => b.attr(C.NFQA_CFG_PARAMS, encodeConfigParams(0xffff, C.NFQNL_COPY_PACKET)).attr(C.NFQA_CFG_QUEUE_MAXLEN, be32(maxLen)));

// The verdict message: built once, its id rewritten per wake-up.
const send = new ArrayBuffer(VERDICT_MSG_SIZE);
const sendDv = new DataView(send);
writeVerdictMessage(sendDv, 0, C.NFQNL_MSG_VERDICT_BATCH, queue, C.NF_ACCEPT, 0);
const VERDICT_ID = C.NLMSG_HDRLEN + NFGENMSG_SIZE + C.NLA_HDRLEN + NFQNL_MSG_VERDICT_HDR.id;
const sendPlan = new native.SendPlan({ fd, buffer: send, offsets: new Float64Array(1), lengths: Uint32Array.of(VERDICT_MSG_SIZE), op });
const offsets = Float64Array.from({ length: BATCH }, (_, i) => i * SLOT);
const meta = new Uint32Array(BATCH * RECV_META_WORDS);
const recvPlan = new native.RecvPlan({ fd, buffer: recvBuf, offsets, capacity: SLOT, spill: new Uint8Array(0), spillSize: 0, meta, op });
const PACKET = nfqMsgType(C.NFQNL_MSG_PACKET);

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
      const len = dv.getUint32(at + NLMSGHDR.nlmsg_len, true);
      if (len < C.NLMSG_HDRLEN || len > left) break;
      if (dv.getUint16(at + NLMSGHDR.nlmsg_type, true) === PACKET) {
        const end = at + len;
        let p = at + C.NLMSG_HDRLEN + NFGENMSG_SIZE;
        while (p + C.NLA_HDRLEN <= end) {
          const alen = dv.getUint16(p + NLATTR.nla_len, true);
          if (alen < C.NLA_HDRLEN || p + alen > end) break;
          const type = dv.getUint16(p + NLATTR.nla_type, true) & C.NLA_TYPE_MASK;
          const d = p + C.NLA_HDRLEN;
          if (type === C.NFQA_PACKET_HDR) {
            const id = dv.getUint32(d + NFQNL_MSG_PACKET_HDR.packet_id, false);
            if (id > maxId) maxId = id;
            s += dv.getUint16(d + NFQNL_MSG_PACKET_HDR.hw_protocol, false) + bytes[d + NFQNL_MSG_PACKET_HDR.hook];
          } else if (type === C.NFQA_PAYLOAD) s += alen - C.NLA_HDRLEN;
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
