/**
 * A compiler from pcap-filter expressions (the language of tcpdump and libpcap, `man pcap-filter`)
 * to classic BPF for Ethernet frames, with no libpcap: the common grammar — `ether host/src/dst`,
 * `ether proto`, `broadcast`/`multicast`, `vlan [id]`, `ip`, `ip6`, `arp`, `rarp`, `tcp`, `udp`,
 * `sctp`, `icmp`, `icmp6`, `igmp`, `host`, `net a/b`, `net a mask m`, `port`, `portrange`, `src`/`dst`
 * qualifiers, `proto`, `less`/`greater`, `and`/`or`/`not` (and `&&`, `||`, `!`), parentheses, and
 * arithmetic comparisons over `len` and byte offsets such as `tcp[13] & 2 != 0`.
 *
 * What each primitive matches is libpcap's (gencode.c), so that a program from here and one from
 * `tcpdump -dd` decide the same for every packet (the compiler's tests check exactly that): `host`
 * covers IPv4, ARP and RARP addresses; `port` TCP, UDP and SCTP over IPv4 (unfragmented or first
 * fragment) and IPv6 (fixed header); `tcp`/`udp` over IPv6 also behind a fragment header; `and`
 * and `or` bind equally, left to right; `vlan` moves every later offset of the expression by four
 * bytes. Host and port names are not looked up: addresses and numbers only.
 *
 * Unknown syntax is a `SyntaxError` whose `column` points at the offending token.
 * @packageDocumentation
 */
import {
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
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
  BPF_SUB,
  BPF_TAX,
  BPF_W,
  BPF_X,
  BPF_XOR,
  ETH_HLEN,
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  ETH_P_RARP,
  SKF_AD_OFF,
  SKF_AD_PROTOCOL,
  VLAN_TPIDS,
} from '../constants';
import type { SockFilter } from '../layouts/packet-sockopt';
import { BpfProgram, checkProgram } from './program';

/** Options of {@link compileFilter}. */
export interface CompileOptions {
  /**
   * What the program runs over: `'ethernet'` frames (default; `mode: 'raw'`) or `'network'`-layer
   * data with the ethertype in skb->protocol (`mode: 'dgram'`, and `-i any`), where link-layer
   * primitives (ether, vlan, broadcast) are a SyntaxError.
   */
  link?: 'ethernet' | 'network';
  /** What a match returns: the bytes to keep (default 262144, tcpdump's). */
  snaplen?: number;
}

/** A syntax error in a filter expression: `column` (1-based) is where. */
export class FilterSyntaxError extends SyntaxError {
  readonly column: number;
  readonly expression: string;
  constructor(expression: string, column: number, what: string) {
    super(`${what} at column ${column} of "${expression}"`);
    this.name = 'SyntaxError';
    this.column = column;
    this.expression = expression;
  }
}

const IPPROTO = { icmp: 1, igmp: 2, tcp: 6, udp: 17, ipv6frag: 44, icmp6: 58, sctp: 132 } as const;
const IP6_HLEN = 40;

// ---- conditions and arithmetic -----------------------------------------------------------------

/** A packet load: bytes at an absolute offset, at X (the IPv4 header length) plus an offset, or the length. */
type Load = { mode: 'abs'; size: 1 | 2 | 4; off: number } | { mode: 'ind'; size: 1 | 2 | 4; off: number; iphdr: number } | { mode: 'len' };
type JumpOp = 'jeq' | 'jgt' | 'jge' | 'jset';
type Cond =
  | { k: 'and' | 'or'; a: Cond; b: Cond }
  | { k: 'not'; a: Cond }
  | { k: 'cmp'; load: Load; mask?: number; op: JumpOp; v: number }
  | { k: 'rel'; left: Arith; op: string; right: Arith };
type Arith =
  | { k: 'num'; v: number }
  | { k: 'len' }
  | { k: 'load'; base: Load; index: Arith; size: 1 | 2 | 4; guard?: Cond }
  | { k: 'bin'; op: string; a: Arith; b: Arith }
  | { k: 'neg'; a: Arith };

const and = (a: Cond, b: Cond): Cond => ({ k: 'and', a, b });
const or = (a: Cond, b: Cond): Cond => ({ k: 'or', a, b });
const not = (a: Cond): Cond => ({ k: 'not', a });
const anyOf = (cs: Cond[]): Cond => cs.reduce((x, y) => or(x, y));
const allOf = (cs: Cond[]): Cond => cs.reduce((x, y) => and(x, y));
const abs = (off: number, size: 1 | 2 | 4): Load => ({ mode: 'abs', size, off });
const eq = (load: Load, v: number, mask?: number): Cond => ({ k: 'cmp', load, op: 'jeq', v: v >>> 0, mask });

// ---- tokens --------------------------------------------------------------------------------------

interface Token {
  t: 'word' | 'op' | 'end';
  s: string;
  col: number;
}

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '<<', '>>', '(', ')', '[', ']', ':', '!', '=', '<', '>', '+', '-', '*', '/', '%', '&', '|', '^'];

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[A-Za-z0-9_\\]/.test(c)) {
      // Words hold addresses (10.0.0.0/8, fe80::1, 00:11:22:33:44:55), ranges (10-20) and names.
      const m = /^[A-Za-z0-9_\\][A-Za-z0-9_.:/\\-]*/.exec(text.slice(i))!;
      let w = m[0];
      // A trailing '-' belongs to what follows (an operator), not to the word.
      while (w.endsWith('-') && w.length > 1) w = w.slice(0, -1);
      out.push({ t: 'word', s: w, col: i + 1 });
      i += w.length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (!op) throw new FilterSyntaxError(text, i + 1, `unexpected character ${JSON.stringify(c)}`);
    out.push({ t: 'op', s: op, col: i + 1 });
    i += op.length;
  }
  out.push({ t: 'end', s: '', col: text.length + 1 });
  return out;
}

// ---- parser ----------------------------------------------------------------------------------------

const PROTO_QUALS = ['ether', 'link', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'sctp', 'icmp', 'icmp6', 'igmp'] as const;
type ProtoQual = (typeof PROTO_QUALS)[number];
type Dir = 'src' | 'dst' | 'or' | 'and';
type TypeQual = 'host' | 'net' | 'port' | 'portrange';
interface Quals {
  proto?: ProtoQual;
  dir?: Dir;
  type?: TypeQual;
}

const NAMED: Record<string, number> = {
  icmptype: 0,
  icmpcode: 1,
  'icmp-echoreply': 0,
  'icmp-unreach': 3,
  'icmp-sourcequench': 4,
  'icmp-redirect': 5,
  'icmp-echo': 8,
  'icmp-routeradvert': 9,
  'icmp-routersolicit': 10,
  'icmp-timxceed': 11,
  'icmp-paramprob': 12,
  'icmp-tstamp': 13,
  'icmp-tstampreply': 14,
  'icmp-ireq': 15,
  'icmp-ireqreply': 16,
  'icmp-maskreq': 17,
  'icmp-maskreply': 18,
  icmp6type: 0,
  icmp6code: 1,
  'icmp6-echo': 128,
  'icmp6-echoreply': 129,
  tcpflags: 13,
  'tcp-fin': 0x01,
  'tcp-syn': 0x02,
  'tcp-rst': 0x04,
  'tcp-push': 0x08,
  'tcp-ack': 0x10,
  'tcp-urg': 0x20,
  'tcp-ece': 0x40,
  'tcp-cwr': 0x80,
};

class Parser {
  #toks: Token[];
  #pos = 0;
  #text: string;
  /** Bytes every link-layer offset is moved by: 4 per `vlan` parsed so far (libpcap's off_linktype/off_linkpl). */
  #vlan = 0;
  #last: Quals | null = null;
  #network: boolean;

  constructor(text: string, network: boolean) {
    this.#text = text;
    this.#network = network;
    this.#toks = tokenize(text);
  }

  #peek(n = 0): Token {
    return this.#toks[Math.min(this.#pos + n, this.#toks.length - 1)];
  }
  #next(): Token {
    return this.#toks[this.#pos++];
  }
  #fail(tok: Token, what: string): never {
    throw new FilterSyntaxError(this.#text, tok.col, what);
  }
  #expect(s: string): Token {
    const t = this.#next();
    if (t.s !== s) this.#fail(t, t.t === 'end' ? `expected "${s}", the expression ended` : `expected "${s}", got "${t.s}"`);
    return t;
  }
  #is(s: string, n = 0): boolean {
    const t = this.#peek(n);
    return t.t !== 'end' && t.s === s;
  }

  parse(): Cond | null {
    if (this.#peek().t === 'end') return null;
    const c = this.#expr();
    const t = this.#peek();
    if (t.t !== 'end') this.#fail(t, `unexpected "${t.s}"`);
    return c;
  }

  // and/or bind equally, left to right (pcap-filter).
  #expr(): Cond {
    let c = this.#unary();
    for (;;) {
      const t = this.#peek();
      if (t.s === 'and' || t.s === '&&') {
        this.#next();
        c = and(c, this.#unary());
      } else if (t.s === 'or' || t.s === '||') {
        this.#next();
        c = or(c, this.#unary());
      } else return c;
    }
  }

  #unary(): Cond {
    const t = this.#peek();
    if (t.s === 'not' || t.s === '!') {
      this.#next();
      return not(this.#unary());
    }
    // A relation (arithmetic, a comparison, arithmetic) or a boolean term: try the relation first.
    const save = this.#pos;
    const vlan = this.#vlan;
    const rel = this.#tryRelation();
    if (rel) return rel;
    this.#pos = save;
    this.#vlan = vlan;
    if (t.s === '(') {
      this.#next();
      const c = this.#expr();
      this.#expect(')');
      return c;
    }
    return this.#primitive();
  }

  // A relation when the words can only start one (proto[…], len, a named constant); else one is
  // tried, and null (nothing consumed that counts) when it is not one: "(tcp or udp)", "port 80 or 443".
  #tryRelation(): Cond | null {
    const t = this.#peek();
    const surely = t.t === 'word' && (t.s === 'len' || t.s in NAMED || this.#is('[', 1));
    const maybe = t.s === '(' || (t.t === 'op' && t.s === '-') || (t.t === 'word' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(t.s));
    if (!surely && !maybe) return null;
    let left: Arith;
    try {
      left = this.#arith();
    } catch (e) {
      if (e instanceof FilterSyntaxError && !surely) return null;
      throw e;
    }
    const op = this.#peek();
    if (!['>', '<', '>=', '<=', '=', '==', '!='].includes(op.s) || op.t !== 'op') {
      if (!surely) return null;
      this.#fail(
        op,
        op.t === 'end'
          ? 'a comparison (>, <, >=, <=, =, !=) was expected, the expression ended'
          : `a comparison (>, <, >=, <=, =, !=) was expected, got "${op.s}"`,
      );
    }
    this.#next();
    const right = this.#arith();
    return { k: 'rel', left, op: op.s, right };
  }

  // ---- arithmetic: | ^ & << >> + - * / % with C's precedence (pcap-filter's grammar)
  #arith(level = 0): Arith {
    const levels = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
    if (level === levels.length) return this.#arithUnary();
    let a = this.#arith(level + 1);
    while (this.#peek().t === 'op' && levels[level].includes(this.#peek().s)) {
      const op = this.#next().s;
      a = { k: 'bin', op, a, b: this.#arith(level + 1) };
    }
    return a;
  }

  #arithUnary(): Arith {
    const t = this.#next();
    if (t.s === '-' && t.t === 'op') return { k: 'neg', a: this.#arithUnary() };
    if (t.s === '(' && t.t === 'op') {
      const a = this.#arith();
      this.#expect(')');
      return a;
    }
    if (t.t !== 'word') this.#fail(t, t.t === 'end' ? 'a value was expected, the expression ended' : `a value was expected, got "${t.s}"`);
    if (t.s === 'len') return { k: 'len' };
    if (t.s in NAMED) return { k: 'num', v: NAMED[t.s] };
    if (/^[0-9]/.test(t.s)) return { k: 'num', v: this.#number(t) };
    if (this.#is('[')) return this.#access(t);
    return this.#fail(t, `"${t.s}" is not a number, len, or a protocol's bytes (proto[offset])`);
  }

  // proto[expr], proto[expr : size]
  #access(proto: Token): Arith {
    const base = this.#protoBase(proto);
    this.#expect('[');
    let index: Arith;
    let size: 1 | 2 | 4 = 1;
    // "2:2" arrives as one word (':' is a word character for IPv6 and MAC addresses).
    const w = this.#peek();
    if (w.t === 'word' && /^[0-9a-fx]+:[0-9]+$/i.test(w.s) && this.#is(']', 1)) {
      this.#next();
      const [i, s] = w.s.split(':');
      index = { k: 'num', v: this.#number({ ...w, s: i }) };
      size = this.#size({ ...w, s, col: w.col + i.length + 1 });
    } else {
      index = this.#arith();
      if (this.#is(':')) {
        this.#next();
        size = this.#size(this.#next());
      }
    }
    this.#expect(']');
    return { k: 'load', base: base.load, index, size, guard: base.guard };
  }

  #size(t: Token): 1 | 2 | 4 {
    if (t.s === '1' || t.s === '2' || t.s === '4') return Number(t.s) as 1 | 2 | 4;
    return this.#fail(t, `a load size is 1, 2 or 4, got "${t.s}"`);
  }

  // Where proto[...] counts from, and what must hold for it to mean anything (libpcap's gen_load).
  #protoBase(t: Token): { load: Load; guard?: Cond } {
    const nl = this.#nl();
    switch (t.s) {
      case 'ether':
      case 'link':
        this.#linkLayer(t);
        return { load: abs(0, 1) };
      case 'ip':
        return { load: abs(nl, 1), guard: this.#ethertype(ETH_P_IP) };
      case 'ip6':
        return { load: abs(nl, 1), guard: this.#ethertype(ETH_P_IPV6) };
      case 'arp':
        return { load: abs(nl, 1), guard: this.#ethertype(ETH_P_ARP) };
      case 'rarp':
        return { load: abs(nl, 1), guard: this.#ethertype(ETH_P_RARP) };
      case 'tcp':
      case 'udp':
      case 'sctp':
      case 'icmp':
      case 'igmp':
        // IPv4 only, unfragmented or first fragment, past the header's own length (X).
        return {
          load: { mode: 'ind', size: 1, off: nl, iphdr: nl },
          guard: allOf([this.#ethertype(ETH_P_IP), eq(abs(nl + 9, 1), IPPROTO[t.s]), this.#firstFragment()]),
        };
      case 'icmp6':
        return { load: abs(nl + IP6_HLEN, 1), guard: and(this.#ethertype(ETH_P_IPV6), eq(abs(nl + 6, 1), IPPROTO.icmp6)) };
      default:
        return this.#fail(t, `"${t.s}" has no bytes to index (ether, ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, igmp)`);
    }
  }

  #number(t: Token): number {
    const s = t.s;
    const v = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^0[0-7]+$/.test(s) ? parseInt(s, 8) : /^[0-9]+$/.test(s) ? Number(s) : NaN;
    if (!Number.isFinite(v) || v > 0xffffffff) this.#fail(t, `"${s}" is not a 32-bit number`);
    return v;
  }

  // ---- primitives
  // Where the network header starts: after the Ethernet header (and the tags `vlan` passed), or
  // at 0 for network-layer data (mode 'dgram'), whose ethertype is skb->protocol.
  #nl(): number {
    return this.#network ? 0 : ETH_HLEN + this.#vlan;
  }
  #ethertype(type: number): Cond {
    if (this.#network) return eq(abs((SKF_AD_OFF + SKF_AD_PROTOCOL) >>> 0, 2), type);
    return eq(abs(12 + this.#vlan, 2), type);
  }
  #linkLayer(t: Token): void {
    if (this.#network) this.#fail(t, `"${t.s}" needs the link-layer header, which network-layer data (mode 'dgram', -i any) does not have`);
  }
  #firstFragment(): Cond {
    return not({ k: 'cmp', load: abs(this.#nl() + 6, 2), op: 'jset', v: 0x1fff });
  }
  // IPv4 protocol N, or IPv6 next header N (directly or behind a fragment header).
  #ipProto(n: number): Cond {
    return this.#ethertypeAnd(ETH_P_IP, eq(abs(this.#nl() + 9, 1), n));
  }
  #ip6Proto(n: number): Cond {
    const nl = this.#nl();
    return and(this.#ethertype(ETH_P_IPV6), or(eq(abs(nl + 6, 1), n), and(eq(abs(nl + 6, 1), IPPROTO.ipv6frag), eq(abs(nl + IP6_HLEN, 1), n))));
  }
  #ethertypeAnd(type: number, c: Cond): Cond {
    return and(this.#ethertype(type), c);
  }

  #primitive(): Cond {
    const t = this.#peek();
    if (t.t !== 'word') this.#fail(t, t.t === 'end' ? 'the expression ended where a primitive was expected' : `unexpected "${t.s}"`);
    switch (t.s) {
      case 'less':
      case 'greater': {
        this.#next();
        const n = this.#number(this.#wordAfter(t, 'a length'));
        const gt: Cond = { k: 'cmp', load: { mode: 'len' }, op: t.s === 'less' ? 'jgt' : 'jge', v: n };
        return t.s === 'less' ? not(gt) : gt;
      }
      case 'vlan': {
        this.#linkLayer(t);
        this.#next();
        const lo = this.#vlan;
        const tagged = anyOf(VLAN_TPIDS.map((p) => eq(abs(12 + lo, 2), p)));
        let c = tagged;
        const id = this.#peek();
        if (id.t === 'word' && /^[0-9]/.test(id.s)) {
          this.#next();
          const v = this.#number(id);
          if (v > 4095) this.#fail(id, `a VLAN id is 0 to 4095, got ${v}`);
          c = and(tagged, eq(abs(14 + lo, 2), v, 0x0fff));
        }
        this.#vlan += 4;
        return c;
      }
      case 'broadcast':
        this.#linkLayer(t);
        this.#next();
        return this.#etherBroadcast();
      case 'multicast':
        this.#linkLayer(t);
        this.#next();
        return { k: 'cmp', load: abs(0, 1), op: 'jset', v: 1 };
      case 'proto': {
        this.#next();
        const n = this.#protoNumber(this.#wordAfter(t, 'a protocol'));
        return or(this.#ipProto(n), this.#ip6Proto(n));
      }
    }
    if ((PROTO_QUALS as readonly string[]).includes(t.s)) return this.#qualified();
    if (['src', 'dst', 'host', 'net', 'port', 'portrange'].includes(t.s)) return this.#qualified();
    // A bare id: the qualifiers of the primitive before it (libpcap), or host.
    return this.#id(this.#last ?? { type: 'host' });
  }

  #protoNumber(t: Token): number {
    const name = t.s.replace(/^\\/, '');
    const v = name in IPPROTO && name !== 'ipv6frag' ? IPPROTO[name as keyof typeof IPPROTO] : /^[0-9]/.test(name) ? this.#number(t) : NaN;
    if (!(v >= 0 && v <= 255)) this.#fail(t, `"${t.s}" is not an IP protocol (a number 0-255, tcp, udp, icmp, icmp6, sctp, igmp)`);
    return v;
  }

  #wordAfter(after: Token, what: string): Token {
    const t = this.#next();
    if (t.t !== 'word') this.#fail(t, t.t === 'end' ? `"${after.s}" needs ${what}` : `"${after.s}" needs ${what}, got "${t.s}"`);
    return t;
  }

  #etherBroadcast(): Cond {
    return and(eq(abs(2, 4), 0xffffffff), eq(abs(0, 2), 0xffff));
  }

  // [proto] [dir] [type] id, or a protocol alone, or proto's own words (ip proto N, ether broadcast, …).
  #qualified(): Cond {
    const q: Quals = {};
    const first = this.#peek();
    if ((PROTO_QUALS as readonly string[]).includes(first.s)) {
      this.#next();
      q.proto = first.s as ProtoQual;
      if (q.proto === 'ether' || q.proto === 'link') this.#linkLayer(first);
      const n = this.#peek();
      if (n.s === 'proto') {
        this.#next();
        return this.#protoOf(q.proto, this.#wordAfter(n, 'a protocol'), first);
      }
      if (n.s === 'broadcast' || n.s === 'multicast') {
        this.#next();
        return this.#castOf(q.proto, n.s, first);
      }
      if (!['src', 'dst', 'host', 'net', 'port', 'portrange'].includes(n.s)) return this.#protocol(first);
    }
    const d = this.#peek();
    if (d.s === 'src' || d.s === 'dst') {
      this.#next();
      q.dir = d.s;
      // "src or dst" / "src and dst" (not followed by a primitive of their own).
      const c = this.#peek();
      const other = this.#peek(1);
      if ((c.s === 'or' || c.s === 'and') && (other.s === 'src' || other.s === 'dst') && other.s !== d.s) {
        this.#next();
        this.#next();
        q.dir = c.s as Dir;
      }
    }
    const ty = this.#peek();
    if (['host', 'net', 'port', 'portrange'].includes(ty.s)) {
      this.#next();
      q.type = ty.s as TypeQual;
    }
    return this.#id(q);
  }

  #protocol(t: Token): Cond {
    switch (t.s) {
      case 'ip':
        return this.#ethertype(ETH_P_IP);
      case 'ip6':
        return this.#ethertype(ETH_P_IPV6);
      case 'arp':
        return this.#ethertype(ETH_P_ARP);
      case 'rarp':
        return this.#ethertype(ETH_P_RARP);
      case 'tcp':
      case 'udp':
      case 'sctp':
        return or(this.#ipProto(IPPROTO[t.s]), this.#ip6Proto(IPPROTO[t.s]));
      case 'icmp':
      case 'igmp':
        return this.#ipProto(IPPROTO[t.s]);
      case 'icmp6':
        return this.#ip6Proto(IPPROTO.icmp6);
      default:
        return this.#fail(t, `"${t.s}" needs a qualifier (host, src, dst, proto, …)`);
    }
  }

  #protoOf(proto: ProtoQual, t: Token, q: Token): Cond {
    if (proto === 'ether' || proto === 'link') {
      const names: Record<string, number> = { ip: ETH_P_IP, ip6: ETH_P_IPV6, arp: ETH_P_ARP, rarp: ETH_P_RARP };
      const name = t.s.replace(/^\\/, '');
      const v = names[name] ?? (/^[0-9]/.test(name) ? this.#number(t) : NaN);
      // Values up to 1500 are 802.3 lengths, which libpcap matches through LLC headers: not done here.
      if (!(v > 1500 && v <= 0xffff)) this.#fail(t, `ether proto takes an ethertype above 1500 (or ip, ip6, arp, rarp), got "${t.s}"`);
      return this.#ethertype(v);
    }
    if (proto === 'ip') return this.#ipProto(this.#protoNumber(t));
    if (proto === 'ip6') return this.#ip6Proto(this.#protoNumber(t));
    return this.#fail(q, `"${q.s} proto" is not supported (ether, ip, ip6)`);
  }

  #castOf(proto: ProtoQual, what: string, q: Token): Cond {
    const nl = this.#nl();
    if (proto === 'ether' || proto === 'link') return what === 'broadcast' ? this.#etherBroadcast() : { k: 'cmp', load: abs(0, 1), op: 'jset', v: 1 };
    if (proto === 'ip' && what === 'broadcast') return and(this.#ethertype(ETH_P_IP), or(eq(abs(nl + 16, 4), 0), eq(abs(nl + 16, 4), 0xffffffff)));
    if (proto === 'ip' && what === 'multicast') return and(this.#ethertype(ETH_P_IP), { k: 'cmp', load: abs(nl + 16, 1), op: 'jge', v: 224 });
    if (proto === 'ip6' && what === 'multicast') return and(this.#ethertype(ETH_P_IPV6), eq(abs(nl + 24, 1), 255));
    return this.#fail(q, `"${q.s} ${what}" is not supported`);
  }

  // The value of a qualified primitive (an address, a network, a port, a port range).
  #id(q: Quals): Cond {
    const t = this.#next();
    if (t.t !== 'word')
      this.#fail(t, t.t === 'end' ? 'an address or number was expected, the expression ended' : `an address or number was expected, got "${t.s}"`);
    this.#last = q;
    const type = q.type ?? (q.proto && ['tcp', 'udp', 'sctp'].includes(q.proto) ? 'port' : 'host');
    if (type === 'port' || type === 'portrange') return this.#port(q, type, t);
    if (q.proto === 'ether' || q.proto === 'link') {
      if (type !== 'host') this.#fail(t, `ether takes host, src or dst, not ${type}`);
      return this.#etherHost(q.dir, this.#mac(t));
    }
    if (type === 'net') {
      if (this.#is('mask')) {
        this.#next();
        const m = this.#next();
        const a = this.#ipv4(t, false);
        const mask = this.#ipv4(m, false);
        return this.#net(q, t, 4, a.bytes, mask.bytes);
      }
      const [addr, len] = t.s.split('/');
      if (addr.includes(':')) {
        const bytes = this.#v6(t, addr);
        const bits = len === undefined ? 128 : Number(len);
        if (!(Number.isInteger(bits) && bits >= 0 && bits <= 128)) this.#fail(t, `an IPv6 prefix length is 0 to 128, got "${len}"`);
        return this.#net(q, t, 6, bytes, prefixMask(16, bits));
      }
      const a = this.#ipv4({ ...t, s: addr }, true);
      const bits = len === undefined ? a.parts * 8 : Number(len);
      if (!(Number.isInteger(bits) && bits >= 0 && bits <= 32) || (len !== undefined && !/^[0-9]+$/.test(len))) {
        this.#fail(t, `an IPv4 prefix length is 0 to 32, got "${len}"`);
      }
      return this.#net(q, t, 4, a.bytes, prefixMask(4, bits));
    }
    if (t.s.includes(':')) return this.#net(q, t, 6, this.#v6(t, t.s), prefixMask(16, 128));
    const a = this.#ipv4(t, false);
    return this.#net(q, t, 4, a.bytes, prefixMask(4, 32));
  }

  #ipv4(t: Token, partial: boolean): { bytes: Uint8Array; parts: number } {
    const parts = t.s.split('.');
    const ok = parts.every((p) => /^[0-9]+$/.test(p) && Number(p) <= 255) && (partial ? parts.length >= 1 && parts.length <= 4 : parts.length === 4);
    if (!ok) {
      if (/^[A-Za-z]/.test(t.s)) this.#fail(t, `"${t.s}" is a name: names are not looked up, give an address`);
      this.#fail(t, `"${t.s}" is not an IPv4 address`);
    }
    const bytes = new Uint8Array(4);
    parts.forEach((p, i) => (bytes[i] = Number(p)));
    return { bytes, parts: parts.length };
  }

  #v6(t: Token, s: string): Uint8Array {
    return parseIPv6(s) ?? this.#fail(t, `"${s}" is not an IPv6 address`);
  }

  #mac(t: Token): Uint8Array {
    const hex = t.s.includes('.') ? t.s.split('.').map((p) => p.padStart(4, '0')) : t.s.split(/[:-]/).map((p) => p.padStart(2, '0'));
    const s = hex.join('');
    if (!/^[0-9a-f]{12}$/i.test(s)) this.#fail(t, `"${t.s}" is not a MAC address`);
    return Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
  }

  #etherHost(dir: Dir | undefined, mac: Uint8Array): Cond {
    const dv = new DataView(mac.buffer);
    const at = (off: number) => and(eq(abs(off + 2, 4), dv.getUint32(2)), eq(abs(off, 2), dv.getUint16(0)));
    return this.#dirs(dir, at(6), at(0));
  }

  #dirs(dir: Dir | undefined, src: Cond, dst: Cond): Cond {
    return dir === 'src' ? src : dir === 'dst' ? dst : dir === 'and' ? and(src, dst) : or(src, dst);
  }

  // host/net: IPv4 over ip, arp and rarp (unless a protocol is named); IPv6 over ip6.
  #net(q: Quals, t: Token, family: 4 | 6, addr: Uint8Array, mask: Uint8Array): Cond {
    const nl = this.#nl();
    const words = (off: number): Cond => {
      const cs: Cond[] = [];
      for (let i = 0; i < addr.length; i += 4) {
        const dv = new DataView(addr.buffer, addr.byteOffset);
        const mv = new DataView(mask.buffer, mask.byteOffset);
        const m = mv.getUint32(i);
        if (m === 0 && family === 6) continue; // libpcap skips wholly masked IPv6 words
        cs.push(eq(abs(off + i, 4), (dv.getUint32(i) & m) >>> 0, m === 0xffffffff ? undefined : m));
      }
      return cs.length ? allOf(cs) : eq({ mode: 'len' }, 0, 0); // a /0: any address (len & 0 == 0)
    };
    if (family === 6) {
      if (q.proto && q.proto !== 'ip6') this.#fail(t, `an IPv6 address with "${q.proto}"`);
      return and(this.#ethertype(ETH_P_IPV6), this.#dirs(q.dir, words(nl + 8), words(nl + 24)));
    }
    const over = (type: number, src: number, dst: number) => and(this.#ethertype(type), this.#dirs(q.dir, words(nl + src), words(nl + dst)));
    const ip = () => over(ETH_P_IP, 12, 16);
    const arp = (type: number) => over(type, 14, 24);
    switch (q.proto) {
      case undefined:
        return anyOf([ip(), arp(ETH_P_ARP), arp(ETH_P_RARP)]);
      case 'ip':
        return ip();
      case 'arp':
        return arp(ETH_P_ARP);
      case 'rarp':
        return arp(ETH_P_RARP);
      default:
        return this.#fail(t, `"${q.proto}" takes no host or net`);
    }
  }

  // port/portrange over TCP, UDP and SCTP (or the one named), IPv4 and IPv6.
  #port(q: Quals, type: 'port' | 'portrange', t: Token): Cond {
    let lo: number;
    let hi: number;
    if (type === 'portrange') {
      const m = /^([0-9]+)-([0-9]+)$/.exec(t.s);
      if (!m) this.#fail(t, `a port range is LOW-HIGH, got "${t.s}"`);
      [lo, hi] = [Number(m[1]), Number(m[2])];
      if (lo > hi) [lo, hi] = [hi, lo];
    } else {
      if (!/^[0-9]+$/.test(t.s))
        this.#fail(t, /^[A-Za-z]/.test(t.s) ? `"${t.s}" is a name: service names are not looked up, give a number` : `"${t.s}" is not a port number`);
      lo = hi = Number(t.s);
    }
    if (hi > 65535) this.#fail(t, `a port is 0 to 65535, got ${hi}`);
    if (q.proto && !['tcp', 'udp', 'sctp'].includes(q.proto)) this.#fail(t, `"${q.proto}" takes no port`);
    const protos = q.proto ? [IPPROTO[q.proto as 'tcp' | 'udp' | 'sctp']] : [IPPROTO.sctp, IPPROTO.tcp, IPPROTO.udp];
    const nl = this.#nl();
    const range = (load: Load): Cond => (lo === hi ? eq(load, lo) : and({ k: 'cmp', load, op: 'jge', v: lo }, not({ k: 'cmp', load, op: 'jgt', v: hi })));
    const ports = (src: Load, dst: Load) => this.#dirs(q.dir, range(src), range(dst));
    const v4 = allOf([
      this.#ethertype(ETH_P_IP),
      anyOf(protos.map((p) => eq(abs(nl + 9, 1), p))),
      this.#firstFragment(),
      ports({ mode: 'ind', size: 2, off: nl, iphdr: nl }, { mode: 'ind', size: 2, off: nl + 2, iphdr: nl }),
    ]);
    const v6 = allOf([this.#ethertype(ETH_P_IPV6), anyOf(protos.map((p) => eq(abs(nl + 6, 1), p))), ports(abs(nl + IP6_HLEN, 2), abs(nl + IP6_HLEN + 2, 2))]);
    return or(v6, v4);
  }
}

// RFC 4291 text: eight groups of hex, one "::" for a run of zeros, an IPv4 tail. Null if not one.
function parseIPv6(s: string): Uint8Array | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = p.split('.');
        if (v4.length !== 4 || !v4.every((x) => /^[0-9]{1,3}$/.test(x) && Number(x) <= 255)) return null;
        out.push((Number(v4[0]) << 8) | Number(v4[1]), (Number(v4[2]) << 8) | Number(v4[3]));
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const words = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const b = new Uint8Array(16);
  words.forEach((w, i) => {
    b[2 * i] = w >> 8;
    b[2 * i + 1] = w & 0xff;
  });
  return b;
}

function prefixMask(bytes: number, bits: number): Uint8Array {
  const m = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) m[i] = bits >= 8 * (i + 1) ? 0xff : bits <= 8 * i ? 0 : (0xff << (8 - (bits - 8 * i))) & 0xff;
  return m;
}

// ---- code generation: short-circuit jumps to two labels, resolved at the end -------------------

type Ins = { code: number; jt: number | Label; jf: number | Label; k: number | Label };
class Label {
  at = -1;
}

class Emitter {
  code: Ins[] = [];
  #depth = 0;

  emit(code: number, k: number | Label = 0, jt: number | Label = 0, jf: number | Label = 0): void {
    this.code.push({ code, jt, jf, k });
  }
  place(l: Label): void {
    l.at = this.code.length;
  }

  cond(c: Cond, yes: Label, no: Label): void {
    switch (c.k) {
      case 'and': {
        const mid = new Label();
        this.cond(c.a, mid, no);
        this.place(mid);
        return this.cond(c.b, yes, no);
      }
      case 'or': {
        const mid = new Label();
        this.cond(c.a, yes, mid);
        this.place(mid);
        return this.cond(c.b, yes, no);
      }
      case 'not':
        return this.cond(c.a, no, yes);
      case 'cmp': {
        this.load(c.load);
        if (c.mask !== undefined) this.emit(BPF_ALU | BPF_AND | BPF_K, c.mask >>> 0);
        const op = { jeq: BPF_JEQ, jgt: BPF_JGT, jge: BPF_JGE, jset: BPF_JSET }[c.op];
        return this.emit(BPF_JMP | op | BPF_K, c.v >>> 0, yes, no);
      }
      case 'rel': {
        const guards = [...this.guards(c.left), ...this.guards(c.right)];
        if (guards.length) {
          const mid = new Label();
          this.cond(allOf(guards), mid, no);
          this.place(mid);
        }
        this.arith(c.left);
        let src = BPF_K;
        let k = 0;
        if (c.right.k === 'num') k = c.right.v >>> 0;
        else {
          this.#rightIntoX(c.right);
          src = BPF_X;
        }
        const [op, t, f] =
          c.op === '>'
            ? [BPF_JGT, yes, no]
            : c.op === '>='
              ? [BPF_JGE, yes, no]
              : c.op === '<'
                ? [BPF_JGE, no, yes]
                : c.op === '<='
                  ? [BPF_JGT, no, yes]
                  : c.op === '!='
                    ? [BPF_JEQ, no, yes]
                    : [BPF_JEQ, yes, no];
        return this.emit(BPF_JMP | op | src, k, t, f);
      }
    }
  }

  guards(a: Arith): Cond[] {
    switch (a.k) {
      case 'load':
        return [...(a.guard ? [a.guard] : []), ...this.guards(a.index)];
      case 'bin':
        return [...this.guards(a.a), ...this.guards(a.b)];
      case 'neg':
        return this.guards(a.a);
      default:
        return [];
    }
  }

  #scratch(): number {
    if (this.#depth >= 16) throw new RangeError('the filter expression nests its arithmetic too deep (16 scratch words)');
    return this.#depth++;
  }

  load(l: Load): void {
    if (l.mode === 'len') return this.emit(BPF_LD | BPF_W | BPF_LEN);
    const size = l.size === 4 ? BPF_W : l.size === 2 ? BPF_H : BPF_B;
    if (l.mode === 'abs') return this.emit(BPF_LD | size | BPF_ABS, l.off);
    this.emit(BPF_LDX | BPF_B | BPF_MSH, l.iphdr);
    this.emit(BPF_LD | size | BPF_IND, l.off);
  }

  // The value of `a` into A (X and scratch words may change).
  arith(a: Arith): void {
    switch (a.k) {
      case 'num':
        return this.emit(BPF_LD | BPF_IMM, a.v >>> 0);
      case 'len':
        return this.emit(BPF_LD | BPF_W | BPF_LEN);
      case 'neg':
        this.arith(a.a);
        return this.emit(BPF_ALU | BPF_NEG);
      case 'load': {
        const size = a.size === 4 ? BPF_W : a.size === 2 ? BPF_H : BPF_B;
        const base = a.base;
        if (base.mode === 'len') throw new Error('unreachable');
        if (a.index.k === 'num') {
          if (base.mode === 'abs') return this.emit(BPF_LD | size | BPF_ABS, (base.off + a.index.v) >>> 0);
          this.emit(BPF_LDX | BPF_B | BPF_MSH, base.iphdr);
          return this.emit(BPF_LD | size | BPF_IND, (base.off + a.index.v) >>> 0);
        }
        this.arith(a.index);
        if (base.mode === 'ind') {
          const t = this.#scratch();
          this.emit(BPF_ST, t);
          this.emit(BPF_LDX | BPF_B | BPF_MSH, base.iphdr);
          this.emit(BPF_LD | BPF_MEM, t);
          this.emit(BPF_ALU | BPF_ADD | BPF_X);
          this.#depth--;
        }
        this.emit(BPF_MISC | BPF_TAX);
        return this.emit(BPF_LD | size | BPF_IND, base.off);
      }
      case 'bin': {
        const ops: Record<string, number> = {
          '+': BPF_ADD,
          '-': BPF_SUB,
          '*': BPF_MUL,
          '/': BPF_DIV,
          '%': BPF_MOD,
          '&': BPF_AND,
          '|': BPF_OR,
          '^': BPF_XOR,
          '<<': BPF_LSH,
          '>>': BPF_RSH,
        };
        const op = ops[a.op];
        this.arith(a.a);
        if (a.b.k === 'num' && !((op === BPF_DIV || op === BPF_MOD) && a.b.v === 0)) return this.emit(BPF_ALU | op | BPF_K, a.b.v >>> 0);
        this.#rightIntoX(a.b);
        return this.emit(BPF_ALU | op | BPF_X);
      }
    }
  }

  // With the left operand in A: keeps it in a scratch word, computes `right` into X, and has the
  // left operand back in A (for "A op X").
  #rightIntoX(right: Arith): void {
    const t = this.#scratch();
    this.emit(BPF_ST, t);
    this.arith(right);
    this.emit(BPF_MISC | BPF_TAX);
    this.emit(BPF_LD | BPF_MEM, t);
    this.#depth--;
  }

  resolve(): SockFilter[] {
    return this.code.map((ins, pc) => {
      const rel = (v: number | Label, field: string) => {
        if (!(v instanceof Label)) return v;
        const d = v.at - (pc + 1);
        if (d < 0 || (field !== 'k' && d > 255)) throw new RangeError('the filter expression is too large for classic BPF jumps (255 instructions)');
        return d;
      };
      return [ins.code, rel(ins.jt, 'jt'), rel(ins.jf, 'jf'), rel(ins.k, 'k')] as SockFilter;
    });
  }
}

/**
 * Compiles a pcap-filter expression for Ethernet frames (what an AF_PACKET socket in raw mode sees)
 * to a classic BPF program returning `snaplen` for a match and 0 otherwise. An empty expression
 * matches everything.
 * @throws SyntaxError (a {@link FilterSyntaxError}, with `column`) for what the grammar does not have
 * @throws RangeError for a program too large for classic BPF
 */
export function compileFilter(expression: string, options: CompileOptions = {}): BpfProgram {
  if (typeof expression !== 'string') throw new TypeError('a filter expression is a string');
  const snaplen = options.snaplen ?? 262144;
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0xffffffff) throw new RangeError(`snaplen must be an integer from 1 to 2^32-1, got ${snaplen}`);
  const link = options.link ?? 'ethernet';
  if (link !== 'ethernet' && link !== 'network') throw new RangeError(`link must be 'ethernet' or 'network', got ${JSON.stringify(link)}`);
  const cond = new Parser(expression, link === 'network').parse();
  if (!cond) return [[BPF_RET | BPF_K, 0, 0, snaplen]];
  const e = new Emitter();
  const yes = new Label();
  const no = new Label();
  e.cond(cond, yes, no);
  e.place(yes);
  e.emit(BPF_RET | BPF_K, snaplen);
  e.place(no);
  e.emit(BPF_RET | BPF_K, 0);
  return checkProgram(e.resolve());
}
