// kring consumer for `npm run bench:nfqueue`, same contract and same work as c/nfqconsumer.c:
// every packet's id, hw protocol, hook and payload length read, every packet accepted, the
// verdicts of a wake-up sent together (a batch verdict where safe).
//   node bench/kring-nfqueue.js QUEUE MAXLEN RCVBUF
'use strict';
const { NfQueue } = require('..');

const [queue, maxLen, rcvbuf] = process.argv.slice(2).map(Number);
(async () => {
  const q = await NfQueue.open({ queue, maxLen, rcvbuf });
  let verdicts = 0;
  let enobufs = 0;
  let sum = 0;
  q.losses().subscribe((l) => {
    if (l.kind === 'enobufs') enobufs += l.count;
  });
  const sub = q.batches().subscribe((packets) => {
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      sum += p.id + p.hwProtocol + p.hook + p.payload.length;
      q.accept(p);
    }
    verdicts += packets.length;
  });
  process.stdout.write('ready\n');
  const end = () => {
    sub.unsubscribe();
    q.close();
    process.stdout.write(`enobufs=${enobufs}\nverdicts=${verdicts}\n`);
    process.stderr.write(`sum=${sum}\n`);
    process.exit(0);
  };
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
})();
