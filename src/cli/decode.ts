/**
 * A one-line decode of a frame, in the shape `tcpdump -n` prints: Ethernet (with 802.1Q tags),
 * IPv4, IPv6, TCP, UDP, SCTP, ICMP, ICMPv6 and ARP; anything else by its ethertype or protocol number.
 * For the CLI's text output; never throws on short or malformed frames (it says what is missing).
 * @packageDocumentation
 */
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, VLAN_TPIDS } from '../constants';
import { formatHardware, formatIPv4, formatIPv6 } from '../rtnetlink/ip-address';

const ICMP_TYPES: Record<number, string> = {
  0: 'echo reply',
  3: 'unreachable',
  4: 'source quench',
  5: 'redirect',
  8: 'echo request',
  11: 'time exceeded',
  12: 'parameter problem',
  13: 'time stamp request',
  14: 'time stamp reply',
};
const ICMP6_TYPES: Record<number, string> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
};

/** The decode of a frame from its link-layer header (`protocol` unused) or, with `network`, of network-layer data of that ethertype. */
export function decodeLine(data: Uint8Array, opts: { network?: boolean; protocol?: number } = {}): string {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (opts.network) return decodeNetwork(b, opts.protocol ?? 0, 0);
  if (b.length < 14) return `[|ether] length ${b.length}`;
  let type = b.readUInt16BE(12);
  let at = 14;
  const tags: string[] = [];
  while (VLAN_TPIDS.includes(type) && b.length >= at + 4) {
    const tci = b.readUInt16BE(at);
    tags.push(`vlan ${tci & 0xfff}, p ${tci >> 13}`);
    type = b.readUInt16BE(at + 2);
    at += 4;
  }
  const prefix = tags.length ? `${tags.join(', ')}, ` : '';
  return prefix + decodeNetwork(b, type, at);
}

function decodeNetwork(b: Buffer, type: number, at: number): string {
  const length = b.length - at;
  if (type === ETH_P_IP) return decodeIPv4(b, at);
  if (type === ETH_P_IPV6) return decodeIPv6(b, at);
  if (type === ETH_P_ARP) return decodeArp(b, at);
  return `ethertype 0x${type.toString(16).padStart(4, '0')}, length ${length}`;
}

function decodeIPv4(b: Buffer, at: number): string {
  if (b.length < at + 20) return `IP [|ip] length ${b.length - at}`;
  const ihl = (b[at] & 0xf) * 4;
  const total = b.readUInt16BE(at + 2);
  const frag = b.readUInt16BE(at + 6);
  const proto = b[at + 9];
  const src = formatIPv4(b.subarray(at + 12, at + 16));
  const dst = formatIPv4(b.subarray(at + 16, at + 20));
  const l4 = at + ihl;
  const payloadLen = Math.max(0, Math.min(total, b.length - at) - ihl);
  if ((frag & 0x1fff) !== 0) return `IP ${src} > ${dst}: ip-proto-${proto} (frag offset ${(frag & 0x1fff) * 8}), length ${payloadLen}`;
  return transport('IP', src, dst, proto, b, l4, payloadLen);
}

function decodeIPv6(b: Buffer, at: number): string {
  if (b.length < at + 40) return `IP6 [|ip6] length ${b.length - at}`;
  const plen = b.readUInt16BE(at + 4);
  let next = b[at + 6];
  const src = formatIPv6(b.subarray(at + 8, at + 24));
  const dst = formatIPv6(b.subarray(at + 24, at + 40));
  let l4 = at + 40;
  let len = plen;
  if (next === 44 && b.length >= l4 + 8) {
    // A fragment header: the transport header follows in the first fragment only.
    const off = b.readUInt16BE(l4 + 2) & 0xfff8;
    next = b[l4];
    l4 += 8;
    len -= 8;
    if (off !== 0) return `IP6 ${src} > ${dst}: frag (offset ${off}) ip-proto-${next}, length ${len}`;
  }
  return transport('IP6', src, dst, next, b, l4, len);
}

function transport(ip: string, src: string, dst: string, proto: number, b: Buffer, at: number, len: number): string {
  const have = b.length - at;
  // Ports are the first four bytes of TCP, UDP and SCTP: shown whenever they are there, as tcpdump does.
  if ((proto === 6 || proto === 17 || proto === 132) && have >= 4 && have < (proto === 6 ? 20 : proto === 17 ? 8 : 12)) {
    return `${ip} ${src}.${b.readUInt16BE(at)} > ${dst}.${b.readUInt16BE(at + 2)}: ${proto === 6 ? 'tcp [|tcp]' : proto === 17 ? 'udp [|udp]' : 'sctp [|sctp]'}`;
  }
  if (proto === 6) {
    if (have < 20) return `${ip} ${src} > ${dst}: tcp [|tcp]`;
    const sp = b.readUInt16BE(at);
    const dp = b.readUInt16BE(at + 2);
    const off = (b[at + 12] >> 4) * 4;
    return `${ip} ${src}.${sp} > ${dst}.${dp}: Flags [${tcpFlags(b[at + 13])}], length ${Math.max(0, len - off)}`;
  }
  if (proto === 17) {
    if (have < 8) return `${ip} ${src} > ${dst}: udp [|udp]`;
    return `${ip} ${src}.${b.readUInt16BE(at)} > ${dst}.${b.readUInt16BE(at + 2)}: UDP, length ${Math.max(0, b.readUInt16BE(at + 4) - 8)}`;
  }
  if (proto === 132) {
    if (have < 12) return `${ip} ${src} > ${dst}: sctp [|sctp]`;
    return `${ip} ${src}.${b.readUInt16BE(at)} > ${dst}.${b.readUInt16BE(at + 2)}: sctp, length ${len}`;
  }
  if (proto === 1 && ip === 'IP') {
    if (have < 1) return `${ip} ${src} > ${dst}: ICMP [|icmp]`;
    return `${ip} ${src} > ${dst}: ICMP ${ICMP_TYPES[b[at]] ?? `type ${b[at]}`}, length ${len}`;
  }
  if (proto === 58) {
    if (have < 1) return `${ip} ${src} > ${dst}: ICMP6 [|icmp6]`;
    return `${ip} ${src} > ${dst}: ICMP6, ${ICMP6_TYPES[b[at]] ?? `type ${b[at]}`}, length ${len}`;
  }
  return `${ip} ${src} > ${dst}: ip-proto-${proto} ${len}`;
}

// tcpdump's flag letters: S, F, R, P, U, E, W, and '.' for ACK.
function tcpFlags(f: number): string {
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x20) s += 'U';
  if (f & 0x40) s += 'E';
  if (f & 0x80) s += 'W';
  if (f & 0x10) s += '.';
  return s || 'none';
}

function decodeArp(b: Buffer, at: number): string {
  if (b.length < at + 28 || b.readUInt16BE(at + 2) !== ETH_P_IP || b[at + 4] !== 6 || b[at + 5] !== 4) return `ARP, length ${b.length - at}`;
  const op = b.readUInt16BE(at + 6);
  const sha = formatHardware(b.subarray(at + 8, at + 14));
  const spa = formatIPv4(b.subarray(at + 14, at + 18));
  const thaBytes = b.subarray(at + 18, at + 24);
  const tha = formatHardware(thaBytes);
  const tpa = formatIPv4(b.subarray(at + 24, at + 28));
  // As tcpdump: a request shows the target's hardware address when it is not all zeros.
  if (op === 1) return `ARP, Request who-has ${tpa}${thaBytes.some((x) => x !== 0) ? ` (${tha})` : ''} tell ${spa}, length 28`;
  if (op === 2) return `ARP, Reply ${spa} is-at ${sha}, length 28`;
  if (op === 3) return `ARP, Reverse Request who-is ${tha} tell ${sha}, length 28`;
  if (op === 4) return `ARP, Reverse Reply ${tha} at ${tpa}, length 28`;
  return `ARP, op ${op}, length 28`;
}

/** The Ethernet header's length with the 802.1Q tags it carries inline (as in a file), at most the frame's. */
export function etherHeaderLength(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 12;
  while (b.length >= at + 6 && VLAN_TPIDS.includes(dv.getUint16(at))) at += 4;
  return Math.min(at + 2, b.length);
}

/** `-x`: the bytes as tcpdump prints them, 16 per line in groups of two, each line indented with its offset. */
export function hexLines(data: Uint8Array): string {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const lines: string[] = [];
  for (let off = 0; off < b.length; off += 16) {
    const row = b.subarray(off, off + 16).toString('hex');
    lines.push(`\t0x${off.toString(16).padStart(4, '0')}:  ${(row.match(/.{1,4}/g) ?? []).join(' ')}`);
  }
  return lines.join('\n');
}
