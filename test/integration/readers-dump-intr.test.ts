// The route readers' NLM_F_DUMP_INTR policies on a simulated kernel whose first dump pass is
// interrupted (a real socket, so this is an integration test; the kernel never flags route dumps).
import { lastValueFrom, toArray } from 'rxjs';
import { AF_INET, RTA_DST, RTM_GETROUTE, RTM_NEWROUTE, RTN_UNICAST } from '../../src/constants';
import { MessageBuilder } from '../../src/netlink/message';
import { NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE } from '../../src/constants';
import { DumpInterruptedError } from '../../src/netlink/socket';
import { getRoutes, MalformedMessageError, routes } from '../../src/rtnetlink/readers';
import { openSimulatedNetlinkSocket } from '../../src/testing/kernel-socket';
import { NetlinkRingKernel } from '../../src/testing/netlink-ring-kernel';

const rtmsg = (family: number, dstLen: number, table: number, type = RTN_UNICAST, flags = 0) => {
  const b = new Uint8Array(12);
  b.set([family, dstLen, 0, 0, table, 4 /* static */, 0, type]);
  new DataView(b.buffer).setUint32(8, flags, true);
  return b;
};

describe('route readers on a simulated kernel whose first dump pass is interrupted', () => {
  const N = 600;
  function setup() {
    const k = new NetlinkRingKernel();
    let attempts = 0;
    const sock = openSimulatedNetlinkSocket(k, {}, (d) => {
      const dv = new DataView(d.buffer, d.byteOffset);
      if (dv.getUint16(4, true) !== RTM_GETROUTE) return 0;
      const seq = dv.getUint32(8, true);
      attempts++;
      // The first pass sees the table change half-way: later records carry NLM_F_DUMP_INTR.
      const records = Array.from({ length: N }, (_, i) => {
        const flags = NLM_F_MULTI | (attempts === 1 && i >= N / 2 ? NLM_F_DUMP_INTR : 0);
        return new MessageBuilder()
          .begin(RTM_NEWROUTE, flags, seq, sock.portId)
          .bytes(rtmsg(AF_INET, 32, 254))
          .attr(RTA_DST, Uint8Array.of(10, 0, i >> 8, i & 255))
          .finish()
          .slice();
      });
      const done = new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(4)).finish().slice();
      k.startDump(records, done);
      return 0;
    });
    return { sock, attempts: () => attempts };
  }

  it("'retry' (default): the interrupted pass is dropped, the clean second pass emitted whole", async () => {
    const s = setup();
    const got = await getRoutes({ socket: s.sock });
    expect(s.attempts()).toBe(2);
    expect(got.map((r) => r.dst)).toEqual(Array.from({ length: N }, (_, i) => `10.0.${i >> 8}.${i & 255}`));
    expect(got.some((r) => r.interrupted)).toBe(false);
    s.sock.close();
  });
  it("'error': DumpInterruptedError, no second pass", async () => {
    const s = setup();
    await expect(lastValueFrom(routes({ socket: s.sock, onInterrupted: 'error' }).pipe(toArray()))).rejects.toBeInstanceOf(DumpInterruptedError);
    expect(s.attempts()).toBe(1);
    s.sock.close();
  });
  it("'flag': every record of the one pass, the interrupted datagrams' records marked", async () => {
    const s = setup();
    const got = await getRoutes({ socket: s.sock, onInterrupted: 'flag' });
    expect(s.attempts()).toBe(1);
    expect(got.length).toBe(N);
    expect(got.slice(0, N / 2).some((r) => r.interrupted)).toBe(false);
    expect(got.slice(N / 2).every((r) => r.interrupted)).toBe(true);
    s.sock.close();
  });
  it("'retry' gives up after `retries` interrupted passes", async () => {
    const k = new NetlinkRingKernel();
    const sock = openSimulatedNetlinkSocket(k, {}, (d) => {
      const seq = new DataView(d.buffer, d.byteOffset).getUint32(8, true);
      const rec = new MessageBuilder()
        .begin(RTM_NEWROUTE, NLM_F_MULTI | NLM_F_DUMP_INTR, seq, sock.portId)
        .bytes(rtmsg(AF_INET, 0, 254))
        .finish()
        .slice();
      k.startDump([rec], new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(4)).finish().slice());
      return 0;
    });
    await expect(getRoutes({ socket: sock, retries: 2 })).rejects.toThrow('the dump was interrupted by concurrent changes (NLM_F_DUMP_INTR) 3 time(s)');
    sock.close();
  });
  it('a malformed record errors the stream with MalformedMessageError', async () => {
    const k = new NetlinkRingKernel();
    const sock = openSimulatedNetlinkSocket(k, {}, (d) => {
      const seq = new DataView(d.buffer, d.byteOffset).getUint32(8, true);
      const rec = new MessageBuilder().begin(RTM_NEWROUTE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(6)).finish().slice();
      k.startDump([rec], new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, seq, sock.portId).bytes(new Uint8Array(4)).finish().slice());
      return 0;
    });
    const err = await getRoutes({ socket: sock }).catch((e) => e);
    expect(err).toBeInstanceOf(MalformedMessageError);
    expect(err.message).toBe('malformed rtnetlink message: a route message needs 12 bytes of rtmsg, got 8 at offset 16');
    sock.close();
  });
});
