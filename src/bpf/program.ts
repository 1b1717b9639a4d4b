/**
 * Classic BPF programs as data: the instruction tuple of `struct sock_filter`, the checks the kernel
 * makes before it takes one (bpf_check_classic in net/core/filter.c), and the two text forms tools
 * print: `tcpdump -dd` (C initialisers) and `tcpdump -ddd` (decimal, a count first).
 * @packageDocumentation
 */
import {
  BPF_ALU,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MOD,
  BPF_RET,
  BPF_ST,
  BPF_STX,
} from '../constants';
import type { SockFilter } from '../layouts/packet-sockopt';

/** A classic BPF program: `struct sock_filter` entries, `[code, jt, jf, k]`. */
export type BpfProgram = readonly SockFilter[];

/** A program the kernel would refuse, or text that is not a program; `index` is the instruction (or line). */
export class BpfProgramError extends RangeError {
  /** The instruction (0-based) or text line (1-based) at fault. */
  readonly index: number;
  constructor(index: number, what: string) {
    super(what);
    this.name = 'BpfProgramError';
    this.index = index;
  }
}

const cls = (code: number) => code & 0x07;

/**
 * Checks a program as the kernel does before SO_ATTACH_FILTER: 1..4096 instructions, every jump
 * inside the program, no constant division by zero, scratch memory indexes below 16, and a last
 * instruction that returns. Returns the program.
 * @throws TypeError for a value that is not an array of `[code, jt, jf, k]` integers
 * @throws BpfProgramError naming the instruction the kernel would refuse
 */
export function checkProgram(program: unknown): BpfProgram {
  if (!Array.isArray(program)) throw new TypeError('a BPF program is an array of [code, jt, jf, k] instructions');
  if (program.length === 0 || program.length > BPF_MAXINSNS)
    throw new BpfProgramError(0, `a BPF program has 1 to ${BPF_MAXINSNS} instructions, got ${program.length}`);
  program.forEach((ins: unknown, i) => {
    if (!Array.isArray(ins) || ins.length !== 4) throw new TypeError(`instruction ${i} must be [code, jt, jf, k]`);
    const [code, jt, jf, k] = ins as number[];
    const fits = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
    if (!fits(code, 0xffff) || !fits(jt, 255) || !fits(jf, 255) || !(Number.isInteger(k) && k >= -0x80000000 && k <= 0xffffffff)) {
      throw new TypeError(`instruction ${i} must be [code 0..65535, jt 0..255, jf 0..255, k a 32-bit integer], got [${ins.join(', ')}]`);
    }
    const c = cls(code);
    if (c === BPF_JMP) {
      const far = (code & 0xf0) === BPF_JA ? k >>> 0 : Math.max(jt, jf);
      if (i + 1 + far >= program.length) throw new BpfProgramError(i, `instruction ${i} jumps past the end`);
    }
    if (c === BPF_ALU && ((code & 0xf0) === BPF_DIV || (code & 0xf0) === BPF_MOD) && (code & 0x08) === BPF_K && k === 0) {
      throw new BpfProgramError(i, `instruction ${i} divides by the constant 0`);
    }
    const mem = ((c === BPF_LD || c === BPF_LDX) && (code & 0xe0) === BPF_MEM) || c === BPF_ST || c === BPF_STX;
    if (mem && k >>> 0 >= BPF_MEMWORDS) throw new BpfProgramError(i, `instruction ${i} uses scratch word ${k >>> 0} (there are ${BPF_MEMWORDS})`);
    if (c === BPF_LD && (code & 0xe0) === BPF_IMM && (code & 0x18) !== 0) throw new BpfProgramError(i, `instruction ${i} is an immediate load with a size`);
  });
  if (cls(program[program.length - 1][0]) !== BPF_RET) throw new BpfProgramError(program.length - 1, 'the last instruction must return (BPF_RET)');
  return program as BpfProgram;
}

/**
 * A program from the text `tcpdump -dd` prints (`{ 0x28, 0, 0, 0x0000000c },` per line) or the one
 * `tcpdump -ddd` prints (a count line, then `code jt jf k` in decimal per line), checked.
 * @throws BpfProgramError naming the line that is neither
 */
export function parseProgramText(text: string): BpfProgram {
  if (typeof text !== 'string') throw new TypeError('program text must be a string');
  const lines = text.split('\n').map((l) => l.trim());
  const out: SockFilter[] = [];
  const num = (s: string) => Number(s.trim());
  const ddd = /^\d+$/.test(lines[0] ?? '') && lines.slice(1).some((l) => /^\d+ \d+ \d+ \d+$/.test(l));
  lines.forEach((l, n) => {
    if (l === '') return;
    if (ddd) {
      if (n === 0) return;
      const m = /^(\d+) (\d+) (\d+) (\d+)$/.exec(l);
      if (!m) throw new BpfProgramError(n + 1, `line ${n + 1} is not "code jt jf k": ${JSON.stringify(l)}`);
      out.push([num(m[1]), num(m[2]), num(m[3]), num(m[4])]);
      return;
    }
    const m = /^\{\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(0x[0-9a-fA-F]+|\d+)\s*\},?$/.exec(l);
    if (!m) throw new BpfProgramError(n + 1, `line ${n + 1} is not "{ code, jt, jf, k },": ${JSON.stringify(l)}`);
    out.push([num(m[1]), num(m[2]), num(m[3]), num(m[4])]);
  });
  if (ddd && out.length !== num(lines[0])) throw new BpfProgramError(1, `the count line says ${lines[0]} instructions, ${out.length} follow`);
  return checkProgram(out);
}

/** The program as `tcpdump -dd` prints it. */
export function formatProgramText(program: BpfProgram): string {
  const hex = (v: number, w: number) => `0x${(v >>> 0).toString(16).padStart(w, '0')}`;
  return program.map(([c, jt, jf, k]) => `{ ${hex(c, 2)}, ${jt}, ${jf}, ${hex(k, 8)} },\n`).join('');
}
