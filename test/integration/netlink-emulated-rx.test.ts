// The emulated NETLINK_RX_RING on the real kernel: rtnetlink dumps and events land in ring frames
// with the kernel ring's statuses (VALID, COPY, SKIP honoured), nothing lost, back-pressure when full.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { RingError } from '../../src/errors';
import {
  IFLA_IFNAME,
  NETLINK_ADD_MEMBERSHIP,
  NL_MMAP_HDRLEN,
  NL_MMAP_STATUS_COPY,
  NL_MMAP_STATUS_RESERVED,
  NL_MMAP_STATUS_SKIP,
  NL_MMAP_STATUS_VALID,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTNLGRP_LINK,
  SOL_NETLINK,
} from '../../src/constants';
import { decodeNlMmapHeader } from '../../src/layouts/nl-mmap';
import { native, RECV_META_WORDS } from '../../src/native';
import { EmulatedRxRing } from '../../src/netlink/emulated-rx';
import { AttrCursor, MessageBuilder, MessageCursor } from '../../src/netlink/message';
import { NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE } from '../../src/constants';
import type { RingGeometry } from '../../src/layouts/types';
import { createVethPair, VethPair } from '../helpers/netns';
import { describePrivileged } from '../helpers/privileged';
import { sleep } from '../helpers/traffic';
import { sendNl, withRoute } from '../helpers/netlink';
import { consumeDump } from '../helpers/netlink-consumer';
import { NetlinkReader } from '../../src/netlink/reader';

const PAIRS = 100; // veth pairs (this kernel has no dummy driver): 200 links

describePrivileged('emulated netlink RX ring on rtnetlink', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
    const batch = Array.from({ length: PAIRS }, (_, i) => `link add kd${i} type veth peer name kq${i}`).join('\n');
    execFileSync('ip', ['-n', t.capNs, '-batch', '-'], { input: batch });
  });
  afterAll(() => t?.destroy());

  const dumpLinks = (fd: number, seq: number) =>
    sendNl(
      fd,
      new MessageBuilder()
        .begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq)
        .bytes(new Uint8Array(16))
        .finish(),
    );

  // Consumer code, identical for the kernel ring: take VALID/COPY frames in order, read VALID
  // payloads in place and COPY datagrams whole, release, until NLMSG_DONE.
  async function consume(rx: EmulatedRxRing, onFrame?: (i: number, status: number) => void) {
    const idx = new Uint32Array(rx.ring.size);
    const st = new Uint32Array(rx.ring.size);
    const names: string[] = [];
    const statuses: number[] = [];
    let fills = 0;
    const dv = new DataView(rx.buffer);
    for (const deadline = Date.now() + 10000; Date.now() < deadline;) {
      if (rx.fill() > 0) fills++;
      const n = rx.ring.takeRx(rx.ring.size, idx, st);
      if (n === 0) {
        await sleep(1);
        continue;
      }
      let done = false;
      for (let k = 0; k < n; k++) {
        const i = idx[k];
        statuses.push(st[k]);
        onFrame?.(i, st[k]);
        const at = rx.ring.slotOffsets[i];
        const h = decodeNlMmapHeader(dv, at);
        let msg: Uint8Array;
        if (st[k] === NL_MMAP_STATUS_COPY) {
          const c = rx.recvCopy();
          if (!(c instanceof Uint8Array)) throw new Error(`recvCopy errno ${c.errno}`);
          expect(c.length).toBe(h.len);
          msg = c;
        } else {
          msg = new Uint8Array(rx.buffer, at + NL_MMAP_HDRLEN, h.len);
        }
        const m = new MessageCursor(msg);
        while (m.next()) {
          if (m.type === NLMSG_DONE) done = true;
          if (m.type !== RTM_NEWLINK) continue;
          const a = new AttrCursor(m.dv, m.payload + 16, m.offset + m.len);
          while (a.next()) if (a.type === IFLA_IFNAME) names.push(a.string());
        }
        expect(m.error).toBeNull();
        rx.ring.releaseRx(i);
      }
      if (done) return { names, statuses, fills };
    }
    throw new Error('dump did not finish');
  }
  const expected = () => ['lo', t.capIf, ...Array.from({ length: PAIRS }, (_, i) => [`kd${i}`, `kq${i}`]).flat()].sort();
  const geo = (frameSize: number, frames: number): RingGeometry => {
    const blockSize = Math.max(4096, frameSize);
    const perBlock = Math.floor(blockSize / frameSize);
    return { blockSize, blockCount: Math.ceil(frames / perBlock), frameSize, frameCount: perBlock * Math.ceil(frames / perBlock) };
  };

  it('drained: true exactly when a fill received fewer datagrams than it had frames for (the queue was empty), and a fill after it meets EAGAIN', () =>
    withRoute(t.capNs, async (fd) => {
      const rx = new EmulatedRxRing(fd, geo(4096, 64), { batch: 4 });
      try {
        native.krSetsockopt({ fd, level: SOL_NETLINK, name: NETLINK_ADD_MEMBERSHIP, value: RTNLGRP_LINK, op: 'NETLINK_ADD_MEMBERSHIP' });
        // Three veth pairs made and removed: more link events than one fill of four takes.
        execFileSync('ip', ['-n', t.capNs, '-batch', '-'], {
          input: [0, 1, 2].map((i) => `link add kz${i} type veth peer name ky${i}\nlink del kz${i}`).join('\n'),
        });
        await sleep(50);
        const fills: [number, boolean][] = [];
        for (let n = rx.fill(); ; n = rx.fill()) {
          fills.push([n, rx.drained]);
          if (n < 4) break;
        }
        expect(fills.length).toBeGreaterThan(1);
        expect(fills.map(([n, d]) => d === n < 4)).toEqual(fills.map(() => true));
        expect([rx.fill(), rx.drained]).toEqual([0, true]);
      } finally {
        rx.close();
      }
    }));

  it('frames larger than the datagrams: every link arrives in VALID frames, with the kernel as sender', () =>
    withRoute(t.capNs, async (fd) => {
      const rx = new EmulatedRxRing(fd, geo(32768, 16));
      dumpLinks(fd, 1);
      const r = await consume(rx, (i) => {
        const h = decodeNlMmapHeader(new DataView(rx.buffer), rx.ring.slotOffsets[i]);
        expect([h.group, h.pid, h.uid, h.gid]).toEqual([0, 0, 0, 0]); // unicast from the kernel
      });
      expect(r.names.sort()).toEqual(expected());
      expect(new Set(r.statuses)).toEqual(new Set([NL_MMAP_STATUS_VALID]));
    }));

  it('frames smaller than the datagrams: they spill, become COPY and arrive whole; nothing is lost', () =>
    withRoute(t.capNs, async (fd) => {
      const rx = new EmulatedRxRing(fd, geo(1024, 16));
      dumpLinks(fd, 2);
      const r = await consume(rx);
      expect(r.names.sort()).toEqual(expected());
      expect(r.statuses.filter((s) => s === NL_MMAP_STATUS_COPY).length).toBeGreaterThan(0);
      expect(rx.queued).toBe(0);
      expect(rx.pendingError).toBe(0);
    }));

  it('a two-frame ring: reading waits for free frames (back-pressure) and the dump still completes whole', () =>
    withRoute(t.capNs, async (fd) => {
      const rx = new EmulatedRxRing(fd, geo(16384, 2));
      dumpLinks(fd, 3);
      expect(rx.fill()).toBe(2); // the ring is full...
      expect(rx.fill()).toBe(0); // ...so nothing more is read; the rest waits in the socket
      const r = await consume(rx);
      expect(r.names.sort()).toEqual(expected());
      expect(rx.pendingError).toBe(0);
    }));

  it('fillAsync: four recvmmsgs queued on the receive thread, a quarter of the ring each, RESERVED until done, completed in ring order; the dump then completes whole', () =>
    withRoute(t.capNs, async (fd) => {
      const rx = new EmulatedRxRing(fd, geo(32768, 8));
      dumpLinks(fd, 5);
      const filled: number[] = [];
      const fills: Promise<void>[] = [];
      const queue = () => {
        let queued = false;
        fills.push(
          new Promise<void>((resolve) => {
            queued = rx.fillAsync((n) => {
              filled.push(n);
              resolve();
            });
          }),
        );
        return queued;
      };
      // Until its done runs (never synchronously), each fill's two frames are the kernel's:
      // RESERVED. Each one queued behind another is chained: it continues its frames.
      expect(queue()).toBe(true);
      expect(rx.busy).toBe(true);
      expect([0, 1, 2].map((i) => rx.ring.status(i))).toEqual([NL_MMAP_STATUS_RESERVED, NL_MMAP_STATUS_RESERVED, 0]);
      expect([queue(), queue(), queue()]).toEqual([true, true, true]);
      for (let i = 0; i < 8; i++) expect(rx.ring.status(i)).toBe(NL_MMAP_STATUS_RESERVED);
      // A fifth finds no part (and no frame) free; a synchronous fill may not read meanwhile.
      expect(rx.fillAsync(() => undefined)).toBe(false);
      expect(rx.fill()).toBe(0);
      expect(filled).toEqual([]);
      await fills[0];
      // 202 links are more than eight 32 KiB chunks: every frame was filled, in order.
      expect(filled).toEqual([2]);
      expect(rx.busy).toBe(true);
      expect([0, 1, 2].map((i) => rx.ring.status(i))).toEqual([NL_MMAP_STATUS_VALID, NL_MMAP_STATUS_VALID, NL_MMAP_STATUS_RESERVED]);
      await Promise.all(fills.slice(0, 4));
      expect(filled).toEqual([2, 2, 2, 2]);
      expect(rx.busy).toBe(false);
      for (let i = 0; i < 8; i++) expect(rx.ring.status(i)).toBe(NL_MMAP_STATUS_VALID);
      expect(rx.head).toBe(0);
      const r = await consume(rx);
      expect(r.names.sort()).toEqual(expected());
      rx.close();
    }));

  it('fillAsync on a descriptor that is not a socket: the RingError (ENOTSOCK, recvmmsg) comes from the next fill, and the frames are UNUSED again', async () => {
    const fd = openSync('/dev/null', 'r');
    try {
      const rx = new EmulatedRxRing(fd, geo(4096, 4));
      const filled = await new Promise<number>((resolve) => expect(rx.fillAsync(resolve)).toBe(true));
      expect(filled).toBe(0);
      expect([0, 1, 2, 3].map((i) => rx.ring.status(i))).toEqual([0, 0, 0, 0]);
      expect(rx.fillAsync(() => undefined)).toBe(false); // the failure is reported first
      let err: unknown;
      try {
        rx.fill();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RingError);
      expect(err).toMatchObject({ code: 'ENOTSOCK', errno: 88, syscall: 'recvmmsg', op: 'NETLINK_RX_RING' });
    } finally {
      closeSync(fd);
    }
  });

  it("each frame's message starts on a cache line: the ring begins NL_MMAP_HDRLEN short of one in its own mapping", () => {
    const rx = new EmulatedRxRing(-1, { blockSize: 65536, blockCount: 2, frameSize: 16384, frameCount: 8 });
    try {
      const base = 64 - NL_MMAP_HDRLEN; // 40
      expect(rx.buffer.byteLength).toBe(base + 2 * 65536);
      expect(Array.from(rx.ring.slotOffsets)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => base + i * 16384));
      for (const at of rx.ring.slotOffsets) expect((at + NL_MMAP_HDRLEN) % 64).toBe(0);
    } finally {
      rx.close();
    }
  });

  it("close() with a fill outstanding: the memory stays mapped until the fill is back, then is detached (stale views throw) and the owner's callback runs once; done never runs", async () => {
    const fd = openSync('/dev/null', 'r');
    try {
      const rx = new EmulatedRxRing(fd, geo(4096, 4));
      const stale = new Int32Array(rx.buffer);
      let doneCalls = 0;
      expect(rx.fillAsync(() => void doneCalls++)).toBe(true);
      let thenCalls = 0;
      const released = new Promise<void>((resolve) =>
        rx.close(() => {
          thenCalls++;
          resolve();
        }),
      );
      rx.close(() => void thenCalls++); // idempotent: not a second callback
      // The receive thread may still write its frames: nothing is unmapped yet.
      expect([rx.closed, rx.busy, rx.buffer.byteLength, thenCalls]).toEqual([true, true, 64 - NL_MMAP_HDRLEN + 4 * 4096, 0]);
      expect(rx.ring.status(0)).toBe(NL_MMAP_STATUS_RESERVED);
      expect([rx.fill(), rx.fillAsync(() => void doneCalls++)]).toEqual([0, false]);
      await released;
      expect([rx.busy, rx.buffer.byteLength, stale.length, thenCalls, doneCalls]).toEqual([false, 0, 0, 1, 0]);
      expect(() => rx.ring.status(0)).toThrow(TypeError);
      expect(() => Atomics.load(stale, 0)).toThrow(TypeError);
    } finally {
      closeSync(fd);
    }
  });

  it('a constructor that fails after mapping its ring (a spill area too large to map) unmaps it before throwing', () => {
    const unmap = jest.spyOn(native, 'krMunmap');
    try {
      const e = (() => {
        try {
          return new EmulatedRxRing(-1, geo(4096, 4), { batch: 4, spillBytes: 2 ** 44 });
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(RingError);
      expect(e).toMatchObject({ code: 'ENOMEM', syscall: 'mmap', op: 'NETLINK_RX_RING spill' });
      expect(unmap).toHaveBeenCalledTimes(1);
      const mapping = unmap.mock.calls[0][0];
      expect(mapping.byteLength).toBe(0); // the ring's mapping, now detached
    } finally {
      unmap.mockRestore();
    }
  });

  it('the spill area is a mapping of its own: unmapped by close() with the ring, not left to the GC', () => {
    const unmap = jest.spyOn(native, 'krMunmap');
    try {
      const rx = new EmulatedRxRing(-1, geo(4096, 4), { batch: 4, spillBytes: 65536 });
      rx.close();
      expect(unmap.mock.calls.map(([, op]) => op)).toEqual(['NETLINK_RX_RING', 'NETLINK_RX_RING spill']);
      expect(unmap.mock.calls.map(([m]) => m.byteLength)).toEqual([0, 0]); // both detached
    } finally {
      unmap.mockRestore();
    }
  });

  it('close() with nothing outstanding unmaps at once', () => {
    const rx = new EmulatedRxRing(-1, geo(4096, 4));
    let thenCalls = 0;
    rx.close(() => void thenCalls++);
    expect([rx.buffer.byteLength, thenCalls, rx.fill()]).toEqual([0, 1, 0]);
    expect(() => rx.ring.status(0)).toThrow(TypeError);
  });

  it('the receive thread skips a chained job behind one that came back short, and runs the next unchained one', async () => {
    // /dev/null fails every recvmmsg (ENOTSOCK): a job that runs reports it, a skipped one cannot.
    const fd = openSync('/dev/null', 'r');
    try {
      const buffer = new ArrayBuffer(4096);
      const start = (chained: boolean) =>
        new Promise<[string | null, number]>((resolve) =>
          native.krRecvmmsgStart({
            fd,
            buffer,
            offsets: new Float64Array([16]),
            count: 1,
            capacity: 1024,
            spill: new Uint8Array(0),
            spillSize: 0,
            meta: new Uint32Array(RECV_META_WORDS),
            op: 'NETLINK_RX_RING',
            chained,
            done: (e, n) => resolve([e ? (e as RingError).code : null, n]),
          }),
        );
      const results = await Promise.all([start(false), start(true), start(true), start(false)]);
      expect(results).toEqual([
        ['ENOTSOCK', 0], // ran and failed: the chain behind it is broken
        [null, 0], // chained: not run
        [null, 0], // chained behind a skipped one: not run either
        ['ENOTSOCK', 0], // unchained: runs again
      ]);
    } finally {
      closeSync(fd);
    }
  });

  it('a held frame parked as SKIP is stepped over by later fills, and is intact when released', () =>
    withRoute(t.capNs, async (fd) => {
      const rx = new EmulatedRxRing(fd, geo(16384, 4));
      native.krSetsockopt({ fd: fd, level: SOL_NETLINK, name: NETLINK_ADD_MEMBERSHIP, value: RTNLGRP_LINK, op: 'NETLINK_ADD_MEMBERSHIP' });
      execFileSync('ip', ['-n', t.capNs, 'link', 'set', 'kd0', 'up']);
      await sleep(20);
      expect(rx.fill()).toBe(1);
      const idx = new Uint32Array(4);
      expect(rx.ring.takeRx(4, idx)).toBe(1);
      const held = idx[0];
      const h = decodeNlMmapHeader(new DataView(rx.buffer), rx.ring.slotOffsets[held]);
      expect(h.group).toBe(RTNLGRP_LINK); // a multicast event carries its group
      const kept = new Uint8Array(rx.buffer, rx.ring.slotOffsets[held] + NL_MMAP_HDRLEN, h.len).slice();
      rx.ring.parkRx(held);
      expect(rx.ring.status(held)).toBe(NL_MMAP_STATUS_SKIP);
      // Four more events through a four-frame ring with one frame parked: the fills step over it.
      for (let i = 1; i <= 4; i++) {
        execFileSync('ip', ['-n', t.capNs, 'link', 'set', `kd${i}`, 'up']);
        await sleep(10);
        rx.fill();
        const n = rx.ring.takeRx(4, idx);
        for (let k = 0; k < n; k++) {
          expect(idx[k]).not.toBe(held);
          rx.ring.releaseRx(idx[k]);
        }
      }
      expect(Buffer.compare(new Uint8Array(rx.buffer, rx.ring.slotOffsets[held] + NL_MMAP_HDRLEN, h.len), kept)).toBe(0);
      rx.ring.releaseRx(held);
      expect(rx.ring.status(held)).toBe(0);
    }));
});

describePrivileged('the same consumer code on the emulated ring (real kernel)', () => {
  let t: VethPair;
  beforeAll(() => {
    t = createVethPair();
    execFileSync('ip', ['-n', t.capNs, '-batch', '-'], {
      input: Array.from({ length: 150 }, (_, i) => `link add ke${i} type veth peer name kf${i}`).join('\n'),
    });
  });
  afterAll(() => t?.destroy());

  it.each([
    ['VALID frames', 32768],
    ['COPY frames', 1024],
  ])('a link dump read through NetlinkReader (%s), a frame held throughout: every link exactly once', (_name, frameSize) =>
    withRoute(t.capNs, async (fd) => {
      const blockSize = Math.max(4096, frameSize);
      const rx = new EmulatedRxRing(fd, { blockSize, blockCount: 8, frameSize, frameCount: 8 * (blockSize / frameSize) });
      const reader = new NetlinkReader({ ring: rx.ring, buffer: rx.buffer, produce: () => void rx.fill(), recvCopy: () => rx.recvCopy() }, frameSize);
      sendNl(
        fd,
        new MessageBuilder()
          .begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 9)
          .bytes(new Uint8Array(16))
          .finish(),
      );
      const r = await consumeDump(reader);
      expect(r.messages.length).toBe(302); // lo, the veth end, 150 pairs
      expect(r.messages.every(([type, seq]) => type === RTM_NEWLINK && seq === 9)).toBe(true);
      expect(r.heldAfter).toBe(r.heldBefore);
      if (frameSize > 4096) expect(new Set(r.statuses)).toEqual(new Set([NL_MMAP_STATUS_VALID]));
      // Small frames: the chunks spill (COPY); a datagram that fits (NLMSG_DONE) is still VALID.
      else expect(r.statuses.filter((s) => s === NL_MMAP_STATUS_COPY).length).toBeGreaterThanOrEqual(r.statuses.length - 1);
    }),
  );
});
