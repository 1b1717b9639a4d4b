/**
 * Generated Ethernet frames for filter tests: 802.1Q tags (none, one, two), IPv4 with and without
 * options and fragments, IPv6 with and without a fragment header, ARP and RARP, TCP, UDP, SCTP,
 * ICMP, ICMPv6, IGMP and others, over a small set of addresses and ports so that every filter
 * primitive meets both matches and near misses. Deterministic (a seeded generator). Every frame is
 * whole: on a frame cut short, where a load past its end stops a program, two programs of the same
 * meaning may decide differently according to the order of their loads (libpcap's optimiser
 * reorders them), so such frames test instruction order, not the filter's meaning.
 */

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s + Math.imul(s ^ (s >>> 7), s | 61);
    return ((s ^ (s >>> 14)) >>> 0) / 2 ** 32;
  };
}

const V4 = ['10.0.0.1', '10.0.0.2', '10.1.2.3', '192.168.1.1', '224.0.0.5', '255.255.255.255', '0.0.0.0', '172.16.5.4'];
const V6 = ['::1', 'fe80::1', 'fe80::2:3', '2001:db8::1', 'ff02::1', '2001:db8:1::5'];
const MACS = ['00:11:22:33:44:55', '66:77:88:99:aa:bb', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:05', '02:00:00:00:00:01'];
const PORTS = [22, 53, 80, 443, 1000, 10, 15, 20, 21, 8080, 65535, 0];
const PROTOS = [6, 17, 132, 1, 2, 58, 47];

const v4 = (s: string) => s.split('.').map(Number);
function v6(s: string): number[] {
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((w) => parseInt(w, 16));
  return words.flatMap((w) => [w >> 8, w & 255]);
}
const mac = (s: string) => s.split(':').map((h) => parseInt(h, 16));

/** Frames and a label for each (what it was built as). */
export function generatePackets(count: number, seed = 1): { label: string; bytes: Buffer }[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const out: { label: string; bytes: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const tags = r() < 0.7 ? 0 : r() < 0.8 ? 1 : 2;
    const kind = pick(['ip', 'ip', 'ip', 'ip6', 'ip6', 'arp', 'rarp', 'other'] as const);
    const eth = [...mac(pick(MACS)), ...mac(pick(MACS))];
    for (let t = 0; t < tags; t++)
      eth.push(...[0x8100, 0x88a8, 0x9100].map((x) => [x >> 8, x & 255])[Math.floor(r() * 3)], pick([0x00, 0x00, 0x20, 0xe0, 0x01]), pick([1, 5, 100, 200]));
    const proto = pick(PROTOS);
    const l4 = (): number[] => {
      const sp = pick(PORTS);
      const dp = pick(PORTS);
      const body = Array.from({ length: 16 + Math.floor(r() < 0.5 ? r() * 8 : r() * 100) }, () => Math.floor(r() * 256));
      body[0] = sp >> 8;
      body[1] = sp & 255;
      body[2] = dp >> 8;
      body[3] = dp & 255;
      if (proto === 6) body[12] = 0x50; // a 20-byte TCP header
      if (proto === 17) body.splice(4, 2, body.length >> 8, body.length & 255); // the UDP length
      body[13] = pick([0x02, 0x12, 0x10, 0x11, 0x04, 0x18]); // TCP flags
      if (proto === 1 || proto === 58) body[0] = pick([0, 3, 8, 11, 128, 129, 135]);
      return body;
    };
    let payload: number[];
    let type: number;
    if (kind === 'ip') {
      type = 0x0800;
      const opts = r() < 0.3 ? [1, 1, 1, 0] : [];
      const frag = r() < 0.25 ? pick([0x2000, 0x0010, 0x2010, 0x4000]) : 0;
      const body = l4();
      const ihl = 5 + opts.length / 4;
      const total = ihl * 4 + body.length;
      payload = [0x40 | ihl, 0, total >> 8, total & 255, 0, 1, frag >> 8, frag & 255, 64, proto, 0, 0, ...v4(pick(V4)), ...v4(pick(V4)), ...opts, ...body];
    } else if (kind === 'ip6') {
      type = 0x86dd;
      const body = l4();
      const fragHdr = r() < 0.25;
      const ext = fragHdr ? [proto, 0, 0, r() < 0.5 ? 0 : 8, 0, 0, 0, 1] : [];
      const plen = ext.length + body.length;
      payload = [0x60, 0, 0, 0, plen >> 8, plen & 255, fragHdr ? 44 : proto, 64, ...v6(pick(V6)), ...v6(pick(V6)), ...ext, ...body];
    } else if (kind === 'arp' || kind === 'rarp') {
      type = kind === 'arp' ? 0x0806 : 0x8035;
      payload = [0, 1, 8, 0, 6, 4, 0, pick([1, 2, 3, 4]), ...mac(pick(MACS)), ...v4(pick(V4)), ...mac(pick(MACS)), ...v4(pick(V4))];
    } else {
      type = pick([0x88cc, 0x0800 + 1, 0x9000, 0x0042]);
      payload = Array.from({ length: 40 }, () => Math.floor(r() * 256));
    }
    const bytes = Buffer.from([...eth, type >> 8, type & 255, ...payload]);
    out.push({ label: `${i}:${tags}x802.1Q ${kind} proto ${proto}`, bytes });
  }
  return out;
}
