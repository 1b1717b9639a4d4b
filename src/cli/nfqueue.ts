/**
 * `kring nfqueue`: judges the packets of a queue, one line (or JSON object) each. `--quiet`
 * follows the contract of the shared netlink bench harness: nothing per packet, and on SIGTERM or
 * SIGINT the last lines `enobufs=N` and `verdicts=N`.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { NfPacket } from '../nfqueue/packet';
import { NfQueue } from '../nfqueue/queue';
import { positiveInt, untilDone, UsageError } from './usage';

/** The nfqueue command's usage lines. */
export const NFQUEUE_USAGE = `  kring nfqueue --queue N [--verdict accept|drop] [--mark M] [-c COUNT] [--json]
                [--maxlen N] [--rcvbuf BYTES] [--netns NAME] [--quiet]

  --queue N           the queue to bind (0..65535; iptables -j NFQUEUE --queue-num N)
  --verdict V         accept (default) or drop every packet
  --mark M            set this mark on every packet judged
  -c, --count N       stop after N packets
  --json              one JSON object per packet
  --maxlen N          packets the kernel keeps waiting (NFQA_CFG_QUEUE_MAXLEN)
  --rcvbuf BYTES      socket receive buffer
  --netns NAME        bind inside network namespace NAME
  --quiet             no output per packet; on SIGTERM or SIGINT print enobufs=N, verdicts=N
`;

/** Bytes of each packet shown in hex. */
const HEX_BYTES = 32;

function formatPacket(p: NfPacket, json: boolean): string {
  const hex = Buffer.from(p.payload.buffer, p.payload.byteOffset, Math.min(HEX_BYTES, p.payload.length)).toString('hex');
  if (json) {
    return JSON.stringify({
      queue: p.queue,
      id: p.id,
      hook: p.hook,
      hwProtocol: p.hwProtocol,
      mark: p.mark,
      indev: p.indev,
      outdev: p.outdev,
      len: p.origLen,
      caplen: p.payload.length,
      hex,
    });
  }
  const proto = `0x${p.hwProtocol.toString(16).padStart(4, '0')}`;
  return `queue=${p.queue} id=${p.id} hook=${p.hook} proto=${proto} mark=${p.mark} in=${p.indev} out=${p.outdev} len=${p.origLen} caplen=${p.payload.length} ${hex}`;
}

function queueNumber(v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !/^\d+$/.test(v) || n > 0xffff) throw new UsageError(`nfqueue needs --queue N, a queue number 0..65535, got ${JSON.stringify(v)}`);
  return n;
}

/** Runs `kring nfqueue ARGV`; resolves to the exit code. */
export async function nfqueue(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      queue: { type: 'string' },
      verdict: { type: 'string' },
      mark: { type: 'string' },
      count: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      maxlen: { type: 'string' },
      rcvbuf: { type: 'string' },
      netns: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    strict: true,
  });
  const queue = queueNumber(values.queue);
  const verdict = values.verdict ?? 'accept';
  if (verdict !== 'accept' && verdict !== 'drop') throw new UsageError(`--verdict must be accept or drop, got ${JSON.stringify(values.verdict)}`);
  let mark: number | undefined;
  if (values.mark !== undefined) {
    mark = Number(values.mark);
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(values.mark) || mark > 0xffffffff)
      throw new UsageError(`--mark must be a 32-bit number, got ${JSON.stringify(values.mark)}`);
  }
  const limit = positiveInt('--count', values.count) ?? Infinity;
  const quiet = values.quiet ?? false;
  const json = values.json ?? false;
  const q = await NfQueue.open({
    queue,
    netns: values.netns,
    maxLen: positiveInt('--maxlen', values.maxlen),
    rcvbuf: positiveInt('--rcvbuf', values.rcvbuf),
  });
  const options = mark === undefined ? undefined : { mark };
  let judged = 0;
  const out: string[] = [];
  const onBatch = (packets: readonly NfPacket[], finish: (code: number) => void) => {
    for (let i = 0; i < packets.length; i++) {
      // Past the count, packets are left to the kernel (dropped when the socket closes).
      if (judged >= limit) break;
      const p = packets[i];
      if (verdict === 'accept') q.accept(p, options);
      else q.drop(p, options);
      judged++;
      if (!quiet) out.push(formatPacket(p, json));
    }
    if (out.length) {
      process.stdout.write(out.join('\n') + '\n');
      out.length = 0;
    }
    if (judged >= limit) setImmediate(() => finish(0));
  };
  const done = untilDone(q.batches(), onBatch, () => {
    const st = q.stats();
    q.close();
    if (quiet) process.stdout.write(`enobufs=${st.enobufs}\nverdicts=${judged}\n`);
    else process.stderr.write(`${judged} packets judged (${verdict}), ${st.enobufs} overruns\n`);
  });
  if (!quiet) process.stderr.write(`kring: judging queue ${queue} (${verdict})\n`);
  return done;
}
