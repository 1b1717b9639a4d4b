// The V3 block walk (native/walk.cc, told the header's shape by V3_WALK) against well-formed and
// malformed blocks: exact fields, never a read outside the block, never a crash; and its misuse.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AF_NETLINK, NETLINK_ROUTE, SOCK_RAW, TP_STATUS_USER } from '../../src/constants';
import { tpacketV3Block, V3_WALK } from '../../src/layouts/tpacket-v3';
import { native, RECV_META_WORDS, WALK_BYTES_PER_FRAME } from '../../src/native';
import { BlockReader, ReaderHost } from '../../src/packet/reader';
import { Ring } from '../../src/ring/ring';
import { thrown } from '../helpers/thrown';

const BS = 4096;
function setup() {
  const ab = new ArrayBuffer(2 * BS);
  const dv = new DataView(ab);
  const gaps: number[] = [];
  const host: ReaderHost = { recvWhole: () => Buffer.alloc(0), onLosing: () => undefined, onSequenceGap: (n) => gaps.push(n) };
  const reader = new BlockReader(new Ring(ab, Float64Array.of(0, BS), tpacketV3Block), BS, dv, new Uint8Array(ab), host);
  const block = (b: number, seq: number, frames: number[], numPkts = frames.length) => {
    const o = b * BS;
    dv.setUint32(o + 12, numPkts, true);
    dv.setUint32(o + 16, 48, true);
    dv.setBigUint64(o + 24, BigInt(seq), true);
    let at = o + 48;
    for (let i = 0; i < frames.length; i++) {
      const next = frames[i];
      dv.setUint32(at, next, true); // tp_next_offset
      dv.setUint32(at + 16, 100 + i, true); // tp_len
      dv.setUint32(at + 12, 60 + i, true); // tp_snaplen
      dv.setUint16(at + 24, 80 + 2 * i, true); // tp_mac
      // Past a damaged offset there is no frame to write (and writing one would clobber this one).
      if (i < frames.length - 1 && (next === 0 || next % 8 !== 0 || at + next + 68 > o + BS)) break;
      at += next;
    }
    dv.setUint32(o + 8, TP_STATUS_USER, true);
  };
  return { reader, block, gaps, dv };
}

describe('BlockReader', () => {
  it('walks a well-formed block', () => {
    const { reader, block } = setup();
    block(0, 1, [160, 152, 0]);
    const b = reader.next()!;
    expect(b.length).toBe(3);
    expect(b.sequence).toBe(1);
    expect([0, 1, 2].map((i) => b.frame(i).len)).toEqual([100, 101, 102]);
    // Every field the walk reads, at the offsets the test wrote (block 0: first frame at 48).
    expect([...b.lengths]).toEqual([100, 101, 102]);
    expect([...b.caplens]).toEqual([60, 61, 62]);
    expect([...b.dataOffsets]).toEqual([48 + 80, 48 + 160 + 82, 48 + 160 + 152 + 84]);
    expect(b.frame(2).data.byteOffset).toBe(48 + 160 + 152 + 84);
    expect(b.frame(2).data.length).toBe(62);
  });
  it.each([
    ['misaligned', 52],
    ['past the block end', BS - 40],
    ['before the block private area', 16],
  ])('gives back a block whose first frame is %s, without a batch', (_name, offsetToFirst) => {
    const { reader, block, dv } = setup();
    block(0, 1, [0]);
    dv.setUint32(16, offsetToFirst, true);
    expect(reader.next()).toBeNull();
    expect(dv.getUint32(8, true)).toBe(0); // TP_STATUS_KERNEL: handed straight back
  });
  it.each([
    ['a zero tp_next_offset before the last frame', [160, 0, 0], 2],
    ['a tp_next_offset past the block end', [160, 8192, 0], 2],
    ['a misaligned tp_next_offset', [160, 13, 0], 2],
    ['num_pkts larger than the frames present', [160, 0], 2],
  ])('stops at %s and keeps the frames walked so far', (_name, frames, expected) => {
    const { reader, block } = setup();
    block(0, 1, frames as number[], _name.startsWith('num_pkts') ? 1000 : undefined);
    const b = reader.next()!;
    const seen: number[] = [];
    for (let i = 0; i < b.length; i++) seen.push(b.frame(i).len); // length shrinks when the walk finds the damage
    expect(seen).toEqual([100, 101, 102].slice(0, expected));
    expect(b.length).toBe(expected);
    expect(() => b.frame(expected)).toThrow(RangeError);
    b.release();
  });
  it('reports a block-sequence gap', () => {
    const { reader, block, gaps } = setup();
    block(0, 1, [0]);
    reader.next()!.release();
    block(1, 4, [0]);
    expect(reader.next()!.sequence).toBe(4);
    expect(gaps).toEqual([2]);
  });
});

describe('WalkPlan misuse', () => {
  const plan = (buffer: ArrayBuffer) => new native.WalkPlan({ buffer, ...V3_WALK });
  it('a header description with a field outside the header is a RangeError', () => {
    const shape = { name: 'RangeError', message: 'WalkPlan: a field lies outside the header, or the alignment is not a power of two' };
    expect(thrown(() => new native.WalkPlan({ buffer: new ArrayBuffer(64), ...V3_WALK, word0: V3_WALK.hdrLen - 2 }))).toEqual(shape);
    expect(thrown(() => new native.WalkPlan({ buffer: new ArrayBuffer(64), ...V3_WALK, align: 3 }))).toEqual(shape);
    expect(thrown(() => new native.WalkPlan({ ...V3_WALK, buffer: new Uint8Array(64) as unknown as ArrayBuffer }))).toEqual({
      name: 'TypeError',
      message: 'WalkPlan: buffer must be an ArrayBuffer',
    });
  });
  it('an end outside the mapping or n beyond the scratch is a RangeError; a first frame that does not fit walks nothing', () => {
    const p = plan(new ArrayBuffer(4096));
    const scratch = new ArrayBuffer(4 * WALK_BYTES_PER_FRAME);
    const range = { name: 'RangeError', message: 'WalkPlan.walk: first or end outside the mapping, or n beyond the scratch' };
    expect(thrown(() => p.walk(0, 4097, 1, scratch))).toEqual(range);
    expect(thrown(() => p.walk(-8, 4096, 1, scratch))).toEqual(range);
    expect(thrown(() => p.walk(0, 4096, 5, scratch))).toEqual(range);
    expect(p.walk(4096 - 8, 4096, 1, scratch)).toBe(0);
    expect(p.walk(8000, 4096, 1, scratch)).toBe(0);
    expect(p.walk(0, 4096, 0, scratch)).toBe(0);
  });
  it('a detached mapping (a closed ring) is a TypeError, not a read of freed memory', () => {
    const buffer = new ArrayBuffer(4096);
    const p = plan(buffer);
    structuredClone(buffer, { transfer: [buffer] });
    expect(thrown(() => p.walk(0, 0, 1, new ArrayBuffer(WALK_BYTES_PER_FRAME)))).toEqual({
      name: 'TypeError',
      message: 'WalkPlan.walk: the buffer was detached (the ring is closed)',
    });
  });
});

describe("the native plans' methods (BindMethod, native/kring.h)", () => {
  // A method reaches its C++ object through a raw data pointer: the function must keep the plan's
  // JavaScript object (which owns that object) alive, or a call after the plan is collected would
  // use freed memory. Each plan is dropped with only its method kept, and the garbage collector run.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const collect = async () => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setImmediate(r)); // finalizers run after the collection
    }
  };

  it('a method taken off its plan keeps the plan alive and works after the plan is dropped', async () => {
    const collected: string[] = [];
    const registry = new FinalizationRegistry<string>((name) => collected.push(name));
    const fd = native.krSocket({ domain: AF_NETLINK, type: SOCK_RAW, protocol: NETLINK_ROUTE, netns: null, op: 'test' });
    try {
      const methods = (() => {
        const walkPlan = new native.WalkPlan({ buffer: new ArrayBuffer(4096), ...V3_WALK });
        const recvPlan = new native.RecvPlan({
          fd,
          buffer: new ArrayBuffer(4096),
          offsets: Float64Array.of(0),
          capacity: 4096,
          spill: new Uint8Array(0),
          spillSize: 0,
          meta: new Uint32Array(RECV_META_WORDS),
          op: 'test',
        });
        const sendPlan = new native.SendPlan({ fd, buffer: new ArrayBuffer(64), offsets: Float64Array.of(0), lengths: Uint32Array.of(0), op: 'test' });
        registry.register(walkPlan, 'WalkPlan');
        registry.register(recvPlan, 'RecvPlan');
        registry.register(sendPlan, 'SendPlan');
        registry.register({}, 'a control object'); // proof that collection and finalizers ran
        return { walk: walkPlan.walk, recv: recvPlan.recv, send: sendPlan.send };
      })();
      await collect();
      expect(collected).toEqual(['a control object']);
      // Called unbound: the method needs no receiver.
      expect(methods.walk(0, 4096, 1, new ArrayBuffer(WALK_BYTES_PER_FRAME))).toBe(1);
      expect(methods.recv(1)).toBe(0); // nothing queued on the socket
      expect(methods.send(0, 0)).toBe(0);
    } finally {
      native.krClose(fd, 'test');
    }
  });
});
