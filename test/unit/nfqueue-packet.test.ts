// decodeNfPacket on crafted bytes: the test lays out nfgenmsg and the attributes (big-endian
// fields, as nfqnl_build_packet_message writes them) itself.
import {
  NFQA_CAP_LEN,
  NFQA_HWADDR,
  NFQA_IFINDEX_INDEV,
  NFQA_MARK,
  NFQA_PACKET_HDR,
  NFQA_PAYLOAD,
  NFQA_SKB_INFO,
  NFQA_TIMESTAMP,
  NFQA_UID,
} from '../../src/constants';
import { LeaseError } from '../../src/errors';
import { MessageBuilder, NetlinkParseError } from '../../src/netlink/message';
import { parseQueueCounters } from '../../src/nfqueue/counters';
import { decodeNfPacket, NfPacket } from '../../src/nfqueue/packet';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
function decode(build: (b: MessageBuilder) => void): NfPacket | NetlinkParseError {
  const b = new MessageBuilder().begin(0x300, 0, 0).bytes(hex('02 00 0007')); // AF_INET, v0, queue 7
  build(b);
  const msg = b.finish().slice();
  return decodeNfPacket(new DataView(msg.buffer), 16, msg.length - 16, null);
}

describe('decodeNfPacket', () => {
  it('reads every field, big-endian, from the bytes', () => {
    const p = decode((b) =>
      b
        .attr(NFQA_PACKET_HDR, hex('0000 0102  0800  01'))
        .attr(NFQA_MARK, hex('0000002a'))
        .attr(NFQA_IFINDEX_INDEV, hex('00000005'))
        .attr(NFQA_HWADDR, hex('0006 0000 020000000001 0000'))
        .attr(NFQA_TIMESTAMP, hex('0000000065000000 00000000000f4240'))
        .attr(NFQA_UID, hex('000003e8'))
        .attr(NFQA_SKB_INFO, hex('00000003'))
        .attr(NFQA_CAP_LEN, hex('00000100'))
        .attr(NFQA_PAYLOAD, hex('4500 0020')),
    ) as NfPacket;
    expect({ ...p, hwAddr: Buffer.from(p.hwAddr!).toString('hex'), payload: Buffer.from(p.payload).toString('hex') }).toEqual({
      queue: 7,
      family: 2,
      id: 0x102,
      hwProtocol: 0x800,
      hook: 1,
      mark: 42,
      indev: 5,
      outdev: 0,
      physindev: 0,
      physoutdev: 0,
      timestamp: { sec: 0x65000000, usec: 1000000 },
      hwAddr: '020000000001',
      uid: 1000,
      gid: undefined,
      payload: '45000020',
      origLen: 256,
      truncated: true,
      gso: true,
      csumNotReady: true,
      ctInfo: undefined,
      ct: undefined,
      secctx: undefined,
    });
  });

  it('in place: the payload is a view of the message, readable while its lease lives (LeaseError after); copied: its own', () => {
    const b = new MessageBuilder().begin(0x300, 0, 0).bytes(hex('02000000')).attr(NFQA_PACKET_HDR, hex('00000001 0800 01')).attr(NFQA_PAYLOAD, hex('aabb'));
    const msg = b.finish().slice();
    const lease = { live: true };
    const view = decodeNfPacket(new DataView(msg.buffer), 16, msg.length - 16, lease) as NfPacket;
    const copy = decodeNfPacket(new DataView(msg.buffer), 16, msg.length - 16, null) as NfPacket;
    msg.fill(0, msg.length - 4);
    expect([Buffer.from(view.payload).toString('hex'), Buffer.from(copy.payload).toString('hex')]).toEqual(['0000', 'aabb']);
    lease.live = false;
    expect(() => view.payload).toThrow(LeaseError);
    expect(() => view.hwAddr).toThrow(LeaseError);
    expect([view.id, view.hwProtocol, Buffer.from(copy.payload).toString('hex')]).toEqual([1, 0x800, 'aabb']);
  });

  it('malformed: no packet header, a short one, a short nfgenmsg, a broken attribute are error values', () => {
    expect(decode((b) => b.attr(NFQA_PAYLOAD, hex('00')))).toEqual(new NetlinkParseError('a queue packet message without NFQA_PACKET_HDR', 16));
    expect(decode((b) => b.attr(NFQA_PACKET_HDR, hex('000000')))).toEqual(new NetlinkParseError('NFQA_PACKET_HDR of 3 bytes', 24));
    expect(decodeNfPacket(new DataView(new ArrayBuffer(3)), 0, 3, null)).toEqual(
      new NetlinkParseError('a queue packet message needs 4 bytes of nfgenmsg, got 3', 0),
    );
    expect(decode((b) => b.bytes(hex('ff000100')))).toBeInstanceOf(NetlinkParseError);
  });
});

describe('parseQueueCounters', () => {
  it('reads the lines nfqnl_show_instance prints ("%5u %6u %5u %1u %5u %5u %5u %8u %2d")', () => {
    const text = '    0 123456     4 2 65535     6     1       10  1\n   17      0     0 2 65535     0     0        0  1\n';
    expect(parseQueueCounters(text)).toEqual(
      new Map([
        [0, { waiting: 4, queueDropped: 6, userDropped: 1, idSequence: 10 }],
        [17, { waiting: 0, queueDropped: 0, userDropped: 0, idSequence: 0 }],
      ]),
    );
    expect(parseQueueCounters('')).toEqual(new Map());
  });
});
