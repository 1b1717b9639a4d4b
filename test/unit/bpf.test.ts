// The classic BPF interpreter and program checks, instruction by instruction, against the kernel's
// documented semantics (Documentation/networking/filter.rst, net/core/filter.c): loads past the end
// and division by a zero X end the program with 0, ancillary loads read the context, the checks
// refuse what bpf_check_classic refuses. The interpreter against the kernel's own filter on live
// traffic: test/integration/filter-attach.test.ts.
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGT,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
  BPF_NEG,
  BPF_RET,
  BPF_ST,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  SKF_AD_OFF,
  SKF_AD_PKTTYPE,
  SKF_AD_PROTOCOL,
  SKF_AD_VLAN_TAG,
  SKF_AD_VLAN_TAG_PRESENT,
} from '../../src/constants';
import { runFilter } from '../../src/bpf/interpret';
import { BpfProgramError, checkProgram, formatProgramText, parseProgramText } from '../../src/bpf/program';
import type { SockFilter } from '../../src/layouts/packet-sockopt';

const RET_A: SockFilter = [BPF_RET | BPF_A, 0, 0, 0];
const pkt = Buffer.from('0102030405060708090a', 'hex');
const run = (p: SockFilter[], data: Uint8Array = pkt, ctx = {}) => runFilter(p, data, ctx);

describe('cBPF interpreter', () => {
  it('loads: words, halves and bytes big-endian; indirect from X; MSH; LEN; IMM; MEM', () => {
    expect(run([[BPF_LD | BPF_W | BPF_ABS, 0, 0, 1], RET_A])).toBe(0x02030405);
    expect(run([[BPF_LD | BPF_H | BPF_ABS, 0, 0, 8], RET_A])).toBe(0x090a);
    expect(run([[BPF_LD | BPF_B | BPF_ABS, 0, 0, 9], RET_A])).toBe(0x0a);
    expect(run([[BPF_LDX | BPF_IMM, 0, 0, 3], [BPF_LD | BPF_B | BPF_IND, 0, 0, 2], RET_A])).toBe(6);
    expect(run([[BPF_LDX | BPF_B | BPF_MSH, 0, 0, 2], [BPF_MISC | BPF_TXA, 0, 0, 0], RET_A])).toBe((0x03 & 0xf) * 4);
    expect(run([[BPF_LD | BPF_W | BPF_LEN, 0, 0, 0], RET_A], pkt, { len: 1500 })).toBe(1500);
    expect(run([[BPF_LD | BPF_W | BPF_LEN, 0, 0, 0], RET_A])).toBe(10);
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 7], [BPF_ST, 0, 0, 5], [BPF_LD | BPF_IMM, 0, 0, 0], [BPF_LD | BPF_MEM, 0, 0, 5], RET_A])).toBe(7);
  });

  it('a load past the end of the bytes ends the program with 0 (even with a "keep" after it)', () => {
    expect(
      run([
        [BPF_LD | BPF_W | BPF_ABS, 0, 0, 7],
        [BPF_RET | BPF_K, 0, 0, 99],
      ]),
    ).toBe(0);
    expect(
      run([
        [BPF_LD | BPF_B | BPF_ABS, 0, 0, 10],
        [BPF_RET | BPF_K, 0, 0, 99],
      ]),
    ).toBe(0);
    expect(
      run([
        [BPF_LDX | BPF_IMM, 0, 0, 0xfffffff0],
        [BPF_LD | BPF_B | BPF_IND, 0, 0, 2],
        [BPF_RET | BPF_K, 0, 0, 99],
      ]),
    ).toBe(0);
    // X + k is 32-bit: it wraps (to byte 1 here), as the kernel computes it; and it is never an ancillary load.
    expect(run([[BPF_LDX | BPF_IMM, 0, 0, 0xffffffff], [BPF_LD | BPF_B | BPF_IND, 0, 0, 2], RET_A])).toBe(2);
    expect(
      run(
        [
          [BPF_LDX | BPF_IMM, 0, 0, (SKF_AD_OFF + SKF_AD_PROTOCOL) >>> 0],
          [BPF_LD | BPF_H | BPF_IND, 0, 0, 0],
          [BPF_RET | BPF_K, 0, 0, 9],
        ],
        pkt,
        { protocol: 1 },
      ),
    ).toBe(0);
  });

  it('ALU: 32-bit unsigned wrap, division by a zero X ends with 0, shifts of 32 and more give 0', () => {
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 1], [BPF_ALU | BPF_SUB | BPF_K, 0, 0, 2], RET_A])).toBe(0xffffffff);
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 7], [BPF_ALU | BPF_NEG, 0, 0, 0], RET_A])).toBe(0xfffffff9);
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 7], [BPF_ALU | BPF_DIV | BPF_K, 0, 0, 2], RET_A])).toBe(3);
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 7], [BPF_ALU | BPF_MOD | BPF_K, 0, 0, 4], RET_A])).toBe(3);
    expect(
      run([
        [BPF_LD | BPF_IMM, 0, 0, 7],
        [BPF_LDX | BPF_IMM, 0, 0, 0],
        [BPF_ALU | BPF_DIV | BPF_X, 0, 0, 0],
        [BPF_RET | BPF_K, 0, 0, 99],
      ]),
    ).toBe(0);
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 1], [BPF_ALU | BPF_LSH | BPF_K, 0, 0, 31], RET_A])).toBe(0x80000000);
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 1], [BPF_LDX | BPF_IMM, 0, 0, 32], [BPF_ALU | BPF_LSH | BPF_X, 0, 0, 0], RET_A])).toBe(0);
    expect(run([[BPF_LD | BPF_IMM, 0, 0, 5], [BPF_MISC | BPF_TAX, 0, 0, 0], [BPF_LD | BPF_IMM, 0, 0, 0], [BPF_MISC | BPF_TXA, 0, 0, 0], RET_A])).toBe(5);
  });

  it('jumps: unsigned comparisons, relative offsets, ja', () => {
    const cmp = (a: number, k: number) =>
      run([
        [BPF_LD | BPF_IMM, 0, 0, a],
        [BPF_JMP | BPF_JGT | BPF_K, 0, 1, k],
        [BPF_RET | BPF_K, 0, 0, 1],
        [BPF_RET | BPF_K, 0, 0, 2],
      ]);
    expect([cmp(0xffffffff, 1), cmp(1, 0xffffffff), cmp(2, 2)]).toEqual([1, 2, 2]);
    expect(
      run([
        [BPF_JMP | BPF_JA, 0, 0, 1],
        [BPF_RET | BPF_K, 0, 0, 1],
        [BPF_RET | BPF_K, 0, 0, 2],
      ]),
    ).toBe(2);
    expect(
      run([
        [BPF_LD | BPF_IMM, 0, 0, 3],
        [BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 3],
        [BPF_RET | BPF_K, 0, 0, 1],
        [BPF_RET | BPF_K, 0, 0, 2],
      ]),
    ).toBe(2);
  });

  it('ancillary loads read the context; one the interpreter lacks rejects', () => {
    const ad = (n: number): SockFilter[] => [[BPF_LD | BPF_H | BPF_ABS, 0, 0, (SKF_AD_OFF + n) >>> 0], RET_A];
    const ctx = { protocol: 0x86dd, pkttype: 4, vlan: { tci: 0x2064, tpid: 0x8100 } };
    expect([SKF_AD_PROTOCOL, SKF_AD_PKTTYPE, SKF_AD_VLAN_TAG, SKF_AD_VLAN_TAG_PRESENT].map((n) => run(ad(n), pkt, ctx))).toEqual([0x86dd, 4, 0x2064, 1]);
    expect(run(ad(SKF_AD_VLAN_TAG_PRESENT), pkt, {})).toBe(0);
    expect(
      run([
        [BPF_LD | BPF_W | BPF_ABS, 0, 0, (SKF_AD_OFF + 56) >>> 0],
        [BPF_RET | BPF_K, 0, 0, 9],
      ]),
    ).toBe(0);
  });
});

describe('cBPF programs', () => {
  it("checkProgram refuses what the kernel's check refuses, naming the instruction", () => {
    const err = (p: unknown) => {
      try {
        checkProgram(p);
      } catch (e) {
        return [(e as Error).name, (e as BpfProgramError).index, (e as Error).message];
      }
      return null;
    };
    expect(err([])).toEqual(['BpfProgramError', 0, 'a BPF program has 1 to 4096 instructions, got 0']);
    expect(err([[BPF_LD | BPF_IMM, 0, 0, 1]])).toEqual(['BpfProgramError', 0, 'the last instruction must return (BPF_RET)']);
    expect(err([[BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0], RET_A])).toEqual(['BpfProgramError', 0, 'instruction 0 jumps past the end']);
    expect(err([[BPF_JMP | BPF_JA, 0, 0, 1], RET_A])).toEqual(['BpfProgramError', 0, 'instruction 0 jumps past the end']);
    expect(err([[BPF_ALU | BPF_DIV | BPF_K, 0, 0, 0], RET_A])).toEqual(['BpfProgramError', 0, 'instruction 0 divides by the constant 0']);
    expect(err([[BPF_ST, 0, 0, 16], RET_A])).toEqual(['BpfProgramError', 0, 'instruction 0 uses scratch word 16 (there are 16)']);
    expect(err(Array.from({ length: 4097 }, () => RET_A))).toEqual(['BpfProgramError', 0, 'a BPF program has 1 to 4096 instructions, got 4097']);
    expect(err([[1, 2, 3]])?.[0]).toBe('TypeError');
    expect(err([[0x10000, 0, 0, 0]])?.[0]).toBe('TypeError');
  });

  it('tcpdump -dd and -ddd text both parse; formatProgramText prints -dd', () => {
    const dd = '{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n';
    const p = parseProgramText(dd);
    expect(p).toEqual([
      [0x28, 0, 0, 12],
      [0x15, 0, 1, 0x800],
      [6, 0, 0, 0x40000],
      [6, 0, 0, 0],
    ]);
    expect(parseProgramText('4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n')).toEqual(p);
    expect(formatProgramText(p)).toBe(dd.replace('0x6,', '0x06,').replace('0x6,', '0x06,'));
    expect(() => parseProgramText('{ 0x28, 0, 0 },')).toThrow('line 1 is not "{ code, jt, jf, k },": "{ 0x28, 0, 0 },"');
    expect(() => parseProgramText('3\n6 0 0 0\n')).toThrow('the count line says 3 instructions, 1 follow');
  });
});
