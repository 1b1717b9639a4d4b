// kring reader for the netlink dump benchmark: RTM_GETROUTE (IPv4) through NetlinkSocket.
//   node bench/kring-dump.js stream|retain|batch NETNS    -> prints "routes=N"
// stream: dump(), one NetlinkMessage per record, counted; retain: the same, every record kept in
// an array; batch: dumpBatches(), records counted in place in the ring (no object per record).
'use strict';
const { NetlinkSocket, MessageBuilder, NLM_F_REQUEST, NLM_F_DUMP } = require('..');

const [mode, netns] = process.argv.slice(2);
const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;
const sock = NetlinkSocket.open({ protocol: 'route', netns });
const req = new MessageBuilder().begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 0).bytes(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).finish();
let routes = 0;
const kept = [];
const end = {
  error: (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
  complete: () => {
    process.stdout.write(`routes=${routes}\n`);
    sock.close();
  },
};
if (mode === 'batch') {
  sock.dumpBatches(req, { onInterrupted: 'flag' }).subscribe({
    ...end,
    next: ({ cursor }) => {
      while (cursor.next()) if (cursor.type === RTM_NEWROUTE) routes++;
    },
  });
} else {
  sock.dump(req, { onInterrupted: 'flag' }).subscribe({
    ...end,
    next: (m) => {
      if (m.type !== RTM_NEWROUTE) return;
      routes++;
      if (mode === 'retain') kept.push(m);
    },
  });
}
