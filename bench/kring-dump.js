// kring readers for the netlink dump benchmark (IPv4 routes, every table):
//   node bench/kring-dump.js MODE NETNS    -> prints "routes=N"
// batch:  NetlinkSocket.dumpBatches(), records counted in place in the ring (no object per record);
// stream: NetlinkSocket.dump(), one NetlinkMessage (a copy) per record, counted;
// routes: routes(), one decoded Route per RxJS emission, counted (the typed streamed path);
// retain: getRoutes(), every decoded Route kept in one array (the typed retained path).
'use strict';
const { NetlinkSocket, routeDumpRequest, routes, getRoutes, AF_INET } = require('..');

const [mode, netns] = process.argv.slice(2);
const RTM_NEWROUTE = 24;
let count = 0;
const fail = (e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
};
const report = () => process.stdout.write(`routes=${count}\n`);

if (mode === 'routes') {
  routes({ netns, family: AF_INET, onInterrupted: 'flag' }).subscribe({ next: () => void count++, error: fail, complete: report });
} else if (mode === 'retain') {
  getRoutes({ netns, family: AF_INET }).then((all) => {
    count = all.length;
    report();
  }, fail);
} else {
  const sock = NetlinkSocket.open({ protocol: 'route', netns });
  const req = routeDumpRequest({ family: AF_INET });
  const end = { error: fail, complete: () => (report(), sock.close()) };
  if (mode === 'batch') {
    sock.dumpBatches(req, { onInterrupted: 'flag' }).subscribe({
      ...end,
      next: ({ cursor }) => {
        while (cursor.next()) if (cursor.type === RTM_NEWROUTE) count++;
      },
    });
  } else {
    sock.dump(req, { onInterrupted: 'flag' }).subscribe({ ...end, next: (m) => void (m.type === RTM_NEWROUTE && count++) });
  }
}
