// Capture-file reading, on files the test writes byte by byte from the formats' definitions (both
// byte orders, both pcap resolutions, pcapng sections, interfaces and options), and on truncation
// at every byte offset. Files written by tcpdump are read in the TX ring and CLI tests.
import { CaptureFileError, CaptureParser, parseCaptureFile } from '../../src/pcap/read';

interface Pkt {
  data: Buffer;
  len?: number;
  sec: number;
  frac: number;
}

const pkts: Pkt[] = [
  { data: Buffer.from('00112233445566778899aabb88b5deadbeef', 'hex'), sec: 1700000000, frac: 123456 },
  { data: Buffer.alloc(61, 7), len: 1500, sec: 1700000001, frac: 999999 },
  { data: Buffer.alloc(3, 9), sec: 0, frac: 0 },
];

function u16(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
function u32(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

function pcap(le: boolean, nano: boolean, linktype = 1): Buffer {
  const parts = [u32(nano ? 0xa1b23c4d : 0xa1b2c3d4, le), u16(2, le), u16(4, le), u32(0, le), u32(0, le), u32(65535, le), u32(linktype, le)];
  for (const p of pkts) parts.push(u32(p.sec, le), u32(nano ? p.frac * 1000 : p.frac, le), u32(p.data.length, le), u32(p.len ?? p.data.length, le), p.data);
  return Buffer.concat(parts);
}

function block(type: number, body: Buffer, le: boolean): Buffer {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const total = 12 + body.length + pad.length;
  return Buffer.concat([u32(type, le), u32(total, le), body, pad, u32(total, le)]);
}
function option(code: number, value: Buffer, le: boolean): Buffer {
  return Buffer.concat([u16(code, le), u16(value.length, le), value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function pcapng(le: boolean): Buffer {
  const shb = block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d, le), u16(1, le), u16(0, le), Buffer.alloc(8, 0xff)]), le);
  // Interface 0: Ethernet, µs (default resolution), named. Interface 1: NETLINK, ns (if_tsresol 9).
  const idb0 = block(1, Buffer.concat([u16(1, le), u16(0, le), u32(262144, le), option(2, Buffer.from('veth0'), le), option(0, Buffer.alloc(0), le)]), le);
  const idb1 = block(1, Buffer.concat([u16(253, le), u16(0, le), u32(0, le), option(9, Buffer.from([9]), le), option(0, Buffer.alloc(0), le)]), le);
  const epb = (iface: number, p: Pkt, perSec: bigint, frac: bigint) => {
    const t = BigInt(p.sec) * perSec + frac;
    return block(
      6,
      Buffer.concat([
        u32(iface, le),
        u32(Number(t >> 32n), le),
        u32(Number(t & 0xffffffffn), le),
        u32(p.data.length, le),
        u32(p.len ?? p.data.length, le),
        p.data,
        Buffer.alloc((4 - (p.data.length % 4)) % 4),
      ]),
      le,
    );
  };
  const isb = block(5, Buffer.concat([u32(0, le), u32(0, le), u32(0, le)]), le); // statistics: skipped
  return Buffer.concat([
    shb,
    idb0,
    idb1,
    epb(0, pkts[0], 1_000_000n, BigInt(pkts[0].frac)),
    isb,
    epb(1, pkts[1], 1_000_000_000n, BigInt(pkts[1].frac) * 1000n + 7n),
    epb(0, pkts[2], 1_000_000n, 0n),
  ]);
}

describe('capture files', () => {
  it.each([
    ['little-endian µs', true, false],
    ['big-endian µs', false, false],
    ['little-endian ns', true, true],
    ['big-endian ns', false, true],
  ])('pcap, %s: every record, its lengths and timestamp', (_name, le, nano) => {
    const got = parseCaptureFile(pcap(le, nano));
    expect(got.map((r) => [r.data.toString('hex'), r.len, r.sec, r.nsec, r.linktype, r.interfaceId])).toEqual(
      pkts.map((p) => [p.data.toString('hex'), p.len ?? p.data.length, p.sec, p.frac * 1000, 1, 0]),
    );
    expect(got.map((r) => r.offset)).toEqual([24, 24 + 16 + 18, 24 + 16 + 18 + 16 + 61]);
  });

  it.each([
    ['little-endian', true],
    ['big-endian', false],
  ])('pcapng, %s: interfaces, their resolutions and names; unknown blocks skipped', (_name, le) => {
    const got = parseCaptureFile(pcapng(le));
    expect(got.map((r) => [r.data.toString('hex'), r.len, r.sec, r.nsec, r.linktype, r.interfaceId, r.interfaceName])).toEqual([
      [pkts[0].data.toString('hex'), 18, pkts[0].sec, pkts[0].frac * 1000, 1, 0, 'veth0'],
      [pkts[1].data.toString('hex'), 1500, pkts[1].sec, pkts[1].frac * 1000 + 7, 253, 1, undefined],
      [pkts[2].data.toString('hex'), 3, 0, 0, 1, 0, 'veth0'],
    ]);
  });

  it('streams: the same records whatever the chunk size', () => {
    for (const file of [pcap(true, false), pcapng(false)]) {
      const whole = parseCaptureFile(file);
      for (const size of [1, 3, 7, 64]) {
        const p = new CaptureParser();
        const got = [];
        for (let at = 0; at < file.length; at += size) got.push(...p.push(file.subarray(at, at + size)));
        p.end();
        expect(got).toEqual(whole);
      }
    }
  });

  it('a file cut at every byte offset of its last record is refused with the offset, never read short', () => {
    for (const file of [pcap(true, true), pcap(false, false), pcapng(true), pcapng(false)]) {
      const last = parseCaptureFile(file).at(-1)!.offset;
      for (let cut = last + 1; cut < file.length; cut++) {
        let err: unknown = null;
        try {
          parseCaptureFile(file.subarray(0, cut));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(CaptureFileError);
        expect((err as CaptureFileError).offset).toBe(last);
        expect((err as CaptureFileError).message).toMatch(
          new RegExp(`^capture file, byte ${last}: the file ends inside a (record|block) \\(${cut - last} bytes of it present\\)$`),
        );
      }
    }
  });

  it('malformed files are refused naming the byte and the fault', () => {
    const bad = (bytes: Buffer, offset: number, what: RegExp) => {
      let err: unknown = null;
      try {
        parseCaptureFile(bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CaptureFileError);
      expect(err).toMatchObject({ offset, code: 'ERR_KRING_CAPTURE_FILE' });
      expect((err as Error).message).toMatch(what);
    };
    bad(Buffer.alloc(0), 0, /the file is empty/);
    bad(Buffer.from('hello world, not a capture'), 0, /not a pcap or pcapng file \(first word 0x68656c6c\)/);
    bad(pcap(true, false).subarray(0, 10), 0, /ends inside its header/);
    const hugeRecord = pcap(true, false);
    hugeRecord.writeUInt32LE(1 << 30, 24 + 8);
    bad(hugeRecord, 32, /record length 1073741824 is larger than the file's snaplen \(65535\)/);
    const badFrac = pcap(true, false);
    badFrac.writeUInt32LE(1_000_000, 24 + 4);
    bad(badFrac, 28, /timestamp fraction 1000000 is not below one second/);
    const ng = pcapng(true);
    const shbLen = ng.readUInt32LE(4);
    const idbLen = ng.readUInt32LE(shbLen + 4);
    const mismatched = Buffer.from(ng);
    mismatched.writeUInt32LE(idbLen + 4, shbLen + idbLen - 4);
    bad(mismatched, shbLen + idbLen - 4, new RegExp(`trailing length ${idbLen + 4} differs from its leading length ${idbLen}`));
    const unknownIface = Buffer.from(ng);
    const epbAt = shbLen + idbLen + unknownIface.readUInt32LE(shbLen + idbLen + 4);
    unknownIface.writeUInt32LE(5, epbAt + 8);
    bad(unknownIface, epbAt + 8, /packet of interface 5, but the section describes 2/);
    const overrun = Buffer.from(ng);
    overrun.writeUInt32LE(999, epbAt + 20);
    bad(overrun, epbAt + 20, /captured length 999 runs past the block/);
    bad(ng.subarray(shbLen), 0, /pcapng block before any section header|not a pcap or pcapng file/);
  });
});
