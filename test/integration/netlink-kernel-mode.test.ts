// NetlinkSocket in kernel mode (ringMode 'kernel'): the kernel's ring set up, mapped, read and
// written by the socket itself, with the simulated 4.5 (and 4.3/4.4) kernel answering the ring's
// calls. The socket, bind and options are real (NETLINK_ROUTE needs no privilege).
import { readdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { lastValueFrom, toArray } from 'rxjs';
import {
  NL_MMAP_STATUS_COPY,
  NL_MMAP_STATUS_SKIP,
  NL_MMAP_STATUS_UNUSED,
  NL_MMAP_STATUS_VALID,
  RTM_GETROUTE,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTNLGRP_LINK,
} from '../../src/constants';
import { RingError, UnsupportedError } from '../../src/errors';
import { MalformedMessageError, MessageBuilder, MessageCursor, NetlinkError } from '../../src/netlink/message';
import {
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
} from '../../src/constants';
import type { NetlinkFrame } from '../../src/netlink/reader';
import { DEFAULT_REQUEST_TIMEOUT_MS, DumpInterruptedError, NetlinkSocket } from '../../src/netlink/socket';
import { openSimulatedNetlinkSocket } from '../../src/testing/kernel-socket';
import { NetlinkRingKernel, NetlinkRingKernelOptions } from '../../src/testing/netlink-ring-kernel';

const { ECONNREFUSED, EEXIST, ENOMEM } = osConstants.errno;

interface Request {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

function parse(d: Uint8Array): Request {
  const m = new MessageCursor(d);
  expect(m.next()).toBe(true);
  return { type: m.type, flags: m.flags, seq: m.seq, pid: m.pid };
}

// A route-like record whose payload encodes its index, so order and content can be checked.
function record(seq: number, pid: number, i: number): Uint8Array {
  const payload = new Uint8Array(48);
  new DataView(payload.buffer).setUint32(0, i, true);
  payload.fill(i & 0xff, 4);
  return new MessageBuilder().begin(RTM_NEWROUTE, NLM_F_MULTI, seq, pid).bytes(payload).finish().slice();
}
const done = (seq: number, pid: number, code = 0) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, code, true);
  return new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, seq, pid).bytes(b).finish().slice();
};
function ack(req: Request, error: number, message?: string): Uint8Array {
  const body = new Uint8Array(20);
  const dv = new DataView(body.buffer);
  dv.setInt32(0, -error, true);
  dv.setUint32(4, 16, true);
  dv.setUint16(8, req.type, true);
  dv.setUint16(10, req.flags, true);
  dv.setUint32(12, req.seq, true);
  dv.setUint32(16, req.pid, true);
  const b = new MessageBuilder().begin(NLMSG_ERROR, message ? NLM_F_ACK_TLVS : 0, req.seq, req.pid).bytes(body);
  if (message) b.string(NLMSGERR_ATTR_MSG, message);
  return b.finish().slice();
}

const fds = () => readdirSync('/proc/self/fd').length;

/** A kernel-mode socket on a simulated kernel; `respond` plays rtnetlink for each datagram sent. */
function simulated(kernel: NetlinkRingKernelOptions = {}, options: Parameters<typeof openSimulatedNetlinkSocket>[1] = {}) {
  const k = new NetlinkRingKernel(kernel);
  const sent: Uint8Array[] = [];
  const ctx = {
    k,
    sent,
    respond: (_req: Request): number => 0,
    sock: null as unknown as NetlinkSocket,
  };
  ctx.sock = openSimulatedNetlinkSocket(k, options, (d) => {
    sent.push(d);
    return ctx.respond({ ...parse(d), pid: ctx.sock.portId });
  });
  return ctx;
}

const SMALL = {
  rx: { blockSize: 4096, blockCount: 8, frameSize: 4096, frameCount: 8 },
  tx: { blockSize: 4096, blockCount: 4, frameSize: 4096, frameCount: 4 },
};
const dumpRequest = () =>
  new MessageBuilder()
    .begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 0)
    .bytes(new Uint8Array(12))
    .finish();

describe('kernel-mode NetlinkSocket (simulated 4.5 kernel)', () => {
  it("ring: 'kernel' sets RX then TX up, maps them once, and close() unmaps once (idempotent)", () => {
    const { k, sock } = simulated({}, SMALL);
    expect(sock.ringMode).toBe('kernel');
    expect(k.mapped).toBe(1);
    expect(k.memory.byteLength).toBe(8 * 4096 + 4 * 4096);
    sock.close();
    sock.close();
    expect(k.mapped).toBe(0);
  });

  it("ring: 'auto' probes with the setsockopt and falls back to the emulation on ENOPROTOOPT and on EPERM", () => {
    for (const opts of [{ unsupported: true }, { noCapNetAdmin: true }]) {
      const { k, sock } = simulated(opts, { ...SMALL, ring: 'auto' });
      expect(sock.ringMode).toBe('emulated');
      expect(k.mapped).toBe(0);
      sock.close();
    }
    const { sock } = simulated({}, { ...SMALL, ring: 'auto' });
    expect(sock.ringMode).toBe('kernel');
    sock.close();
  });

  it("ring: 'kernel' where the kernel refuses the ring: UnsupportedError naming 3.10–4.5 or CAP_NET_ADMIN, and no descriptor leaks", () => {
    const before = fds();
    expect(() => simulated({ unsupported: true }, SMALL)).toThrow(UnsupportedError);
    expect(() => simulated({ unsupported: true }, SMALL)).toThrow(
      "memory-mapped netlink (NETLINK_RX_RING) is not supported here: this kernel answered ENOPROTOOPT: the kernel ring exists only in Linux 3.10–4.5 (removed in 4.6 and late 4.4.y); use ring: 'emulated' or 'auto'",
    );
    expect(() => simulated({ noCapNetAdmin: true }, SMALL)).toThrow('refused it with EPERM: setting it up needs CAP_NET_ADMIN');
    expect(fds()).toBe(before);
  });

  it('any other refusal is a RingError with the ring as op (ENOMEM from a ring too large)', () => {
    const before = fds();
    let err: unknown;
    try {
      simulated({ maxRingBytes: 16384 }, SMALL);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RingError);
    expect(err).toMatchObject({ code: 'ENOMEM', errno: ENOMEM, syscall: 'setsockopt', op: 'NETLINK_RX_RING' });
    expect(fds()).toBe(before);
  });

  it('request() goes out through the TX ring with NLM_F_ACK and resolves on the ACK read from the RX ring', async () => {
    const s = simulated({}, SMALL);
    const seen: Request[] = [];
    s.respond = (req) => {
      seen.push(req);
      expect(s.k.sendInRing(ack(req, 0))).toBe('ring');
      return 0;
    };
    const msg = new MessageBuilder().begin(RTM_NEWLINK, NLM_F_REQUEST, 0).bytes(new Uint8Array(16)).finish();
    await expect(s.sock.request(msg)).resolves.toEqual([]);
    expect(seen).toEqual([{ type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 1, pid: s.sock.portId }]);
    expect(s.sent[0].subarray(16)).toEqual(new Uint8Array(16));
    expect(s.k.txStatus(0)).toBe(NL_MMAP_STATUS_UNUSED);
    s.sock.close();
  });

  it('an error ACK rejects with NetlinkError carrying errno and the extended-ACK message', async () => {
    const s = simulated({}, SMALL);
    s.respond = (req) => (s.k.sendInRing(ack(req, EEXIST, 'File exists, said the simulator')), 0);
    const msg = new MessageBuilder().begin(RTM_NEWLINK, NLM_F_REQUEST, 0).bytes(new Uint8Array(16)).finish();
    const err = await s.sock.request(msg).catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ errno: EEXIST, code: 'EEXIST', extackMessage: 'File exists, said the simulator' });
    s.sock.close();
  });

  const N = 5000;
  const dumpCases: [string, NetlinkRingKernelOptions, Parameters<typeof openSimulatedNetlinkSocket>[1], number][] = [
    ['in-ring chunks (VALID frames)', {}, SMALL, NL_MMAP_STATUS_VALID],
    [
      'frames smaller than a chunk (COPY frames, one recv each)',
      {},
      { ...SMALL, rx: { blockSize: 4096, blockCount: 8, frameSize: 2048, frameCount: 16 } },
      NL_MMAP_STATUS_COPY,
    ],
    [
      '4.3/4.4 trimmed chunks at frame_size - alloc_size (docs/netlink-ring.md §8)',
      { trimmedDumps: true },
      { ...SMALL, rx: { blockSize: 16384, blockCount: 8, frameSize: 16384, frameCount: 8 } },
      NL_MMAP_STATUS_VALID,
    ],
  ];
  for (const [name, kernel, options, status] of dumpCases) {
    it(`dump() of ${N} records through ${name}: every record once, in order, byte-exact`, async () => {
      const s = simulated(kernel, options);
      s.respond = (req) => {
        s.k.startDump(
          Array.from({ length: N }, (_, i) => record(req.seq, req.pid, i)),
          done(req.seq, req.pid),
        );
        return 0;
      };
      const statuses = new Set<number>();
      const frames = s.sock.frames().subscribe((fs) => fs.forEach((f) => statuses.add(f.status)));
      const got = await lastValueFrom(s.sock.dump(dumpRequest()).pipe(toArray()));
      frames.unsubscribe();
      expect(got.length).toBe(N);
      got.forEach((m, i) => {
        if (Buffer.compare(m.bytes, Buffer.from(record(m.seq, s.sock.portId, i))) !== 0) throw new Error(`record ${i} differs`);
      });
      expect(statuses).toEqual(new Set([status]));
      expect(s.k.dumping).toBe(false);
      s.sock.close();
    });
  }

  it('dumpBatches() counts the same records in place, and a negative NLMSG_DONE code errors', async () => {
    const s = simulated({}, SMALL);
    s.respond = (req) => (
      s.k.startDump(
        Array.from({ length: N }, (_, i) => record(req.seq, req.pid, i)),
        done(req.seq, req.pid),
      ),
      0
    );
    let count = 0;
    await new Promise<void>((resolve, reject) =>
      s.sock.dumpBatches(dumpRequest()).subscribe({
        next: (b) => {
          while (b.cursor.next()) count++;
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(count).toBe(N);
    s.respond = (req) => (s.k.startDump([record(req.seq, req.pid, 0)], done(req.seq, req.pid, -EEXIST)), 0);
    await expect(lastValueFrom(s.sock.dump(dumpRequest()).pipe(toArray()))).rejects.toMatchObject({ errno: EEXIST });
    s.sock.close();
  });

  it('an ACK inside a dump (the kernel never sends one) errors it with MalformedMessageError, not a bare Error', async () => {
    const s = simulated({}, SMALL);
    s.respond = (req) => (s.k.startDump([record(req.seq, req.pid, 0), ack(req, 0)], done(req.seq, req.pid)), 0);
    const e = await lastValueFrom(s.sock.dump(dumpRequest()).pipe(toArray())).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MalformedMessageError);
    expect((e as MalformedMessageError).message).toBe(`malformed netlink message: an ACK inside a dump at offset ${record(0, 0, 0).length}`);
    s.sock.close();
  });

  it('multicast arrives on messages() with its group, through a COPY frame', () => {
    const s = simulated({}, SMALL);
    const got: [number, number, number][] = [];
    const sub = s.sock.messages().subscribe((m) => got.push([m.type, m.group, m.seq]));
    const event = new MessageBuilder().begin(RTM_NEWLINK, 0, 0).bytes(new Uint8Array(16)).finish().slice();
    expect(s.k.sendCopy(event, { group: RTNLGRP_LINK })).toBe('copy');
    s.sock.dispatch();
    expect(got).toEqual([[RTM_NEWLINK, RTNLGRP_LINK, 0]]);
    sub.unsubscribe();
    s.sock.close();
  });

  it('hold() parks a frame as SKIP while later frames arrive; out-of-order release() frees each', () => {
    const s = simulated({}, SMALL);
    const held: NetlinkFrame[] = [];
    const seqs: number[] = [];
    const sub = s.sock.frames().subscribe((fs) =>
      fs.forEach((f) => {
        seqs.push(new DataView(f.data.buffer, f.data.byteOffset).getUint32(8, true));
        if (held.length < 2) {
          s.sock.hold(f);
          held.push(f);
        }
      }),
    );
    const event = (seq: number) => new MessageBuilder().begin(RTM_NEWLINK, 0, seq).bytes(new Uint8Array(16)).finish().slice();
    for (let i = 1; i <= 3; i++) expect(s.k.sendInRing(event(i))).toBe('ring');
    s.sock.dispatch();
    expect(held.map((f) => f.index)).toEqual([0, 1]);
    expect([s.k.rxStatus(0), s.k.rxStatus(1), s.k.rxStatus(2)]).toEqual([NL_MMAP_STATUS_SKIP, NL_MMAP_STATUS_SKIP, NL_MMAP_STATUS_UNUSED]);
    // The ring wraps onto the held frames: 4.5's allocator steps over SKIP.
    for (let i = 4; i <= 9; i++) expect(s.k.sendInRing(event(i))).toBe('ring');
    s.sock.dispatch();
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    s.sock.release(held[1]);
    s.sock.release(held[0]);
    expect([s.k.rxStatus(0), s.k.rxStatus(1)]).toEqual([NL_MMAP_STATUS_UNUSED, NL_MMAP_STATUS_UNUSED]);
    sub.unsubscribe();
    s.sock.close();
  });

  it('an overrun (ENOBUFS) is one loss event, the frames that made it are read, and reading goes on', () => {
    const s = simulated({}, { ...SMALL, rx: { blockSize: 4096, blockCount: 4, frameSize: 4096, frameCount: 4 } });
    const seqs: number[] = [];
    const losses: number[] = [];
    const sub = s.sock.messages().subscribe((m) => seqs.push(m.seq));
    const lsub = s.sock.losses().subscribe((l) => losses.push(l.count));
    const event = (seq: number) => new MessageBuilder().begin(RTM_NEWLINK, 0, seq).bytes(new Uint8Array(16)).finish().slice();
    const where = [1, 2, 3, 4, 5, 6].map((i) => s.k.sendCopy(event(i), { group: RTNLGRP_LINK }));
    expect(where).toEqual(['copy', 'copy', 'copy', 'copy', 'dropped', 'dropped']);
    s.sock.dispatch();
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(losses).toEqual([1]);
    expect(s.k.sendCopy(event(7), { group: RTNLGRP_LINK })).toBe('copy');
    s.sock.dispatch();
    expect(seqs).toEqual([1, 2, 3, 4, 7]);
    expect(losses).toEqual([1]);
    sub.unsubscribe();
    lsub.unsubscribe();
    s.sock.close();
  });

  it('writer(): fill then one sendto(NULL, 0) per flush; a failed datagram is counted out and the rest waits', () => {
    const s = simulated({}, SMALL);
    const w = s.sock.writer();
    const msg = (seq: number) => new MessageBuilder().begin(RTM_NEWLINK, NLM_F_REQUEST, seq).bytes(new Uint8Array(8).fill(seq)).finish().slice();
    for (let i = 1; i <= 3; i++) expect(w.tryWrite(msg(i))).toBe(true);
    expect(s.sent.length).toBe(0); // nothing leaves before the flush
    expect(w.flush()).toBe(3);
    expect(s.sent).toEqual([msg(1), msg(2), msg(3)]);
    // The second datagram of the next batch is refused: the first went, the third stays VALID.
    s.respond = (req) => (req.seq === 5 ? -ECONNREFUSED : 0);
    for (let i = 4; i <= 6; i++) expect(w.tryWrite(msg(i))).toBe(true);
    expect(w.flush()).toBe(1);
    expect(s.sent.map((d) => parse(d).seq)).toEqual([1, 2, 3, 4, 5]);
    s.respond = () => 0;
    expect(w.tryWrite(msg(7))).toBe(true);
    expect(w.flush()).toBe(2);
    expect(s.sent.map((d) => parse(d).seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    s.sock.close();
  });
});

describe('request(): every wait ends (simulated kernel that never answers, or answers garbage)', () => {
  const getRoute = () => new MessageBuilder().begin(RTM_GETROUTE, NLM_F_REQUEST, 0).bytes(new Uint8Array(12)).finish().slice();

  it('timeoutMs: rejects with ERR_KRING_TIMEOUT and forgets the request', async () => {
    const { sock } = simulated({}, SMALL);
    try {
      const t0 = Date.now();
      await expect(sock.request(getRoute(), { timeoutMs: 50 })).rejects.toMatchObject({
        code: 'ERR_KRING_TIMEOUT',
        message: 'the netlink request got no answer within 50 ms',
      });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    } finally {
      sock.close();
    }
  });

  it('an AbortSignal rejects with its reason, also one aborted before the call', async () => {
    const { sock } = simulated({}, SMALL);
    try {
      const c = new AbortController();
      const p = sock.request(getRoute(), { signal: c.signal });
      c.abort(new Error('enough'));
      await expect(p).rejects.toThrow('enough');
      await expect(sock.request(getRoute(), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      sock.close();
    }
  });

  it('the default timeout is 30 s', () => {
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
  });

  it("a malformed NLMSG_ERROR (fuzz-found) rejects the request with the kernel's errno, never an uncaught RangeError", async () => {
    const ctx = simulated({}, SMALL);
    ctx.respond = (req) => {
      const b = new Uint8Array(64);
      b.set(Buffer.from('40000000020000020000000000000000eaffffff00000080', 'hex'));
      const dv = new DataView(b.buffer);
      dv.setUint32(8, req.seq, true);
      dv.setUint32(12, req.pid, true);
      ctx.k.sendInRing(b);
      return 0;
    };
    try {
      await expect(ctx.sock.request(getRoute())).rejects.toMatchObject({ name: 'NetlinkError', errno: 22, code: 'EINVAL' });
    } finally {
      ctx.sock.close();
    }
  });
});

describe("a held frame at the kernel's head (4.4/4.5: the COPY path and dump flow control stop at SKIP)", () => {
  const event = (i: number) => new MessageBuilder().begin(RTM_NEWLINK, 0, 0, 0).u32(1, i).finish().slice();
  const marker = (data: Uint8Array, at: number) => new DataView(data.buffer, data.byteOffset + at + NLMSG_HDRLEN + 4, 4).getUint32(0, true);
  const turns = async (n: number, until: () => boolean = () => false) => {
    for (let i = 0; i < n && !until(); i++) await new Promise((r) => setImmediate(r));
  };

  // An 8-frame ring: frame 0 is held (SKIP) from the first event on, events 1..7 go round, so the
  // kernel's head is back at frame 0. Event 8 meets it: dropped (ENOBUFS). A 40-record dump starts.
  function heldAtHead(frameSize: number, recordBytes: number) {
    const ctx = simulated({}, { rx: { blockSize: frameSize, blockCount: 8, frameSize, frameCount: 8 }, tx: SMALL.tx });
    const { k, sock } = ctx;
    ctx.respond = (req) => {
      const recs = Array.from({ length: 40 }, (_, i) => {
        const payload = new Uint8Array(recordBytes - NLMSG_HDRLEN);
        new DataView(payload.buffer).setUint32(0, i, true);
        return new MessageBuilder().begin(RTM_NEWROUTE, NLM_F_MULTI, req.seq, req.pid).bytes(payload).finish().slice();
      });
      k.startDump(recs, done(req.seq, req.pid));
      return 0;
    };
    const events: number[] = [];
    const st = { held: null as NetlinkFrame | null, losses: 0 };
    sock.losses().subscribe((l) => (st.losses += l.count));
    sock.frames().subscribe((frames) => {
      for (const f of frames) {
        if (f.group !== RTNLGRP_LINK) continue;
        const m = new MessageCursor(f.data);
        while (m.next()) events.push(marker(f.data, m.offset));
        if (!st.held) sock.hold((st.held = f));
      }
    });
    const send = (i: number) => {
      k.sendCopy(event(i), { group: RTNLGRP_LINK });
      sock.dispatch();
    };
    for (let i = 0; i < 8; i++) send(i);
    expect(st.held!.index).toBe(0);
    expect(k.rxHead).toBe(0);
    send(8);
    expect(k.drops).toBe(1);
    return { k, sock, events, st, send };
  }

  it('in-ring dump chunks: the dump stalls at the held frame; after release every later event and the whole dump arrive, in order, the overrun one loss', async () => {
    const { k, sock, events, st, send } = heldAtHead(32768, 8000);
    try {
      const dumped: number[] = [];
      let complete = false;
      sock.dump(dumpRequest()).subscribe({ next: (m) => dumped.push(m.payload.readUInt32LE(0)), complete: () => (complete = true) });
      await turns(20);
      // Four records per chunk: seven chunks went round the ring (steping over frame 0), then the
      // dump's flow control stopped at frame 0, the kernel's head.
      expect([k.dumping, k.rxHead, complete]).toEqual([true, 0, false]);
      sock.release(st.held!);
      await turns(50, () => complete);
      expect(complete).toBe(true);
      expect(dumped).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(k.drops).toBe(1);
      for (let i = 9; i < 12; i++) send(i);
      expect(events).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11]);
      expect(st.losses).toBe(1);
    } finally {
      sock.close();
    }
  });

  it('COPY-path dump chunks (frames too small): the kernel drops the chunk that meets the held frame; dump() retries after the release and delivers the whole dump once', async () => {
    const { k, sock, events, st, send } = heldAtHead(4096, 1000);
    try {
      const dumped: number[] = [];
      let complete = false;
      sock.dump(dumpRequest()).subscribe({ next: (m) => dumped.push(m.payload.readUInt32LE(0)), complete: () => (complete = true) });
      await turns(20);
      expect(k.drops).toBe(2); // event 8, and the dump's first 16 KiB chunk
      sock.release(st.held!);
      await turns(100, () => complete);
      expect(complete).toBe(true);
      expect(dumped).toEqual(Array.from({ length: 40 }, (_, i) => i));
      for (let i = 9; i < 12; i++) send(i);
      expect(events).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11]);
      expect(st.losses).toBe(2);
    } finally {
      sock.close();
    }
  });

  it('COPY-path dump chunks: dumpBatches() (no retry) errors with DumpInterruptedError rather than complete short', async () => {
    const { sock, st } = heldAtHead(4096, 1000);
    try {
      let error: unknown = null;
      let records = 0;
      sock.dumpBatches(dumpRequest()).subscribe({ next: (b) => void (b.cursor.next() && records++), error: (e) => (error = e) });
      await turns(20);
      sock.release(st.held!);
      await turns(50, () => error !== null);
      expect(error).toBeInstanceOf(DumpInterruptedError);
    } finally {
      sock.close();
    }
  });
});

describe('3.10: dump errors stored negated in sk_err (SO_ERROR reads -errno, recv returns +errno as a length)', () => {
  it('the overrun is still one loss, and the COPY message behind the frame is read whole, once', () => {
    const { k, sock } = simulated({ profile: '3.10' }, SMALL);
    try {
      const got: number[] = [];
      let losses = 0;
      sock.losses().subscribe((l) => (losses += l.count));
      sock.messages().subscribe((m) => got.push(m.payload.readUInt32LE(4)));
      const event = (i: number) => new MessageBuilder().begin(RTM_NEWLINK, 0, 0, 0).u32(1, i).finish().slice();
      // A COPY message queued, and the error 3.10's recv()-side dump step would have left.
      expect(k.sendCopy(event(7), { group: RTNLGRP_LINK })).toBe('copy');
      k.skErr = -osConstants.errno.ENOBUFS;
      expect(k.recv(0)).toBe(osConstants.errno.ENOBUFS); // what 3.10's recv() returned: +105
      k.skErr = -osConstants.errno.ENOBUFS;
      sock.dispatch();
      expect(got).toEqual([7]);
      expect(losses).toBe(1);
      expect(k.queued).toBe(0);
      // And through SO_ERROR after POLLERR: -ENOBUFS is one loss too.
      k.skErr = -osConstants.errno.ENOBUFS;
      expect(k.sendCopy(event(8), { group: RTNLGRP_LINK })).toBe('copy');
      sock.dispatch();
      expect(got).toEqual([7, 8]);
      expect(losses).toBe(2);
    } finally {
      sock.close();
    }
  });
});
