/**
 * `kring capture`: frames from an AF_PACKET ring, one line (or JSON object) each, a summary at the
 * end. `--quiet` follows the contract of the shared AF_PACKET bench harness: print `ready` once
 * capturing, and on SIGINT a last line `captured=N kpkts=N kdrops=N`.
 * @packageDocumentation
 */
import { constants as bufferConstants } from 'node:buffer';
import { parseArgs } from 'node:util';
import { PACKET_BROADCAST, PACKET_HOST, PACKET_LOOPBACK, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING } from '../constants';
import { FrameBatch, FrameView } from '../packet/batch';
import { TpacketVersionName } from '../packet/options';
import { PacketSocket } from '../packet/socket';
import { positiveInt, untilDone, UsageError } from './usage';

/** The capture command's usage lines. */
export const CAPTURE_USAGE = `  kring capture -i IFACE [-c COUNT] [--ring v1|v2|v3] [--snaplen N] [--buffer-mb N]
                [--netns NAME] [--promisc] [--json] [--quiet]

  -i, --interface IFACE  interface to capture on ('any' for all)
  -c, --count N          stop after N frames
      --ring V           ring header layout: v1, v2 or v3 (default v3)
      --snaplen N        bytes kept per frame (default: whole frames)
      --buffer-mb N      ring size in MiB (default 4)
      --netns NAME       capture inside network namespace NAME
      --promisc          promiscuous mode
      --json             one JSON object per frame
      --quiet            print "ready", read every frame's lengths and first byte without
                         printing it; on SIGINT print captured=N kpkts=N kdrops=N sum=N
`;

const PKTTYPES: Record<number, string> = {
  [PACKET_HOST]: 'host',
  [PACKET_BROADCAST]: 'broadcast',
  [PACKET_MULTICAST]: 'multicast',
  [PACKET_OTHERHOST]: 'otherhost',
  [PACKET_OUTGOING]: 'outgoing',
  [PACKET_LOOPBACK]: 'loopback',
};

/** Bytes of each frame shown in hex. */
const HEX_BYTES = 32;

function formatFrame(v: FrameView, json: boolean): string {
  const ts = `${v.sec}.${String(v.nsec).padStart(9, '0')}`;
  const data = v.data;
  const hex = Buffer.from(data.buffer, data.byteOffset, Math.min(HEX_BYTES, data.length)).toString('hex');
  const pkttype = PKTTYPES[v.pkttype] ?? String(v.pkttype);
  const tci = v.vlanTci;
  if (json) {
    const vlan = tci >= 0 ? { tci, tpid: v.vlanTpid } : null;
    return JSON.stringify({ ts, len: v.len, caplen: v.caplen, ifindex: v.ifindex, pkttype, protocol: v.protocol, vlan, hex });
  }
  const vlan = tci >= 0 ? ` vlan=${tci & 0xfff}` : '';
  return `${ts} if=${v.ifindex} ${pkttype} proto=0x${v.protocol.toString(16).padStart(4, '0')}${vlan} len=${v.len} caplen=${v.caplen} ${hex}`;
}

/** Runs `kring capture ARGV`; resolves to the exit code. */
export async function capture(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      interface: { type: 'string', short: 'i' },
      count: { type: 'string', short: 'c' },
      ring: { type: 'string' },
      snaplen: { type: 'string' },
      'buffer-mb': { type: 'string' },
      netns: { type: 'string' },
      promisc: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.interface) throw new UsageError('capture needs -i IFACE');
  const ring = (values.ring ?? 'v3') as TpacketVersionName;
  if (!['v1', 'v2', 'v3'].includes(ring)) throw new UsageError(`--ring must be v1, v2 or v3, got ${JSON.stringify(values.ring)}`);
  const limit = positiveInt('--count', values.count) ?? Infinity;
  const bufferMb = positiveInt('--buffer-mb', values['buffer-mb']);
  // The ring is one ArrayBuffer, which this Node caps at buffer.constants.MAX_LENGTH.
  const maxMb = Math.floor(bufferConstants.MAX_LENGTH / 2 ** 20);
  if (bufferMb !== undefined && bufferMb > maxMb)
    throw new UsageError(
      `--buffer-mb must be at most ${maxMb} (the ring is mapped as one ArrayBuffer, at most buffer.constants.MAX_LENGTH bytes), got ${bufferMb}`,
    );
  const sock = PacketSocket.open({
    interface: values.interface,
    netns: values.netns,
    version: ring,
    snaplen: positiveInt('--snaplen', values.snaplen),
    bufferBytes: bufferMb === undefined ? undefined : bufferMb * 2 ** 20,
    promiscuous: values.promisc ?? false,
  });
  const quiet = values.quiet ?? false;
  const json = values.json ?? false;
  let captured = 0;
  let touched = 0; // what --quiet read, printed so that the work cannot be optimised away
  const out: string[] = [];

  const onBatch = (batch: FrameBatch, finish: (code: number) => void) => {
    if (quiet) {
      // The harness contract's work, as its C readers do it: every frame walked, its length fields
      // and first payload byte read (from the batch's arrays: one lease check per batch).
      const n = Math.min(batch.length, limit - captured);
      const lens = batch.lengths;
      const caplens = batch.caplens;
      const at = batch.dataOffsets;
      const bytes = batch.bytes;
      for (let i = 0; i < n; i++) touched += lens[i] + caplens[i] + (caplens[i] > 0 ? bytes[at[i]] : 0);
      captured += n;
    } else {
      for (let i = 0; i < batch.length && captured < limit; i++, captured++) out.push(formatFrame(batch.frame(i), json));
      process.stdout.write(out.join('\n') + '\n');
      out.length = 0;
    }
    if (captured >= limit) setImmediate(() => finish(0));
  };
  const done = untilDone(sock.batches(), onBatch, () => {
    const st = sock.stats();
    sock.close();
    if (quiet) process.stdout.write(`captured=${captured} kpkts=${st.packets} kdrops=${st.drops} sum=${touched}\n`);
    else process.stderr.write(`${captured} frames captured, ${st.drops} dropped by the kernel\n`);
  });
  if (quiet) process.stdout.write('ready\n');
  else process.stderr.write(`kring: listening on ${values.interface}, TPACKET_${sock.ring!.version.toUpperCase()} ring of ${sock.ring!.bytes} bytes\n`);
  return done;
}
