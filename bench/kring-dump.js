// kring reader for the netlink dump benchmark: RTM_GETROUTE (IPv4) through NetlinkSocket.dump().
//   node bench/kring-dump.js stream|retain NETNS    -> prints "routes=N"
// stream: count records as they arrive (one NetlinkMessage each); retain: keep every record in an
// array; batch: dumpBatches(), records counted in place in the ring (no object per record).
'use strict';
const { NetlinkSocket, MessageBuilder, NLM_F_REQUEST, NLM_F_DUMP } = require('..');

const [mode, netns] = process.argv.slice(2);
const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;
const sock = NetlinkSocket.open({ protocol: 'route', netns });
const req = new MessageBuilder().begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 0).bytes(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).finish();
let routes = 0;
const kept = [];
if (mode === 'batch') {
  sock.dumpBatches(req, { onInterrupted: 'flag' }).subscribe({
    next: ({ cursor }) => {
      while (cursor.next()) if (cursor.type === RTM_NEWROUTE) routes++;
    },
    error: (e) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
    complete: () => {
      process.stdout.write(`routes=${routes}\n`);
      sock.close();
    },
  });
} else sock.dump(req, { onInterrupted: 'flag' }).subscribe({
  next: (m) => {
    if (m.type !== RTM_NEWROUTE) return;
    routes++;
    if (mode === 'retain') kept.push(m);
  },
  error: (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
  complete: () => {
    process.stdout.write(`routes=${routes}\n`);
    sock.close();
  },
});
