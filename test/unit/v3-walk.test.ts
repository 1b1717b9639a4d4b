// The V3 block walk against malformed blocks: never a read outside the block, never a crash.
import { TP_STATUS_USER } from '../../src/constants';
import { tpacketV3Block } from '../../src/layouts/tpacket-v3';
import { BlockReader, ReaderHost } from '../../src/packet/reader';
import { Ring } from '../../src/ring/ring';

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
      // Past a damaged offset there is no frame to write (and writing one would clobber this one).
      if (i < frames.length - 1 && (next === 0 || next % 8 !== 0 || at + next + 68 > o + BS)) break;
      at += next;
    }
    dv.setUint32(o + 8, TP_STATUS_USER, true);
  };
  return { reader, block, gaps };
}

describe('BlockReader', () => {
  it('walks a well-formed block', () => {
    const { reader, block } = setup();
    block(0, 1, [160, 152, 0]);
    const b = reader.next()!;
    expect(b.length).toBe(3);
    expect(b.sequence).toBe(1);
    expect([0, 1, 2].map((i) => b.frame(i).len)).toEqual([100, 101, 102]);
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
