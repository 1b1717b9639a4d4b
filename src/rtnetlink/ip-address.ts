/**
 * Address text as the C library's inet_ntop writes it (and `ip` prints it), and back.
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';
import { AF_INET, AF_INET6 } from '../constants';

/** IPv4 dotted quad of 4 bytes at `at`. */
export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** IPv6 text of 16 bytes at `at`, as glibc's inet_ntop: longest zero run compressed, embedded IPv4 for ::ffff:0:0/96 and ::/96. */
export function formatIPv6(b: Uint8Array, at = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    // glibc: an IPv4 tail for the compatible (::a.b.c.d) and mapped (::ffff:a.b.c.d) forms.
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += formatIPv4(b, at + 12);
      break;
    }
    out += w[i].toString(16) + (i < 7 ? ':' : '');
  }
  return out;
}

/** An address of `family` (4 or 16 bytes) as text; other families or lengths as colon hex. */
export function formatAddress(family: number, b: Uint8Array, at = 0, len = b.length - at): string {
  if (family === AF_INET && len >= 4) return formatIPv4(b, at);
  if (family === AF_INET6 && len >= 16) return formatIPv6(b, at);
  return formatHardware(b.subarray(at, at + len));
}

/** Link-layer address as `ip` prints it: lower-case hex bytes joined by colons. */
export function formatHardware(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ':' : '') + b[i].toString(16).padStart(2, '0');
  return s;
}

/** Text → bytes (4 for IPv4, 16 for IPv6). @throws TypeError for anything else */
export function parseAddress(text: string): { family: number; bytes: Uint8Array } {
  if (isIPv4(text)) return { family: AF_INET, bytes: Uint8Array.from(text.split('.').map(Number)) };
  if (!isIPv6(text)) throw new TypeError(`not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
  let t = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  const tail: number[] = [];
  if (v4) {
    const q = v4[1].split('.').map(Number);
    tail.push((q[0] << 8) | q[1], (q[2] << 8) | q[3]);
    t = t.slice(0, -v4[1].length) + (t.endsWith('::' + v4[1]) ? '' : '');
    if (t.endsWith(':') && !t.endsWith('::')) t = t.slice(0, -1);
  }
  const [head, rest] = t.includes('::') ? t.split('::') : [t, null];
  const hw = head
    ? head
        .split(':')
        .filter((x) => x !== '')
        .map((x) => parseInt(x, 16))
    : [];
  const rw = rest
    ? rest
        .split(':')
        .filter((x) => x !== '')
        .map((x) => parseInt(x, 16))
    : [];
  const words = [...hw, ...new Array(8 - hw.length - rw.length - tail.length).fill(0), ...rw, ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((x, i) => {
    bytes[2 * i] = x >> 8;
    bytes[2 * i + 1] = x & 0xff;
  });
  return { family: AF_INET6, bytes };
}
