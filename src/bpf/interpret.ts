/**
 * A classic BPF interpreter: runs a program over a packet's bytes as the kernel's socket filter
 * does (and libpcap's bpf_filter), for frames read from files and for tests. A load past the
 * captured bytes, or a division by a zero X, ends the program with 0 (reject), as in the kernel.
 * @packageDocumentation
 */
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  SKF_AD_IFINDEX,
  SKF_AD_OFF,
  SKF_AD_PKTTYPE,
  SKF_AD_PROTOCOL,
  SKF_AD_VLAN_TAG,
  SKF_AD_VLAN_TAG_PRESENT,
  SKF_AD_VLAN_TPID,
} from '../constants';
import type { BpfProgram } from './program';

/** What the kernel knows of a packet beside its bytes: what ancillary loads (SKF_AD_*) read. */
export interface FilterContext {
  /** The length on the wire (`len`, BPF_LEN); default the bytes' length. */
  len?: number;
  /** skb->protocol (the ethertype, host order). */
  protocol?: number;
  /** PACKET_HOST, PACKET_OUTGOING, … */
  pkttype?: number;
  ifindex?: number;
  /** The VLAN tag the device stripped, when there was one. */
  vlan?: { tci: number; tpid: number } | null;
}

const AD = (SKF_AD_OFF >>> 0) as number;

/**
 * Runs `program` over `packet`: the number of bytes to keep (0: reject). The program should have
 * passed {@link checkProgram}; an instruction it would refuse ends the run with 0.
 */
export function runFilter(program: BpfProgram, packet: Uint8Array, ctx: FilterContext = {}): number {
  const dv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const caplen = packet.byteLength;
  const mem = new Uint32Array(16);
  let A = 0;
  let X = 0;
  // Ancillary data only for absolute loads (the kernel's convert_bpf_extensions); X + k wraps at 32 bits.
  const load = (at: number, size: number, absolute: boolean): number | null => {
    if (absolute && at >= AD) return ancillary(at - AD, ctx);
    if (at + size > caplen) return null;
    return size === 4 ? dv.getUint32(at) : size === 2 ? dv.getUint16(at) : dv.getUint8(at);
  };
  for (let pc = 0; pc < program.length; pc++) {
    const [code, jt, jf, kk] = program[pc];
    const k = kk >>> 0;
    switch (code & 0x07) {
      case BPF_RET:
        return ((code & 0x18) === BPF_A ? A : k) >>> 0;
      case BPF_LD: {
        const mode = code & 0xe0;
        const size = (code & 0x18) === BPF_W ? 4 : (code & 0x18) === BPF_H ? 2 : 1;
        if (mode === BPF_IMM) A = k;
        else if (mode === BPF_LEN) A = ctx.len ?? caplen;
        else if (mode === BPF_MEM) A = mem[k & 15];
        else if (mode === BPF_ABS || mode === BPF_IND) {
          const at = mode === BPF_ABS ? k : (X + k) >>> 0;
          const v = load(at, size, mode === BPF_ABS);
          if (v === null) return 0;
          A = v >>> 0;
        } else return 0;
        break;
      }
      case BPF_LDX: {
        const mode = code & 0xe0;
        if (mode === BPF_IMM) X = k;
        else if (mode === BPF_LEN) X = ctx.len ?? caplen;
        else if (mode === BPF_MEM) X = mem[k & 15];
        else if (mode === BPF_MSH && (code & 0x18) === BPF_B) {
          if (k >= caplen) return 0;
          X = (packet[k] & 0xf) << 2;
        } else return 0;
        break;
      }
      case BPF_ST:
        mem[k & 15] = A;
        break;
      case BPF_STX:
        mem[k & 15] = X;
        break;
      case BPF_ALU: {
        const op = code & 0xf0;
        const v = (code & 0x08) === BPF_X ? X : k;
        if (op === BPF_NEG) A = -A >>> 0;
        else if ((op === BPF_DIV || op === BPF_MOD) && v === 0) return 0;
        else A = alu(op, A, v);
        break;
      }
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) {
          pc += k;
          break;
        }
        const v = (code & 0x08) === BPF_X ? X : k;
        const yes = op === BPF_JEQ ? A === v : op === BPF_JGT ? A > v : op === BPF_JGE ? A >= v : op === BPF_JSET ? (A & v) !== 0 : null;
        if (yes === null) return 0;
        pc += yes ? jt : jf;
        break;
      }
      case BPF_MISC:
        if ((code & 0xf8) === BPF_TXA) A = X;
        else X = A;
        break;
      default:
        return 0;
    }
  }
  return 0;
}

function alu(op: number, a: number, v: number): number {
  switch (op) {
    case BPF_ADD:
      return (a + v) >>> 0;
    case BPF_SUB:
      return (a - v) >>> 0;
    case BPF_MUL:
      return Math.imul(a, v) >>> 0;
    case BPF_DIV:
      return Math.floor(a / v) >>> 0;
    case BPF_MOD:
      return (a % v) >>> 0;
    case BPF_OR:
      return (a | v) >>> 0;
    case BPF_AND:
      return (a & v) >>> 0;
    case BPF_XOR:
      return (a ^ v) >>> 0;
    // Shifts of 32 or more give 0 (the kernel's eBPF translation; JavaScript would take the count mod 32).
    case BPF_LSH:
      return v >= 32 ? 0 : (a << v) >>> 0;
    case BPF_RSH:
      return v >= 32 ? 0 : a >>> v;
    default:
      return a;
  }
}

function ancillary(which: number, ctx: FilterContext): number | null {
  switch (which) {
    case SKF_AD_PROTOCOL:
      return ctx.protocol ?? 0;
    case SKF_AD_PKTTYPE:
      return ctx.pkttype ?? 0;
    case SKF_AD_IFINDEX:
      return ctx.ifindex ?? 0;
    case SKF_AD_VLAN_TAG:
      return ctx.vlan?.tci ?? 0;
    case SKF_AD_VLAN_TAG_PRESENT:
      return ctx.vlan ? 1 : 0;
    case SKF_AD_VLAN_TPID:
      return ctx.vlan?.tpid ?? 0;
    default:
      return null; // an extension this interpreter does not have: reject, as a kernel without it
  }
}
