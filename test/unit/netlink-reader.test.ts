// NetlinkReader in kernel mode: the simulated 4.5 (and 4.3/4.4) kernel ring behind it.
import { NL_MMAP_STATUS_COPY, NL_MMAP_STATUS_VALID, RTM_NEWROUTE } from '../../src/constants';
import { nlMmap } from '../../src/layouts/nl-mmap';
import { MessageBuilder } from '../../src/netlink/message';
import { NLM_F_MULTI, NLMSG_DONE } from '../../src/constants';
import { locateMessage, NetlinkReader, NetlinkRingBackend } from '../../src/netlink/reader';
import { frameOffsets } from '../../src/ring/addressing';
import { Ring } from '../../src/ring/ring';
import { NetlinkRingKernel, NetlinkRingKernelOptions } from '../../src/testing/netlink-ring-kernel';
import { consumeDump } from '../helpers/netlink-consumer';

const record = (seq: number, payload = 44) => new MessageBuilder().begin(RTM_NEWROUTE, NLM_F_MULTI, seq).bytes(new Uint8Array(payload)).finish().slice();
const done = () => new MessageBuilder().begin(NLMSG_DONE, NLM_F_MULTI, 0).bytes(new Uint8Array(4)).finish().slice();

/** A kernel-mode backend: the simulator's ring, its poll() and recv(). */
function kernelMode(frameSize: number, frames: number, options: NetlinkRingKernelOptions = {}) {
  const k = new NetlinkRingKernel(options);
  const blockSize = Math.max(4096, frameSize);
  const g = { blockSize, blockCount: frames / Math.floor(blockSize / frameSize), frameSize, frameCount: frames };
  expect(k.setsockopt('rx', g)).toBe(0);
  const mem = k.mmap(k.memory.byteLength) as ArrayBuffer;
  const backend: NetlinkRingBackend = {
    ring: new Ring(mem, frameOffsets(g), nlMmap),
    buffer: mem,
    produce: () => void k.poll(),
    recvCopy: (len) => {
      const r = k.recv(Math.max(len, 2048));
      return typeof r === 'number' ? { errno: -r } : r.data;
    },
  };
  return { k, reader: new NetlinkReader(backend, frameSize) };
}

describe('NetlinkReader on the kernel ring (simulated)', () => {
  const N = 300;
  const expected = Array.from({ length: N }, (_, i) => [RTM_NEWROUTE, i + 1, 44]);
  it('a dump in VALID frames: every record exactly once, in order, with a frame held throughout', async () => {
    const { k, reader } = kernelMode(4096, 8);
    k.startDump(
      Array.from({ length: N }, (_, i) => record(i + 1)),
      done(),
    );
    const r = await consumeDump(reader);
    expect(r.messages).toEqual(expected);
    expect(new Set(r.statuses)).toEqual(new Set([NL_MMAP_STATUS_VALID]));
    expect(r.heldAfter).toBe(r.heldBefore);
  });
  it('4.3/4.4 trimmed dump chunks (docs/netlink-ring.md §8): the same records, located at frame_size - alloc_size', async () => {
    // Eight frames, so the dump does not wrap onto the held (SKIP) frame: the kernel's dump flow
    // control does not step over SKIP and would stall there (docs/netlink-ring.md §5.2; see the next test).
    const { k, reader } = kernelMode(16384, 8, { trimmedDumps: true });
    k.startDump(
      Array.from({ length: N }, (_, i) => record(i + 1)),
      done(),
    );
    const r = await consumeDump(reader);
    expect(r.messages).toEqual(expected);
    expect(reader.unreadable).toBe(0);
  });
  it('a held frame at the head stalls a kernel-ring dump (docs/netlink-ring.md §5.2), and releasing it lets the dump finish', async () => {
    const { k, reader } = kernelMode(16384, 4, { trimmedDumps: true });
    k.startDump(
      Array.from({ length: N }, (_, i) => record(i + 1)),
      done(),
    );
    await expect(consumeDump(reader, 300)).rejects.toThrow('the dump did not finish');
    expect(k.dumping).toBe(true);
  });
  it('frames smaller than a chunk: COPY frames, one recv each, in order', async () => {
    const { k, reader } = kernelMode(2048, 8);
    k.startDump(
      Array.from({ length: N }, (_, i) => record(i + 1)),
      done(),
    );
    const r = await consumeDump(reader);
    expect(r.messages).toEqual(expected);
    expect(new Set(r.statuses)).toEqual(new Set([NL_MMAP_STATUS_COPY]));
  });
  it('an overrun is counted and the COPY receive repeated, keeping ring and queue in step', () => {
    const { k, reader } = kernelMode(2048, 2);
    k.sendCopy(record(1, 3000));
    k.sendCopy(record(2, 3000));
    k.sendCopy(record(3, 3000)); // ring full: overrun, ENOBUFS pending
    const frames = reader.read();
    expect(reader.overruns).toBe(1);
    expect(frames.map((f) => new DataView(f.data.buffer, f.data.byteOffset).getUint32(8, true))).toEqual([1, 2]);
  });
});

describe('locateMessage', () => {
  it('finds the chain at NL_MMAP_HDRLEN, at frame_size - alloc_size, or by scanning; -1 when none', () => {
    const frame = new Uint8Array(16384);
    const msg = record(7);
    frame.set(msg, 24);
    expect(locateMessage(frame, 0, 16384, msg.length)).toBe(24);
    frame.fill(0);
    frame.set(msg, 16384 - 3776);
    expect(locateMessage(frame, 0, 16384, msg.length)).toBe(16384 - 3776);
    frame.fill(0);
    frame.set(msg, 1000);
    expect(locateMessage(frame, 0, 16384, msg.length)).toBe(1000);
    frame.fill(0);
    expect(locateMessage(frame, 0, 16384, msg.length)).toBe(-1);
  });
});
