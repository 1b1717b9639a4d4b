/**
 * tshark as the outside reader of capture files: every frame's timestamp (as tshark prints it,
 * nanoseconds kept), lengths, interface name, direction and bytes.
 */
import { execFileSync } from 'node:child_process';

export interface TsharkFrame {
  /** frame.time_epoch, as printed ("1700000000.123456789"). */
  epoch: string;
  len: number;
  caplen: number;
  /** frame.interface_name (pcapng), or ''. */
  iface: string;
  /** frame.packet_flags_direction (pcapng epb_flags): '1' inbound, '2' outbound, or ''. */
  direction: string;
  /** The frame's bytes in hex. */
  hex: string;
}

/** Every frame of `file` as tshark reads it (throws when tshark cannot read the file). */
export function tsharkFrames(file: string, ...extra: string[]): TsharkFrame[] {
  const opts = { encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 };
  const fields = execFileSync(
    'tshark',
    [
      '-r',
      file,
      ...extra,
      '-T',
      'fields',
      '-e',
      'frame.time_epoch',
      '-e',
      'frame.len',
      '-e',
      'frame.cap_len',
      '-e',
      'frame.interface_name',
      '-e',
      'frame.packet_flags_direction',
    ],
    opts,
  )
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
  const raw = JSON.parse(execFileSync('tshark', ['-r', file, ...extra, '-T', 'json', '-x'], opts) || '[]') as {
    _source: { layers: { frame_raw: [string] } };
  }[];
  if (raw.length !== fields.length) throw new Error(`tshark gave ${fields.length} field lines and ${raw.length} raw frames`);
  return fields.map(([epoch, len, caplen, iface, direction], i) => ({
    epoch,
    len: Number(len),
    caplen: Number(caplen),
    iface: iface ?? '',
    direction: direction ?? '',
    hex: raw[i]._source.layers.frame_raw[0],
  }));
}

/** The protocol stack tshark dissects for each frame (frame.protocols: "eth:ethertype:ip:udp:data"). */
export function tsharkProtocols(file: string): string[] {
  return execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')
    .filter((l) => l !== '');
}
