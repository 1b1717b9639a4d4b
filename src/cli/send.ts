/**
 * `kring send`: replays a capture file through an AF_PACKET TX ring, frame by frame in file order,
 * and reports the frames sent and the rate. `--quiet` prints only a final `sent=N`.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { LINKTYPE_ETHERNET } from '../constants';
import { TpacketVersionName } from '../packet/options';
import { PacketSocket } from '../packet/socket';
import { readCaptureFile } from '../pcap/read';
import { CommandError, positiveInt, UsageError } from './usage';

/** The send command's usage lines. */
export const SEND_USAGE = `  kring send -i IFACE -r FILE [--batch N] [--loop N] [--pps RATE] [--ring v1|v2|v3]
             [--netns NAME] [--quiet]

  -i, --interface IFACE  interface to send on
  -r, --read FILE        pcap or pcapng file of Ethernet frames to replay
      --batch N          frames per kick (default 64)
      --loop N           replay the file N times (default 1)
      --pps RATE         at most RATE frames per second (default: as fast as the ring goes)
      --ring V           ring header layout: v1, v2 or v3 (default v2)
      --netns NAME       send inside network namespace NAME
      --quiet            print only sent=N at the end
`;

/** Runs `kring send ARGV`; resolves to the exit code. */
export async function send(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      interface: { type: 'string', short: 'i' },
      read: { type: 'string', short: 'r' },
      batch: { type: 'string' },
      loop: { type: 'string' },
      pps: { type: 'string' },
      ring: { type: 'string' },
      netns: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.interface) throw new UsageError('send needs -i IFACE');
  if (!values.read) throw new UsageError('send needs -r FILE');
  const batch = positiveInt('--batch', values.batch);
  const loops = positiveInt('--loop', values.loop) ?? 1;
  const pps = positiveInt('--pps', values.pps);
  const version = (values.ring ?? 'v2') as TpacketVersionName;
  if (!['v1', 'v2', 'v3'].includes(version)) throw new UsageError(`--ring must be v1, v2 or v3, got ${JSON.stringify(values.ring)}`);
  const file = values.read;

  const sock = PacketSocket.open({ interface: values.interface, netns: values.netns, version, rx: false, tx: { batch } });
  const w = sock.writer;
  let stop = false;
  // SIGINT/SIGTERM end the replay, also while it waits for room in a stalled ring.
  const cancel = new AbortController();
  const onSignal = () => {
    stop = true;
    cancel.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const start = process.hrtime.bigint();
  let written = 0; // frames handed to the writer (its stats say what the kernel sent)
  try {
    for (let loop = 0; loop < loops && !stop; loop++) {
      for await (const r of readCaptureFile(file)) {
        if (stop) break;
        if (r.linktype !== LINKTYPE_ETHERNET) {
          throw new CommandError(`${file}: record at byte ${r.offset} has link type ${r.linktype}; kring send replays Ethernet frames (link type 1)`, 1);
        }
        if (pps !== undefined) {
          // Pace: frame k leaves no earlier than k / pps seconds after the start.
          const due = Number(start) / 1e6 + (written * 1000) / pps;
          const now = Number(process.hrtime.bigint()) / 1e6;
          if (due > now) {
            w.send();
            await new Promise((r) => setTimeout(r, due - now));
          }
        }
        while (!w.write(r.data)) await w.writable({ signal: cancel.signal });
        written++;
      }
    }
    await w.flush({ signal: cancel.signal });
  } catch (e) {
    if (!cancel.signal.aborted) throw e; // interrupted: the summary below says what went out
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const { sent, wrongFormat } = w.stats();
    sock.close();
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    if (values.quiet) process.stdout.write(`sent=${sent}\n`);
    else {
      const refused = wrongFormat ? `, ${wrongFormat} refused by the kernel` : '';
      process.stdout.write(`${sent} frames sent in ${secs.toFixed(3)} s (${Math.round(sent / Math.max(secs, 1e-9))} frames/s)${refused}\n`);
    }
  }
  return 0;
}
