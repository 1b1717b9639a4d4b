// Capture-file writing: the bytes of each block against the formats' definitions, written here by
// hand; a round trip through the reader; truncation of kring's own files at every byte offset of
// their last record. tshark's reading of kring's files is in test/integration/capture-files.test.ts.
import { CaptureFileError, parseCaptureFile } from '../../src/pcap/read';
import { CaptureWriter, sll2Header, sllHeader, withVlanTag } from '../../src/pcap/write';

function written(options: ConstructorParameters<typeof CaptureWriter>[1], fill: (w: CaptureWriter) => void): Buffer {
  const chunks: Buffer[] = [];
  const w = new CaptureWriter((c) => chunks.push(Buffer.from(c)), options);
  fill(w);
  w.close();
  return Buffer.concat(chunks);
}

const rec = { data: Buffer.from('00112233445566778899aabb0800ff', 'hex'), len: 1514, sec: 1700000000, nsec: 123456789 };

describe('capture file writing', () => {
  it('pcap (ns): the 24-byte header and a 16-byte record header, little-endian, as the format defines', () => {
    const f = written({ format: 'pcap', snaplen: 65535 }, (w) => w.write(rec));
    expect(f.subarray(0, 24).toString('hex')).toBe('4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '01000000');
    expect(f.subarray(24, 40).toString('hex')).toBe('00f15365' + '15cd5b07' + '0f000000' + 'ea050000');
    expect(f.subarray(40)).toEqual(rec.data);
  });

  it('pcap (µs): the µs magic and the nanoseconds cut to microseconds', () => {
    const f = written({ format: 'pcap', nanosecond: false }, (w) => w.write(rec));
    expect(f.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(f.readUInt32LE(28)).toBe(123456);
  });

  it('pcapng: SHB, IDB (if_name, if_tsresol 9), EPB (flags, comment), ISB — each block byte for byte', () => {
    const f = written({ interfaces: [{ name: 'veth0', snaplen: 262144 }], comment: 'c' }, (w) => {
      w.write({ ...rec, direction: 'outbound', comment: 'hi' });
      w.statistics(0, { received: 5, dropped: 2 }, { sec: 1, nsec: 0 });
    });
    let at = 0;
    const block = () => {
      const type = f.readUInt32LE(at);
      const len = f.readUInt32LE(at + 4);
      expect(f.readUInt32LE(at + len - 4)).toBe(len);
      const b = f.subarray(at, at + len);
      at += len;
      return { type, b };
    };
    const shb = block();
    // type, length, BOM, 1.0, section length -1, opt_comment "c", shb_userappl "kring", end, length
    expect(shb.b.toString('hex')).toBe(
      '0a0d0d0a' +
        '34000000' +
        '4d3c2b1a' +
        '0100' +
        '0000' +
        'ffffffffffffffff' +
        '0100' +
        '0100' +
        '63000000' +
        '0400' +
        '0500' +
        '6b72696e67000000' +
        '00000000' +
        '34000000',
    );
    const idb = block();
    expect(idb.b.toString('hex')).toBe(
      '01000000' + '2c000000' + '0100' + '0000' + '00000400' + '0200' + '0500' + '7665746830000000' + '0900' + '0100' + '09000000' + '00000000' + '2c000000',
    );
    const epb = block();
    expect(epb.type).toBe(6);
    const ts = 1700000000n * 1_000_000_000n + 123456789n;
    expect(epb.b.readUInt32LE(8)).toBe(0);
    expect((BigInt(epb.b.readUInt32LE(12)) << 32n) | BigInt(epb.b.readUInt32LE(16))).toBe(ts);
    expect([epb.b.readUInt32LE(20), epb.b.readUInt32LE(24)]).toEqual([15, 1514]);
    expect(epb.b.subarray(28, 43)).toEqual(rec.data);
    expect(epb.b.subarray(44).toString('hex')).toBe(
      '0200' + '0400' + '02000000' + '0100' + '0200' + '68690000' + '00000000' + epb.b.subarray(-4).toString('hex'),
    );
    const isb = block();
    expect(isb.type).toBe(5);
    expect(isb.b.subarray(8, 20).toString('hex')).toBe('00000000' + '00000000' + '00ca9a3b');
    expect(isb.b.subarray(20).toString('hex')).toBe(
      '0400' + '0800' + '0500000000000000' + '0500' + '0800' + '0200000000000000' + '00000000' + isb.b.subarray(-4).toString('hex'),
    );
    expect(at).toBe(f.length);
  });

  it('round trip through the reader: data, lengths, nanoseconds, interface names, directions, comments', () => {
    const f = written({ interfaces: [{ name: 'a' }, { name: 'b', linktype: 276 }] }, (w) => {
      w.write({ ...rec, direction: 'inbound' });
      w.write({ data: Buffer.alloc(3, 1), sec: 5, nsec: 999_999_999, interfaceId: 1, comment: 'x' });
    });
    expect(parseCaptureFile(f).map(({ offset, ...r }) => (void offset, r))).toEqual([
      { data: rec.data, len: 1514, sec: rec.sec, nsec: rec.nsec, linktype: 1, interfaceId: 0, interfaceName: 'a', direction: 'inbound' },
      { data: Buffer.alloc(3, 1), len: 3, sec: 5, nsec: 999_999_999, linktype: 276, interfaceId: 1, interfaceName: 'b', comment: 'x' },
    ]);
  });

  it("kring's own files cut at every byte offset of their last record are refused with the offset", () => {
    for (const options of [{ format: 'pcap' as const }, { format: 'pcapng' as const }]) {
      const file = written(options, (w) => {
        w.write(rec);
        w.write({ ...rec, data: Buffer.alloc(21, 3) });
      });
      const last = parseCaptureFile(file).at(-1)!.offset;
      for (let cut = last + 1; cut < file.length; cut++) {
        expect(() => parseCaptureFile(file.subarray(0, cut))).toThrow(CaptureFileError);
        try {
          parseCaptureFile(file.subarray(0, cut));
        } catch (e) {
          expect((e as CaptureFileError).offset).toBe(last);
        }
      }
    }
  });

  it('large records grow the buffer; chunks reach the sink in order', () => {
    const big = Buffer.alloc(200_000, 0xab);
    const chunks: Buffer[] = [];
    const w = new CaptureWriter((c) => chunks.push(Buffer.from(c)), { format: 'pcap' });
    for (let i = 0; i < 3; i++) w.write({ data: big, sec: i, nsec: 0 });
    w.close();
    expect(parseCaptureFile(Buffer.concat(chunks)).map((r) => [r.sec, r.data.equals(big)])).toEqual([
      [0, true],
      [1, true],
      [2, true],
    ]);
    expect(w.records).toBe(3);
    expect(() => w.write(rec)).toThrow('the capture writer is closed');
  });

  it('bad input: TypeError/RangeError naming what', () => {
    const w = new CaptureWriter(() => undefined);
    expect(() => w.write({ data: 'x' as never, sec: 0, nsec: 0 })).toThrow(TypeError);
    expect(() => w.write({ ...rec, nsec: 1e9 })).toThrow(RangeError);
    expect(() => w.write({ ...rec, len: 2 })).toThrow(RangeError);
    expect(() => w.write({ ...rec, interfaceId: 1 })).toThrow('interfaceId 1 is not one of the 1 interfaces described');
    expect(() => new CaptureWriter(() => undefined, { format: 'pcap' }).addInterface()).toThrow(RangeError);
  });

  it("Linux cooked headers and the 802.1Q tag put back, as libpcap's pcap/sll.h lays them out", () => {
    const f = { pkttype: 4, hatype: 1, address: Buffer.from('00112233445566', 'hex').subarray(0, 6), protocol: 0x0800, ifindex: 7 };
    expect(sllHeader(f).toString('hex')).toBe('0004' + '0001' + '0006' + '0011223344550000' + '0800');
    expect(sll2Header(f).toString('hex')).toBe('0800' + '0000' + '00000007' + '0001' + '04' + '06' + '0011223344550000');
    const eth = Buffer.from('ffffffffffff001122334455' + '0800' + 'aa', 'hex');
    expect(Buffer.from(withVlanTag(eth, { tci: 0x2064, tpid: 0x8100 })).toString('hex')).toBe('ffffffffffff001122334455' + '81002064' + '0800' + 'aa');
    expect(withVlanTag(eth, null)).toBe(eth);
  });
});
