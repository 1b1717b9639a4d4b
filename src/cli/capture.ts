/**
 * `kring capture`: frames from an AF_PACKET ring, one line (or JSON object) each, a summary at the
 * end. `--quiet` follows the contract of the shared AF_PACKET bench harness: print `ready` once
 * capturing, and on SIGINT a last line `captured=N kpkts=N kdrops=N`.
 * @packageDocumentation
 */
import { constants as bufferConstants } from 'node:buffer';
import { parseArgs } from 'node:util';
import { compileFilter } from '../bpf/compile';
import { runFilter } from '../bpf/interpret';
import type { BpfProgram } from '../bpf/program';
import {
  ARPHRD_LOOPBACK,
  ETH_HLEN,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  PACKET_BROADCAST,
  PACKET_HOST,
  PACKET_LOOPBACK,
  PACKET_MULTICAST,
  PACKET_OTHERHOST,
  PACKET_OUTGOING,
} from '../constants';
import { FrameBatch, FrameView } from '../packet/batch';
import { MAX_SNAPLEN, TpacketVersionName } from '../packet/options';
import { PacketSocket } from '../packet/socket';
import { CaptureFileError, readCaptureFile } from '../pcap/read';
import { CaptureWriter, sll2Header, withVlanTag } from '../pcap/write';
import { decodeLine, etherHeaderLength, hexLines } from './decode';
import { InterfaceNames } from './if-names';
import { CommandError, positiveInt, untilDone, UsageError, write } from './usage';

/** The capture command's usage lines. */
export const CAPTURE_USAGE = `  kring capture [-i IFACE|any] [-w FILE] [-r FILE] [-c N] [-s SNAPLEN] [-B KIB] [-p] [-n] [-x]
                [-G SECONDS] [-C MB] [-W N] [--ring v1|v2|v3] [--netns NAME] [--format pcap|pcapng]
                [--json] [--quiet] [EXPRESSION...]
  kring read -r FILE [-c N] [-x] [--json] [EXPRESSION...]

  -i, --interface IFACE  interface to capture on ('any': every interface, Linux cooked v2 in files)
  -w FILE                write the frames to FILE (pcapng, or pcap when FILE ends in .pcap)
  -r FILE                read frames from a pcap or pcapng file instead (as kring read)
  -c N                   stop after N frames
  -s, --snaplen N        bytes kept per frame (0 or default: whole frames)
  -B KIB                 ring size in KiB (default 4096; --buffer-mb N in MiB)
  -p                     do not put the interface in promiscuous mode (it is by default)
  -n                     accepted for tcpdump's sake: addresses are never resolved
  -x                     print each frame's bytes in hex after its line, from the network header
  -G SECONDS             with -w: start a new file every SECONDS (FILE may hold strftime %Y %m %d %H %M %S)
  -C MB                  with -w: start a new file when this one passes MB million bytes (FILE, FILE1, …)
  -W N                   with -C: keep N files, reused in turn; with -G: stop after N files
      --ring V           ring header layout: v1, v2 or v3 (default v3)
      --netns NAME       capture inside network namespace NAME
      --format F         -w's format: pcap or pcapng
      --json             one JSON object per frame
      --quiet            print "ready", read every frame's lengths and first byte without
                         printing it; on SIGINT print captured=N kpkts=N kdrops=N sum=N
  EXPRESSION             a pcap-filter expression ("tcp port 80", "host 10.0.0.1 and not arp"),
                         compiled by kring and attached to the socket (no libpcap)
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

/** Runs `kring capture ARGV`; resolves to the exit code. */
export async function capture(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      interface: { type: 'string', short: 'i' },
      write: { type: 'string', short: 'w' },
      read: { type: 'string', short: 'r' },
      count: { type: 'string', short: 'c' },
      snaplen: { type: 'string', short: 's' },
      buffer: { type: 'string', short: 'B' },
      'buffer-mb': { type: 'string' },
      'no-promisc': { type: 'boolean', short: 'p' },
      promisc: { type: 'boolean' },
      numeric: { type: 'boolean', short: 'n' },
      hex: { type: 'boolean', short: 'x' },
      rotate: { type: 'string', short: 'G' },
      'file-size': { type: 'string', short: 'C' },
      'file-count': { type: 'string', short: 'W' },
      ring: { type: 'string' },
      netns: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const expression = positionals.join(' ');
  if (values.read !== undefined) {
    if (values.interface !== undefined || values.write !== undefined) throw new UsageError('-r reads a file: it takes no -i or -w');
    return readFile(values.read, expression, { count: positiveInt('-c', values.count), hex: values.hex, json: values.json });
  }
  if (!values.interface) throw new UsageError('capture needs -i IFACE (or -r FILE)');
  const ring = (values.ring ?? 'v3') as TpacketVersionName;
  if (!['v1', 'v2', 'v3'].includes(ring)) throw new UsageError(`--ring must be v1, v2 or v3, got ${JSON.stringify(values.ring)}`);
  const limit = positiveInt('--count', values.count) ?? Infinity;
  const bufferBytes = bufferOption(values.buffer, values['buffer-mb']);
  const snap = values.snaplen === undefined ? undefined : Number(values.snaplen);
  if (snap !== undefined && !(Number.isInteger(snap) && snap >= 0 && snap <= MAX_SNAPLEN)) {
    throw new UsageError(`--snaplen must be 0 (whole frames) to ${MAX_SNAPLEN}, got ${JSON.stringify(values.snaplen)}`);
  }
  const files = fileOptions(values);
  const any = values.interface === 'any';
  // 'any' has devices of every link type: as tcpdump, read network-layer data (Linux cooked v2 in files).
  const mode = any ? 'dgram' : 'raw';
  let sock: PacketSocket;
  try {
    sock = PacketSocket.open({
      interface: values.interface,
      netns: values.netns,
      version: ring,
      mode,
      snaplen: snap || undefined,
      bufferBytes,
      promiscuous: !values['no-promisc'] && !any,
      filter: expression || undefined,
    });
  } catch (e) {
    if (e instanceof SyntaxError) throw new UsageError(`filter: ${e.message}`);
    throw e;
  }
  const quiet = values.quiet ?? false;
  const json = values.json ?? false;
  const hex = values.hex ?? false;
  // Names for text lines, and for -i any's files (a pcapng interface per device).
  const names = quiet || (files && !(any && files.format === 'pcapng')) ? null : await InterfaceNames.open(values.netns).catch(() => null);
  const out = files ? new RotatingWriter(files, any, values.interface, snap || MAX_SNAPLEN, names) : null;
  let captured = 0;
  let bytes = 0;
  let touched = 0; // what --quiet read, printed so that the work cannot be optimised away
  const lines: string[] = [];

  const onBatch = (batch: FrameBatch, finish: (code: number) => void) => {
    if (quiet) {
      // The harness contract's work, as its C readers do it: every frame walked, its length fields
      // and first payload byte read (from the batch's arrays: one lease check per batch).
      const n = Math.min(batch.length, limit - captured);
      const lens = batch.lengths;
      const caplens = batch.caplens;
      const at = batch.dataOffsets;
      const data = batch.bytes;
      for (let i = 0; i < n; i++) touched += lens[i] + caplens[i] + (caplens[i] > 0 ? data[at[i]] : 0);
      captured += n;
    } else {
      for (let i = 0; i < batch.length && captured < limit; i++) {
        const v = batch.frame(i);
        // As libpcap: a loopback device shows each packet twice (sent, then received); keep one.
        if (v.pkttype === PACKET_OUTGOING && v.hatype === ARPHRD_LOOPBACK) continue;
        captured++;
        bytes += v.caplen;
        if (out) out.write(v);
        else if (json) lines.push(formatJson(v, names));
        else lines.push(formatText(v, names, any, hex));
      }
      if (lines.length) {
        process.stdout.write(lines.join('\n') + '\n');
        lines.length = 0;
      }
      out?.tick();
    }
    if (captured >= limit || out?.done) setImmediate(() => finish(0));
  };
  const started = Date.now();
  const progress =
    process.stderr.isTTY && !quiet
      ? setInterval(() => {
          const s = (Date.now() - started) / 1000;
          process.stderr.write(`\r${captured} frames, ${bytes} bytes, ${Math.round(captured / s)} frames/s, ${sock.stats().drops} dropped by the kernel `);
        }, 1000)
      : null;
  let unfinished = false;
  const done = untilDone(sock.batches(), onBatch, () => {
    if (progress) {
      clearInterval(progress);
      process.stderr.write('\n');
    }
    const st = sock.stats();
    sock.close();
    names?.close();
    try {
      out?.close(st);
    } catch (e) {
      // The file could not be finished (a full disk): said, and the exit is a failure, not a throw
      // past the capture's end.
      process.stderr.write(`kring: ${files!.path}: ${(e as Error).message}\n`);
      unfinished = true;
    }
    if (quiet) process.stdout.write(`captured=${captured} kpkts=${st.packets} kdrops=${st.drops} sum=${touched}\n`);
    else process.stderr.write(`${captured} frames captured, ${st.drops} dropped by the kernel\n`);
  });
  if (quiet) process.stdout.write('ready\n');
  else {
    const where = out ? `, writing ${files!.path}` : '';
    process.stderr.write(`kring: listening on ${values.interface}, TPACKET_${sock.ring!.version.toUpperCase()} ring of ${sock.ring!.bytes} bytes${where}\n`);
  }
  return done.then((code) => (unfinished ? 1 : code));
}

function bufferOption(kib: string | undefined, mib: string | undefined): number | undefined {
  if (kib !== undefined && mib !== undefined) throw new UsageError('give -B KIB or --buffer-mb MIB, not both');
  const kb = positiveInt('-B', kib);
  const mb = positiveInt('--buffer-mb', mib);
  const bytes = kb !== undefined ? kb * 1024 : mb !== undefined ? mb * 2 ** 20 : undefined;
  // The ring is one ArrayBuffer, which this Node caps at buffer.constants.MAX_LENGTH.
  const maxMb = Math.floor(bufferConstants.MAX_LENGTH / 2 ** 20);
  if (bytes !== undefined && bytes > maxMb * 2 ** 20) {
    const [flag, max, got] = kb !== undefined ? ['-B', maxMb * 1024, kb] : ['--buffer-mb', maxMb, mb];
    throw new UsageError(`${flag} must be at most ${max} (the ring is mapped as one ArrayBuffer, at most buffer.constants.MAX_LENGTH bytes), got ${got}`);
  }
  return bytes;
}

/** Where -w writes, and how it rotates. */
interface FileOptions {
  path: string;
  format: 'pcap' | 'pcapng';
  seconds?: number;
  megabytes?: number;
  count?: number;
}

function fileOptions(v: { write?: string; rotate?: string; 'file-size'?: string; 'file-count'?: string; format?: string }): FileOptions | null {
  if (v.write === undefined) {
    for (const [flag, val] of [
      ['-G', v.rotate],
      ['-C', v['file-size']],
      ['-W', v['file-count']],
      ['--format', v.format],
    ] as const) {
      if (val !== undefined) throw new UsageError(`${flag} goes with -w FILE`);
    }
    return null;
  }
  if (v.format !== undefined && v.format !== 'pcap' && v.format !== 'pcapng')
    throw new UsageError(`--format must be pcap or pcapng, got ${JSON.stringify(v.format)}`);
  const format = (v.format as 'pcap' | 'pcapng' | undefined) ?? (v.write.endsWith('.pcap') ? 'pcap' : 'pcapng');
  const count = positiveInt('-W', v['file-count']);
  const seconds = positiveInt('-G', v.rotate);
  const megabytes = positiveInt('-C', v['file-size']);
  if (count !== undefined && seconds === undefined && megabytes === undefined) throw new UsageError('-W goes with -C or -G');
  return { path: v.write, format, seconds, megabytes, count };
}

/**
 * -w with tcpdump's rotation: -C starts FILE, FILE1, FILE2, … (with -W N: FILE0 … FILE(N-1),
 * reused in turn); -G starts a new file every SECONDS, named by strftime(FILE) (with -W N: the
 * capture ends after N files).
 */
class RotatingWriter {
  #o: FileOptions;
  #any: boolean;
  #iface: string;
  #snaplen: number;
  #w: CaptureWriter;
  #names: InterfaceNames | null;
  /** -i any, pcapng: each device's interface in the current file, by ifindex. */
  #ids = new Map<number, number>();
  #files = 0;
  #opened = Date.now();
  /** Set when -G with -W has written its last file: the capture should end. */
  done = false;

  constructor(o: FileOptions, any: boolean, iface: string, snaplen: number, names: InterfaceNames | null) {
    this.#o = o;
    this.#any = any;
    this.#iface = iface;
    this.#snaplen = snaplen;
    this.#names = names;
    this.#w = this.#open();
  }

  // The pcapng interface of a frame: one per device on -i any (described on its first frame), else 0.
  #interfaceOf(ifindex: number): number {
    if (!this.#any || this.#o.format !== 'pcapng') return 0;
    let id = this.#ids.get(ifindex);
    if (id === undefined) {
      id = this.#w.addInterface({ linktype: LINKTYPE_LINUX_SLL2, snaplen: this.#snaplen, name: this.#names?.name(ifindex) ?? `if${ifindex}` });
      this.#ids.set(ifindex, id);
    }
    return id;
  }

  get path(): string {
    return this.#o.path;
  }

  #name(): string {
    const { path, megabytes, seconds, count } = this.#o;
    const n = this.#files;
    if (seconds !== undefined) return strftime(path, new Date());
    if (megabytes === undefined) return path;
    if (count !== undefined) return `${path}${String(n % count).padStart(String(count - 1).length, '0')}`;
    return n === 0 ? path : `${path}${n}`;
  }

  #open(): CaptureWriter {
    const name = this.#name();
    this.#files++;
    this.#opened = Date.now();
    const linktype = this.#any ? LINKTYPE_LINUX_SLL2 : LINKTYPE_ETHERNET;
    this.#ids.clear();
    // pcapng: the interface captured on first (on -i any, 'any': the socket's counts go with it).
    return CaptureWriter.open(name, {
      format: this.#o.format,
      linktype,
      snaplen: this.#snaplen,
      ...(this.#o.format === 'pcapng' ? { interfaces: [{ linktype, snaplen: this.#snaplen, name: this.#iface }] } : {}),
    });
  }

  write(v: FrameView): void {
    const data = this.#any ? Buffer.concat([sll2Header(v), v.data]) : withVlanTag(v.data, v.vlanTci >= 0 ? { tci: v.vlanTci, tpid: v.vlanTpid } : null);
    const extra = data.length - v.caplen;
    this.#w.write({
      data,
      len: v.len + extra,
      sec: v.sec,
      nsec: v.nsec,
      ...(this.#o.format === 'pcapng'
        ? { interfaceId: this.#interfaceOf(v.ifindex), direction: v.pkttype === PACKET_OUTGOING ? ('outbound' as const) : ('inbound' as const) }
        : {}),
    });
    if (this.#o.megabytes !== undefined && this.#w.bytes > this.#o.megabytes * 1_000_000) this.#rotate();
  }

  // Once per batch: the time rotation.
  tick(): void {
    if (this.#o.seconds !== undefined && Date.now() - this.#opened >= this.#o.seconds * 1000) {
      if (this.#o.count !== undefined && this.#files >= this.#o.count) {
        this.done = true;
        return;
      }
      this.#rotate();
    }
    this.#w.flush();
  }

  #rotate(): void {
    this.#w.close();
    this.#w = this.#open();
  }

  close(st: { packets: number; drops: number }): void {
    if (this.#o.format === 'pcapng' && !this.#w.closed) this.#w.statistics(0, { received: st.packets, dropped: st.drops });
    this.#w.close();
  }
}

function strftime(pattern: string, d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const map: Record<string, string> = {
    Y: String(d.getFullYear()),
    m: p2(d.getMonth() + 1),
    d: p2(d.getDate()),
    H: p2(d.getHours()),
    M: p2(d.getMinutes()),
    S: p2(d.getSeconds()),
    s: String(Math.floor(d.getTime() / 1000)),
    '%': '%',
  };
  return pattern.replace(/%(.)/g, (m, c: string) => map[c] ?? m);
}

const DIRECTIONS: Record<number, string> = {
  [PACKET_HOST]: 'In',
  [PACKET_BROADCAST]: 'B',
  [PACKET_MULTICAST]: 'M',
  [PACKET_OTHERHOST]: 'P',
  [PACKET_OUTGOING]: 'Out',
};

function clock(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(nsec).padStart(9, '0')}`;
}

// tcpdump -n's line, with the interface and direction always shown.
function formatText(v: FrameView, names: InterfaceNames | null, network: boolean, hex: boolean): string {
  const data = v.data;
  const line = `${clock(v.sec, v.nsec)} ${names ? names.name(v.ifindex) : `if${v.ifindex}`} ${DIRECTIONS[v.pkttype] ?? v.pkttype} ${network ? decodeLine(data, { network, protocol: v.protocol }) : decodeLine(withVlanTag(data, v.vlanTci >= 0 ? { tci: v.vlanTci, tpid: v.vlanTpid } : null))}`;
  // -x as tcpdump's: the bytes from the network header on (the device took any 802.1Q tag out).
  return hex ? `${line}\n${hexLines(network ? data : data.subarray(ETH_HLEN))}` : line;
}

function formatJson(v: FrameView, names: InterfaceNames | null): string {
  const ts = `${v.sec}.${String(v.nsec).padStart(9, '0')}`;
  const data = v.data;
  const hex = Buffer.from(data.buffer, data.byteOffset, Math.min(HEX_BYTES, data.length)).toString('hex');
  const pkttype = PKTTYPES[v.pkttype] ?? String(v.pkttype);
  const tci = v.vlanTci;
  const vlan = tci >= 0 ? { tci, tpid: v.vlanTpid } : null;
  return JSON.stringify({ ts, len: v.len, caplen: v.caplen, ifindex: v.ifindex, interface: names?.name(v.ifindex), pkttype, protocol: v.protocol, vlan, hex });
}

/** `kring read -r FILE [EXPRESSION]` (and `kring capture -r`): a file's frames, filtered, printed as a capture prints them. */
export async function read(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      read: { type: 'string', short: 'r' },
      count: { type: 'string', short: 'c' },
      hex: { type: 'boolean', short: 'x' },
      numeric: { type: 'boolean', short: 'n' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (!values.read) throw new UsageError('read needs -r FILE');
  return readFile(values.read, positionals.join(' '), { count: positiveInt('-c', values.count), hex: values.hex, json: values.json });
}

async function readFile(path: string, expression: string, o: { count?: number; hex?: boolean; json?: boolean }): Promise<number> {
  const programs = new Map<number, BpfProgram | null>();
  const programFor = (linktype: number): BpfProgram | null => {
    if (!expression) return null;
    let p = programs.get(linktype);
    if (p === undefined) {
      if (linktype !== LINKTYPE_ETHERNET && linktype !== LINKTYPE_LINUX_SLL && linktype !== LINKTYPE_LINUX_SLL2) {
        throw new CommandError(`${path}: a filter needs Ethernet or Linux cooked frames, this file has link type ${linktype}`, 1);
      }
      try {
        p = compileFilter(expression, { link: linktype === LINKTYPE_ETHERNET ? 'ethernet' : 'network' });
      } catch (e) {
        if (e instanceof SyntaxError) throw new UsageError(`filter: ${e.message}`);
        throw e;
      }
      programs.set(linktype, p);
    }
    return p;
  };
  let shown = 0;
  const lines: string[] = [];
  try {
    for await (const r of readCaptureFile(path)) {
      if (o.count !== undefined && shown >= o.count) break;
      const frame = splitCooked(r.data, r.linktype);
      const program = programFor(r.linktype);
      if (program && runFilter(program, frame.data, { len: r.len - frame.header, protocol: frame.protocol, pkttype: frame.pkttype }) === 0) continue;
      shown++;
      const ts = `${r.sec}.${String(r.nsec).padStart(9, '0')}`;
      if (o.json) {
        lines.push(
          JSON.stringify({
            ts,
            len: r.len,
            caplen: r.data.length,
            interface: r.interfaceName,
            linktype: r.linktype,
            direction: r.direction,
            hex: r.data.toString('hex'),
          }),
        );
      } else {
        const what =
          r.linktype === LINKTYPE_ETHERNET
            ? decodeLine(frame.data)
            : frame.protocol !== undefined
              ? decodeLine(frame.data, { network: true, protocol: frame.protocol })
              : `link type ${r.linktype}, length ${r.len}`;
        const dir = r.direction === 'outbound' ? ' Out' : r.direction === 'inbound' ? ' In' : '';
        const line = `${clock(r.sec, r.nsec)}${r.interfaceName ? ` ${r.interfaceName}` : ''}${dir} ${what}`;
        lines.push(o.hex ? `${line}\n${hexLines(r.linktype === LINKTYPE_ETHERNET ? frame.data.subarray(etherHeaderLength(frame.data)) : frame.data)}` : line);
      }
      if (lines.length >= 256) await write(lines.splice(0).join('\n') + '\n');
    }
  } catch (e) {
    if (lines.length) await write(lines.splice(0).join('\n') + '\n');
    if (e instanceof CaptureFileError) throw new CommandError(`${path}: ${e.message}`, 1);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CommandError(`${path}: no such file`, 1);
    throw e;
  }
  if (lines.length) await write(lines.join('\n') + '\n');
  return 0;
}

// A Linux cooked frame's header taken off (its protocol and packet type kept); other frames as they are.
function splitCooked(data: Buffer, linktype: number): { data: Buffer; header: number; protocol?: number; pkttype?: number } {
  if (linktype === LINKTYPE_LINUX_SLL && data.length >= 16)
    return { data: data.subarray(16), header: 16, protocol: data.readUInt16BE(14), pkttype: data.readUInt16BE(0) };
  if (linktype === LINKTYPE_LINUX_SLL2 && data.length >= 20) return { data: data.subarray(20), header: 20, protocol: data.readUInt16BE(0), pkttype: data[10] };
  return { data, header: 0 };
}
