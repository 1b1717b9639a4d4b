import { AttrCursor, MessageBuilder, MessageCursor, NetlinkError, NetlinkParseError, parseAck } from '../../src/netlink/message';
import { NLA_F_NESTED, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_ERROR, NLMSG_ALIGN } from '../../src/constants';

describe('MessageBuilder → MessageCursor / AttrCursor', () => {
  it('round-trips two messages with a family header, scalar, string and nested attributes', () => {
    const b = new MessageBuilder(8); // small, to exercise growth
    b.begin(18, NLM_F_REQUEST | NLM_F_DUMP, 7)
      .bytes(Uint8Array.of(2, 0, 0, 0, 9))
      .u8(1, 0xab)
      .u16(2, 0xbeef)
      .u32(3, 0xdeadbeef)
      .u64(4, 2n ** 40n + 1n)
      .string(5, 'veth0');
    b.beginNest(6).u32(1, 11).beginNest(2).u16(1, 22).endNest().endNest().end();
    b.begin(19, NLM_F_REQUEST, 8, 1234).end();
    const bytes = b.finish().slice();
    const m = new MessageCursor(bytes);
    expect(m.next()).toBe(true);
    expect([m.type, m.flags, m.seq, m.pid, m.offset, m.payload]).toEqual([18, NLM_F_REQUEST | NLM_F_DUMP, 7, 0, 0, 16]);
    expect(Array.from(bytes.subarray(m.payload, m.payload + 8))).toEqual([2, 0, 0, 0, 9, 0, 0, 0]); // family header padded to 4
    const a = new AttrCursor(m.dv, m.payload + 8, m.offset + m.len);
    const got: unknown[] = [];
    while (a.next()) {
      if (a.type === 1) got.push(a.u8());
      if (a.type === 2) got.push(a.u16());
      if (a.type === 3) got.push(a.u32());
      if (a.type === 4) got.push(a.u64());
      if (a.type === 5) got.push(a.string());
      if (a.type === 6) {
        expect(a.nested).toBe(true);
        const n = a.nestedCursor();
        while (n.next()) {
          if (n.type === 1) got.push(n.u32());
          if (n.type === 2) {
            const nn = n.nestedCursor();
            while (nn.next()) got.push(nn.u16());
          }
        }
      }
    }
    expect(a.error).toBeNull();
    expect(got).toEqual([0xab, 0xbeef, 0xdeadbeef, 2n ** 40n + 1n, 'veth0', 11, 22]);
    expect(m.next()).toBe(true);
    expect([m.type, m.seq, m.pid, m.len]).toEqual([19, 8, 1234, 16]);
    expect(m.next()).toBe(false);
    expect(m.error).toBeNull();
  });
  it('view() is the attribute data in place; bytes() is a copy of it', () => {
    const bytes = new MessageBuilder().begin(1, 0, 1).string(5, 'veth0').finish().slice();
    const m = new MessageCursor(bytes);
    m.next();
    const a = new AttrCursor(m.dv, m.payload, m.offset + m.len);
    expect(a.next()).toBe(true);
    const view = a.view();
    const copy = a.bytes();
    expect(Array.from(view)).toEqual([0x76, 0x65, 0x74, 0x68, 0x30, 0]);
    expect([view.buffer === bytes.buffer, view.byteOffset]).toEqual([true, 20]);
    bytes[20] = 0x56; // 'V'
    expect([view[0], copy[0], a.string()]).toEqual([0x56, 0x76, 'Veth0']);
  });
  it('pads attributes to 4 bytes and sets NLA_F_NESTED on nests', () => {
    const bytes = new MessageBuilder().begin(1, 0, 1).u8(1, 5).beginNest(2).endNest().finish();
    expect(Array.from(bytes.subarray(16))).toEqual([5, 0, 1, 0, 5, 0, 0, 0, 4, 0, 2 & 0xff, (2 | NLA_F_NESTED) >> 8]);
  });
});

describe('NLMSG_ERROR and extended ACK', () => {
  function errorMsg(error: number, flags: number, capped: boolean): Uint8Array {
    const request = new MessageBuilder().begin(16, NLM_F_REQUEST, 42, 77).u32(3, 1).finish().slice(); // 24 bytes
    const b = new MessageBuilder().begin(NLMSG_ERROR, flags | (capped ? NLM_F_CAPPED : 0), 42, 77);
    const e = new Uint8Array(4);
    new DataView(e.buffer).setInt32(0, error, true);
    b.bytes(e).bytes(capped ? request.subarray(0, 16) : request);
    if (flags & NLM_F_ACK_TLVS) b.string(1, 'Attribute failed policy validation').u32(2, 20);
    return b.finish().slice();
  }
  it.each([false, true])('decodes errno, the request header and the extack TLVs (capped: %s)', (capped) => {
    const m = new MessageCursor(errorMsg(-34, NLM_F_ACK_TLVS, capped));
    m.next();
    const ack = parseAck(m);
    expect(ack).toEqual({
      error: -34,
      request: { len: 24, type: 16, flags: NLM_F_REQUEST, seq: 42, pid: 77 },
      extackMessage: 'Attribute failed policy validation',
      extackOffset: 20,
    });
  });
  it('an ACK is error 0 with no extack', () => {
    const m = new MessageCursor(errorMsg(0, 0, true));
    m.next();
    expect(parseAck(m)).toEqual({ error: 0, request: { len: 24, type: 16, flags: NLM_F_REQUEST, seq: 42, pid: 77 } });
  });
  it('NetlinkError carries errno, code, seq and the extack', () => {
    const e = new NetlinkError(34, 42, 'Attribute failed policy validation', 20);
    expect([e.name, e.code, e.errno, e.seq, e.extackMessage, e.extackOffset]).toEqual([
      'NetlinkError',
      'ERANGE',
      34,
      42,
      'Attribute failed policy validation',
      20,
    ]);
    expect(e.message).toBe('netlink request 42 failed: ERANGE: Attribute failed policy validation (at offset 20)');
  });
});

describe('parseAck on malformed NLMSG_ERROR (fuzz-found): a value, never an exception', () => {
  // nlmsg_len 64, NLMSG_ERROR, NLM_F_ACK_TLVS, error -22, the echoed request's nlmsg_len 2^31: its
  // NLMSG_ALIGN used to overflow int32 and send the extended-ACK walk to a negative offset.
  const FOUND = '40000000020000020000000000000000eaffffff00000080';
  const withRequestLen = (len: number) => {
    const b = new Uint8Array(64);
    b.set(Buffer.from(FOUND, 'hex'));
    b.fill(0xa5, 24);
    new DataView(b.buffer).setUint32(20, len, true);
    return b;
  };
  it.each([0x80000000, 0x7ffffffd, 0x7ffffffe, 0x7fffffff, 0xfffffff0, 0xfffffffc, 0xffffffff])('request nlmsg_len 0x%s', (len) => {
    const m = new MessageCursor(withRequestLen(len));
    expect(m.next()).toBe(true);
    expect(parseAck(m)).toEqual({ error: -22, request: { len, type: 0xa5a5, flags: 0xa5a5, seq: 0xa5a5a5a5, pid: 0xa5a5a5a5 } });
  });
  it('NLMSG_ALIGN stays exact past 2^31', () => {
    expect([0, 1, 4, 5, 0x7ffffffd, 0x80000000, 0xfffffff0, 0xfffffffd].map(NLMSG_ALIGN)).toEqual([
      0, 4, 4, 8, 0x80000000, 0x80000000, 0xfffffff0, 0x100000000,
    ]);
  });
  it('20,000 mutated NLMSG_ERROR messages: parseAck returns, never throws', () => {
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xffffff;
    for (let i = 0; i < 20000; i++) {
      const b = withRequestLen(rnd() * 256 + (rnd() & 255));
      for (let k = rnd() % 6; k > 0; k--) b[16 + (rnd() % 48)] = rnd() & 255;
      new DataView(b.buffer).setUint16(6, rnd() & 0xffff, true);
      const m = new MessageCursor(b);
      if (m.next()) expect(() => parseAck(m)).not.toThrow();
    }
  });
});

describe('malformed input is an error value, never an exception', () => {
  const header = (len: number, total: number) => {
    const b = new Uint8Array(total);
    new DataView(b.buffer).setUint32(0, len, true);
    return b;
  };
  it.each([
    ['fewer bytes than a header', new Uint8Array(10), /10 bytes left, less than an nlmsghdr/],
    ['nlmsg_len below the header size', header(8, 32), /nlmsg_len 8 is smaller than the header/],
    ['nlmsg_len past the data', header(400, 32), /nlmsg_len 400 runs past the 32 bytes received/],
  ])('%s', (_n, bytes, reason) => {
    const m = new MessageCursor(bytes);
    expect(m.next()).toBe(false);
    expect(m.error).toBeInstanceOf(NetlinkParseError);
    expect(m.error!.reason).toMatch(reason);
    expect(m.error!.offset).toBe(0);
  });
  it('an attribute longer than its message stops the attribute walk', () => {
    const bytes = new MessageBuilder().begin(1, 0, 1).u32(1, 5).finish().slice();
    new DataView(bytes.buffer).setUint16(16, 200, true); // nla_len 200 in a 24-byte message
    const m = new MessageCursor(bytes);
    m.next();
    const a = new AttrCursor(m.dv, m.payload, m.offset + m.len);
    expect(a.next()).toBe(false);
    expect(a.error!.reason).toBe('nla_len 200 is outside 4..8');
  });
  it('short attributes answer undefined from the typed readers', () => {
    const bytes = new MessageBuilder().begin(1, 0, 1).u8(1, 5).finish();
    const m = new MessageCursor(bytes);
    m.next();
    const a = new AttrCursor(m.dv, m.payload, m.offset + m.len);
    a.next();
    expect([a.u8(), a.u16(), a.u32(), a.u64(), a.be32()]).toEqual([5, undefined, undefined, undefined, undefined]);
  });
  it('10,000 random buffers: cursors never throw and never read past the end', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 10000; n++) {
      const b = Uint8Array.from({ length: rand() % 96 }, rand);
      if (b.length >= 4 && n % 2 === 0) new DataView(b.buffer).setUint32(0, Math.min(b.length, 16 + (rand() % 64)), true);
      const m = new MessageCursor(b);
      while (m.next()) {
        expect(m.offset + m.len).toBeLessThanOrEqual(b.length);
        const a = new AttrCursor(m.dv, m.payload, m.offset + m.len);
        while (a.next()) {
          expect(a.data + a.dataLen).toBeLessThanOrEqual(m.offset + m.len);
          a.string();
          a.u64();
        }
        if (m.type === NLMSG_ERROR) parseAck(m);
      }
    }
  });
});
