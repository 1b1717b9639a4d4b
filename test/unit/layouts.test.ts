// Layout round-trips: headers built byte by byte from the uapi struct definitions (offsets written
// out here independently of src/layouts) must decode to the values that were put in.
import { SOCKADDR_LL, constants as C, decodeTpacketHeader, encodeSockaddrLl, tpacketV1, tpacketV2, tpacketV3, tpacketV3Block } from '../../src';
import { v3FirstFrame, v3NextFrame, v3NumPackets, v3SequenceNumber } from '../../src/layouts/tpacket-v3';

function bytes(n: number): { b: Uint8Array; dv: DataView } {
  const b = new Uint8Array(n);
  return { b, dv: new DataView(b.buffer) };
}

describe('header lengths match the uapi macros', () => {
  it('TPACKET_HDRLEN, TPACKET2_HDRLEN, TPACKET3_HDRLEN', () => {
    // TPACKET_ALIGN(sizeof(hdr)) + sizeof(struct sockaddr_ll) on x86_64
    expect(C.TPACKET_HDRLEN).toBe(32 + 20);
    expect(C.TPACKET2_HDRLEN).toBe(32 + 20);
    expect(C.TPACKET3_HDRLEN).toBe(48 + 20);
    expect(C.BLK_PLUS_PRIV(0)).toBe(48);
    expect(C.BLK_PLUS_PRIV(13)).toBe(48 + 16);
    expect(C.TPACKET_ALIGN(1)).toBe(16);
    expect(C.TPACKET_ALIGN(16)).toBe(16);
    expect(C.TPACKET_ALIGN(17)).toBe(32);
  });
});

describe('tpacket_hdr (V1)', () => {
  it('decodes a hand-built header at a non-zero offset', () => {
    const { dv } = bytes(256);
    const at = 64;
    dv.setBigUint64(at + 0, 0x1n | 0x10n, true); // unsigned long tp_status
    dv.setUint32(at + 8, 1514, true); // tp_len
    dv.setUint32(at + 12, 96, true); // tp_snaplen
    dv.setUint16(at + 16, 66, true); // tp_mac
    dv.setUint16(at + 18, 80, true); // tp_net
    dv.setUint32(at + 20, 1_700_000_000, true); // tp_sec
    dv.setUint32(at + 24, 123_456, true); // tp_usec
    expect(decodeTpacketHeader(tpacketV1, dv, at)).toEqual({
      status: 0x11,
      len: 1514,
      snaplen: 96,
      mac: 66,
      net: 80,
      sec: 1_700_000_000,
      nsec: 123_456_000,
      vlanTci: 0,
      vlanTpid: 0,
      rxhash: 0,
      nextOffset: 0,
    });
    expect(tpacketV1.sockaddrOffset).toBe(32);
    expect(tpacketV1.statusOffset).toBe(0);
  });
  it('RX readiness is TP_STATUS_USER, release is TP_STATUS_KERNEL', () => {
    expect(tpacketV1.rxUserReady(C.TP_STATUS_KERNEL)).toBe(false);
    expect(tpacketV1.rxUserReady(C.TP_STATUS_USER | C.TP_STATUS_COPY)).toBe(true);
    expect(tpacketV1.rxUserReady(C.TP_STATUS_LOSING)).toBe(false);
    expect(tpacketV1.rxKernelStatus).toBe(0);
  });
});

describe('tpacket2_hdr (V2)', () => {
  it('decodes a hand-built header', () => {
    const { dv } = bytes(128);
    const at = 16;
    dv.setUint32(at + 0, C.TP_STATUS_USER | C.TP_STATUS_VLAN_VALID | C.TP_STATUS_VLAN_TPID_VALID, true);
    dv.setUint32(at + 4, 64, true);
    dv.setUint32(at + 8, 64, true);
    dv.setUint16(at + 12, 66, true);
    dv.setUint16(at + 14, 80, true);
    dv.setUint32(at + 16, 42, true);
    dv.setUint32(at + 20, 999_999_999, true);
    dv.setUint16(at + 24, 0x2064, true);
    dv.setUint16(at + 26, 0x88a8, true);
    expect(decodeTpacketHeader(tpacketV2, dv, at)).toEqual({
      status: 0x51,
      len: 64,
      snaplen: 64,
      mac: 66,
      net: 80,
      sec: 42,
      nsec: 999_999_999,
      vlanTci: 0x2064,
      vlanTpid: 0x88a8,
      rxhash: 0,
      nextOffset: 0,
    });
    expect(tpacketV2.sockaddrOffset).toBe(32);
  });
});

describe('TPACKET_V3 block and tpacket3_hdr', () => {
  // One block: descriptor, then two frames chained by tp_next_offset.
  function block() {
    const { b, dv } = bytes(4096);
    dv.setUint32(0, 1, true); // version
    dv.setUint32(4, 48, true); // offset_to_priv
    dv.setUint32(8, C.TP_STATUS_USER | C.TP_STATUS_BLK_TMO, true); // block_status
    dv.setUint32(12, 2, true); // num_pkts
    dv.setUint32(16, 48, true); // offset_to_first_pkt
    dv.setUint32(20, 48 + 160 + 112, true); // blk_len
    dv.setBigUint64(24, 77n, true); // seq_num
    const f0 = 48;
    dv.setUint32(f0 + 0, 160, true); // tp_next_offset
    dv.setUint32(f0 + 4, 100, true); // tp_sec
    dv.setUint32(f0 + 8, 5, true); // tp_nsec
    dv.setUint32(f0 + 12, 60, true); // tp_snaplen
    dv.setUint32(f0 + 16, 60, true); // tp_len
    dv.setUint32(f0 + 20, C.TP_STATUS_CSUM_VALID, true); // tp_status
    dv.setUint16(f0 + 24, 82, true); // tp_mac
    dv.setUint16(f0 + 26, 96, true); // tp_net
    dv.setUint32(f0 + 28, 0xdeadbeef, true); // hv1.tp_rxhash
    dv.setUint32(f0 + 32, 7, true); // hv1.tp_vlan_tci
    dv.setUint16(f0 + 36, 0x8100, true); // hv1.tp_vlan_tpid
    const f1 = f0 + 160;
    dv.setUint32(f1 + 0, 0, true);
    dv.setUint32(f1 + 12, 30, true);
    dv.setUint32(f1 + 16, 1514, true);
    return { b, dv, f0, f1 };
  }
  it('walks the block with its own iterator', () => {
    const { dv, f0, f1 } = block();
    expect(v3NumPackets(dv, 0)).toBe(2);
    expect(v3SequenceNumber(dv, 0)).toBe(77);
    expect(v3FirstFrame(dv, 0)).toBe(f0);
    expect(v3NextFrame(dv, f0)).toBe(f1);
    expect(tpacketV3Block.statusOffset).toBe(8);
    expect(tpacketV3Block.rxUserReady(dv.getUint32(8, true))).toBe(true);
  });
  it('decodes tpacket3_hdr fields', () => {
    const { dv, f0, f1 } = block();
    expect(decodeTpacketHeader(tpacketV3, dv, f0, 160)).toEqual({
      status: C.TP_STATUS_CSUM_VALID,
      len: 60,
      snaplen: 60,
      mac: 82,
      net: 96,
      sec: 100,
      nsec: 5,
      vlanTci: 7,
      vlanTpid: 0x8100,
      rxhash: 0xdeadbeef,
      nextOffset: 160,
    });
    expect(tpacketV3.len(dv, f1)).toBe(1514);
    expect(tpacketV3.snaplen(dv, f1)).toBe(30);
    expect(tpacketV3.sockaddrOffset).toBe(48);
  });
});

describe('sockaddr_ll', () => {
  it('encodes family, big-endian protocol and ifindex', () => {
    const b = encodeSockaddrLl(C.ETH_P_ALL, 7);
    expect(Array.from(b)).toEqual([17, 0, 0x00, 0x03, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(SOCKADDR_LL.sll_addr).toBe(12);
  });
});

describe('TX readiness (V1/V2)', () => {
  it.each([tpacketV1, tpacketV2])("$name: AVAILABLE and WRONG_FORMAT are free, SEND_REQUEST and SENDING are the kernel's", (l) => {
    expect(l.txUserReady!(C.TP_STATUS_AVAILABLE)).toBe(true);
    expect(l.txUserReady!(C.TP_STATUS_WRONG_FORMAT)).toBe(true);
    expect(l.txUserReady!(C.TP_STATUS_SEND_REQUEST)).toBe(false);
    expect(l.txUserReady!(C.TP_STATUS_SENDING)).toBe(false);
    expect(l.txKernelStatus).toBe(C.TP_STATUS_SEND_REQUEST);
  });
});
