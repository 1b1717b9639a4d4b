/**
 * Fuzzers of every decoder kring runs over bytes it did not make: the netlink message and attribute
 * cursors, NLMSG_ERROR with extended ACK, the rtnetlink route/link/address/neighbour decoders, the
 * NFQUEUE packet decoder, the V3 block walk, the pcap/pcapng parser, the pcap-filter compiler and
 * the cBPF interpreter; and, end to end, mutated route dumps produced by the simulated kernel into a
 * kernel-mode socket's ring and read by getRoutes(). Inputs start from a corpus captured from this kernel (test/fuzz/corpus,
 * made by make-corpus.sh: kring's own netlink traces and tcpdump's files) and are mutated by
 * fast-check (seeded: a failure prints the seed and the shrunk input to replay it).
 *
 * The property everywhere: a result or the documented error value or exception, never another
 * exception, never a read outside the input, never a loop that does not end (a walk is bounded by
 * what it walks; a hang fails the run by its time limit). Each target runs for KRING_FUZZ_SECONDS
 * (20 by default; `npm run fuzz -- --seconds N`).
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter, FilterSyntaxError } from '../../src/bpf/compile';
import { runFilter } from '../../src/bpf/interpret';
import { BpfProgramError, checkProgram } from '../../src/bpf/program';
import { NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE, TP_STATUS_USER } from '../../src/constants';
import { tpacketV3Block } from '../../src/layouts/tpacket-v3';
import { AttrCursor, MalformedMessageError, MessageCursor, NetlinkError, NetlinkParseError, parseAck } from '../../src/netlink/message';
import { decodeNfPacket } from '../../src/nfqueue/packet';
import { BlockReader } from '../../src/packet/reader';
import { CaptureFileError, CaptureParser, parseCaptureFile } from '../../src/pcap/read';
import { Ring } from '../../src/ring/ring';
import { decodeAddress } from '../../src/rtnetlink/address';
import { decodeLink } from '../../src/rtnetlink/link';
import { decodeNeighbour } from '../../src/rtnetlink/neighbour';
import { decodeRoute } from '../../src/rtnetlink/route';
import { DumpInterruptedError } from '../../src/netlink/dump';
import { NetlinkSocket } from '../../src/netlink/socket';
import { getRoutes } from '../../src/rtnetlink/readers';
import { KernelProfile, NetlinkRingKernel, openSimulatedNetlinkSocket } from '../../src/testing';
import { FILTER_CORPUS as FILTERS } from '../helpers/filter-corpus';

const SECONDS = Number(process.env.KRING_FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.KRING_FUZZ_SEED ?? 20261130);
const CORPUS_DIR = join(__dirname, 'corpus');

const budget = (salt: number) =>
  ({ seed: SEED + salt, numRuns: 100_000_000, interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false, endOnFailure: true }) as const;

// A run's verdict: a failure throws with the seed and the shrunk input; a budget that ran almost
// nothing would prove nothing.
function judge<T>(r: fc.RunDetails<T>): void {
  if (r.failed) throw new Error(fc.defaultReportMessage(r) ?? 'fuzz property failed');
  expect(r.numRuns).toBeGreaterThan(100);
}

// Runs a property for the time budget (as many runs as fit), seeded.
function fuzz<T>(arb: fc.Arbitrary<T>, check: (v: T) => void, salt: number): void {
  judge(
    fc.check(
      fc.property(arb, (v) => void check(v)),
      budget(salt),
    ),
  );
}

// An edit of a seed input: a byte overwritten, inserted or deleted, the end cut, or a length field
// (the first words of a message or record) bent toward its edge values.
type Edit = ['set' | 'insert' | 'delete' | 'cut' | 'word', number, number];
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.constant('set' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant('insert' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant('delete' as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant('word' as const), fc.nat(), fc.constantFrom(0, 1, 3, 4, 15, 16, 17, 0x7fff, 0xffff, 0xffffffff)),
);

function applyEdits(seed: Uint8Array, edits: Edit[]): Buffer {
  let b: Buffer = Buffer.from(seed);
  for (const [kind, at, v] of edits) {
    if (b.length === 0) break;
    const i = at % b.length;
    if (kind === 'set') b[i] = v;
    else if (kind === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.of(v), b.subarray(i)]);
    else if (kind === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    else if (kind === 'cut') b = b.subarray(0, i);
    else if (i + 4 <= b.length) b.writeUInt32LE(v >>> 0, i - (i % 4));
  }
  return b;
}

// A seed input, changed by up to six edits.
function mutated(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  return fc
    .record({ seed: fc.integer({ min: 0, max: seeds.length - 1 }), edits: fc.array(edit, { maxLength: 6 }) })
    .map(({ seed, edits }) => applyEdits(seeds[seed], edits));
}

function corpusFile(name: string): Buffer {
  return readFileSync(join(CORPUS_DIR, name));
}

// The datagrams of a kring netlink trace (the 16-byte cooked header taken off).
function datagrams(name: string): Buffer[] {
  return parseCaptureFile(corpusFile(name)).map((r) => r.data.subarray(16));
}

const ALLOWED_DECODE = (v: unknown) => v === undefined || v === null || typeof v === 'object';

describe('fuzz (seeded, time-bounded)', () => {
  const netlink = [...datagrams('routes.pcapng'), ...datagrams('rtnetlink.pcapng'), ...datagrams('nfqueue.pcapng')];

  it('the corpus is there: netlink datagrams of every kind, capture files', () => {
    expect(readdirSync(CORPUS_DIR).sort()).toEqual(['frames.pcap', 'frames.pcapng', 'nfqueue.pcapng', 'routes.pcapng', 'rtnetlink.pcapng']);
    const types = new Set<number>();
    for (const d of netlink) {
      const c = new MessageCursor(d);
      while (c.next()) types.add(c.type);
    }
    // RTM_NEWLINK, NEWADDR, NEWROUTE, NEWNEIGH, NLMSG_ERROR, NLMSG_DONE, NFQNL_MSG_PACKET
    for (const t of [16, 20, 24, 28, 2, 3, 0x300]) expect(types).toContain(t);
  });

  it('netlink datagrams: cursors, ACKs and every decoder give a value or a NetlinkParseError', () => {
    fuzz(
      mutated(netlink),
      (d) => {
        const c = new MessageCursor(d);
        let n = 0;
        while (c.next()) {
          if (++n > d.length / 16 + 1) throw new Error('the message walk did not end');
          const dv = c.dv;
          const at = c.payload;
          const len = c.payloadLen;
          let r: unknown;
          if (c.type === 2) {
            const one = new MessageCursor(d, c.offset, c.offset + c.len);
            one.next();
            r = parseAck(one);
          } else if (c.type === 16 || c.type === 17) r = decodeLink(dv, at, len, c.type);
          else if (c.type === 20 || c.type === 21) r = decodeAddress(dv, at, len, c.type);
          else if (c.type === 24 || c.type === 25) r = decodeRoute(dv, at, len, c.type);
          else if (c.type === 28 || c.type === 29) r = decodeNeighbour(dv, at, len, c.type);
          else if (c.type === 0x300) r = decodeNfPacket(dv, at, len, null);
          if (!ALLOWED_DECODE(r)) throw new Error(`a decoder returned ${typeof r}`);
          // Any payload as attributes: the walk ends, at the end or at damage.
          const a = new AttrCursor(dv, at, at + len);
          let k = 0;
          while (a.next()) if (++k > len / 4 + 1) throw new Error('the attribute walk did not end');
          if (a.error && !(a.error instanceof NetlinkParseError)) throw new Error('attribute walk error of another kind');
        }
        if (c.error && !(c.error instanceof NetlinkParseError)) throw new Error('message walk error of another kind');
      },
      1,
    );
  });

  it('netlink traffic end to end: a mutated route dump through the simulated kernel ring to getRoutes() gives routes or a documented error', async () => {
    // The dump's messages as this kernel sent them (RTM_NEWROUTE), and others a dump may carry.
    const messagesOf = (ds: Buffer[], types: number[]) =>
      ds.flatMap((d) => {
        const out: Buffer[] = [];
        const c = new MessageCursor(d);
        while (c.next()) if (types.includes(c.type)) out.push(d.subarray(c.offset, c.offset + c.len));
        return out;
      });
    const routeRecords = messagesOf(datagrams('routes.pcapng'), [RTM_NEWROUTE]);
    const others = messagesOf(netlink, [RTM_NEWLINK, RTM_NEWADDR, RTM_NEWNEIGH, NLMSG_ERROR, NLMSG_DONE]);
    expect(routeRecords.length).toBeGreaterThan(10);
    const documented = (e: unknown) => e instanceof MalformedMessageError || e instanceof NetlinkError || e instanceof DumpInterruptedError;
    const input = fc.record({
      profile: fc.constantFrom<KernelProfile>('3.10', '4.4', '4.5'),
      first: fc.nat({ max: routeRecords.length - 1 }),
      count: fc.integer({ min: 1, max: routeRecords.length }),
      inserted: fc.array(fc.tuple(fc.nat(), fc.nat({ max: others.length - 1 })), { maxLength: 2 }),
      edits: fc.array(fc.tuple(fc.nat(), edit), { maxLength: 6 }),
      wrongSeq: fc.array(fc.nat(), { maxLength: 1 }),
    });
    const outcomes = new Map<string, number>();
    const r = await fc.check(
      fc.asyncProperty(input, async ({ profile, first, count, inserted, edits, wrongSeq }) => {
        const records: Buffer[] = routeRecords.slice(first, first + count).map((b) => Buffer.from(b));
        const routeCount = records.length;
        for (const [at, which] of inserted) records.splice(at % (records.length + 1), 0, Buffer.from(others[which]));
        for (const [which, e] of edits) records[which % records.length] = applyEdits(records[which % records.length], [e]);
        const intact = inserted.length === 0 && edits.length === 0;
        const kernel = new NetlinkRingKernel({ profile });
        // The kernel's side of the dump: the records (addressed to the request, where a message is
        // long enough to carry its sequence number and port id) and an NLMSG_DONE, through the ring.
        const sock: NetlinkSocket = openSimulatedNetlinkSocket(kernel, {}, (request) => {
          const seq = new DataView(request.buffer, request.byteOffset).getUint32(8, true);
          const address = (m: Buffer, i: number) => {
            if (m.length >= 12) m.writeUInt32LE(wrongSeq.includes(i) ? seq + 1 : seq, 8);
            if (m.length >= 16) m.writeUInt32LE(sock.portId, 12);
          };
          records.forEach(address);
          const done = Buffer.alloc(20);
          done.writeUInt32LE(20, 0);
          done.writeUInt16LE(NLMSG_DONE, 4);
          done.writeUInt16LE(NLM_F_MULTI, 6);
          address(done, -1);
          return kernel.startDump(records, done);
        });
        try {
          const got = await getRoutes({ socket: sock, timeoutMs: 5000 });
          outcomes.set('routes', (outcomes.get('routes') ?? 0) + 1);
          if (!Array.isArray(got) || got.length > records.length) throw new Error(`${got.length} routes from ${records.length} records`);
          if (intact && wrongSeq.length === 0 && got.length !== routeCount) throw new Error(`${got.length} routes from ${routeCount} intact records`);
        } catch (e) {
          if (!documented(e)) throw e;
          if (intact && wrongSeq.length === 0) throw e;
          const name = (e as Error).name;
          outcomes.set(name, (outcomes.get(name) ?? 0) + 1);
        } finally {
          sock.close();
        }
      }),
      budget(6),
    );
    judge(r);
    process.stdout.write(`fuzz end to end: ${r.numRuns} dumps: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  });

  it('capture files (pcap, pcapng): records or a CaptureFileError with an offset inside the file, in any chunking', () => {
    const files = [corpusFile('frames.pcap'), corpusFile('frames.pcapng'), corpusFile('nfqueue.pcapng'), corpusFile('routes.pcapng')];
    fuzz(
      fc.tuple(mutated(files), fc.integer({ min: 1, max: 700 })),
      ([file, chunk]) => {
        const p = new CaptureParser();
        try {
          for (let at = 0; at < file.length; at += chunk) p.push(file.subarray(at, at + chunk));
          p.end();
        } catch (e) {
          if (!(e instanceof CaptureFileError)) throw e;
          if (!(e.offset >= 0 && e.offset <= file.length)) throw new Error(`offset ${e.offset} outside the ${file.length}-byte file`);
        }
      },
      2,
    );
  });

  it('V3 blocks: the walk keeps to the block, and every frame it gives can be read', () => {
    // Blocks laid out as the kernel lays them (tpacket_block_desc, then tpacket3_hdr frames), from the corpus frames.
    const frames = parseCaptureFile(corpusFile('frames.pcap')).map((r) => r.data);
    const BS = 4096;
    const blocks: Buffer[] = [];
    for (let first = 0; first < frames.length; first += 4) {
      const b = Buffer.alloc(BS);
      const some = frames.slice(first, first + 4);
      b.writeUInt32LE(some.length, 12);
      b.writeUInt32LE(48, 16);
      b.writeBigUInt64LE(1n, 24);
      let at = 48;
      some.forEach((f, i) => {
        const size = (68 + f.length + 15) & ~15;
        b.writeUInt32LE(i === some.length - 1 ? 0 : size, at);
        b.writeUInt32LE(f.length, at + 12);
        b.writeUInt32LE(f.length, at + 16);
        b.writeUInt16LE(68, at + 24);
        f.copy(b, at + 68);
        at += size;
      });
      b.writeUInt32LE(TP_STATUS_USER, 8);
      blocks.push(b);
    }
    fuzz(
      mutated(blocks),
      (block) => {
        const ab = new ArrayBuffer(BS);
        new Uint8Array(ab).set(block.subarray(0, BS));
        new DataView(ab).setUint32(8, TP_STATUS_USER, true); // the kernel's hand-over, kept: the walk is what is fuzzed
        const host = { recvWhole: () => Buffer.alloc(0), onLosing: () => undefined, onSequenceGap: () => undefined };
        const reader = new BlockReader(new Ring(ab, Float64Array.of(0), tpacketV3Block), BS, new DataView(ab), new Uint8Array(ab), host);
        const batch = reader.next();
        if (!batch) return;
        for (let i = 0; i < batch.length; i++) {
          const f = batch.frame(i);
          void f.len;
          const d = f.data;
          if (d.byteOffset + d.byteLength > BS) throw new Error('a frame reaches past the block');
        }
        batch.release();
      },
      3,
    );
  });

  it('the filter compiler: a program the kernel would take, or a SyntaxError with a column inside the text (or a RangeError)', () => {
    const words = [
      'tcp',
      'udp',
      'ip',
      'ip6',
      'arp',
      'host',
      'net',
      'port',
      'portrange',
      'src',
      'dst',
      'and',
      'or',
      'not',
      '(',
      ')',
      'vlan',
      'ether',
      'proto',
      'len',
      'less',
      'greater',
      '[',
      ']',
      ':',
      '&',
      '|',
      '!=',
      '=',
      '>',
      '<',
      '+',
      '-',
      '*',
      '/',
      '10.0.0.1',
      '10.0.0.0/8',
      'fe80::1',
      '80',
      '0x12',
      '13',
      '2',
      '4',
      '1-2',
      'mask',
      '255.255.0.0',
      'icmp',
      'tcp[13]',
      'broadcast',
    ];
    const text = fc.oneof(
      fc.array(fc.constantFrom(...words), { maxLength: 12 }).map((w) => w.join(' ')),
      mutated(FILTERS.map((f) => Buffer.from(f))).map((b) => b.toString('latin1')),
      fc.string({ maxLength: 40 }),
    );
    const probe = Buffer.from('0011223344556677889900aa080045000028000100004006000000000a0000010a0000020050005000000001000000005002ffff00000000', 'hex');
    fuzz(
      text,
      (expr) => {
        let program;
        try {
          program = compileFilter(expr);
        } catch (e) {
          if (e instanceof FilterSyntaxError) {
            if (!(e.column >= 1 && e.column <= expr.length + 1)) throw new Error(`column ${e.column} outside "${expr}"`);
            return;
          }
          if (e instanceof RangeError) return;
          throw e;
        }
        checkProgram(program);
        const v = runFilter(program, probe);
        if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new Error(`a filter answered ${v}`);
      },
      4,
    );
  });

  it('the cBPF interpreter: random programs are refused by the checks or run to a 32-bit answer', () => {
    const ins = fc.tuple(
      fc.oneof(
        fc.integer({ min: 0, max: 0xff }),
        fc.constantFrom(
          0x06,
          0x16,
          0x28,
          0x30,
          0x20,
          0x40,
          0x48,
          0x50,
          0xb1,
          0x15,
          0x25,
          0x35,
          0x45,
          0x05,
          0x04,
          0x14,
          0x24,
          0x34,
          0x94,
          0x84,
          0x07,
          0x87,
          0x02,
          0x03,
          0x60,
          0x61,
          0x80,
          0x81,
        ),
      ),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 8 }),
      fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0, 1, 15, 16, 0xfffff000, 0xfffff004, 0xffffffff, 0x80000000)),
    );
    const probe = Buffer.from('0011223344556677889900aa0800450000280001000040060000', 'hex');
    fuzz(
      fc.tuple(fc.array(ins, { minLength: 1, maxLength: 24 }), fc.uint8Array({ maxLength: 64 })),
      ([program, bytes]) => {
        const p = [...program, [0x06, 0, 0, 0] as [number, number, number, number]];
        try {
          checkProgram(p);
        } catch (e) {
          if (e instanceof BpfProgramError || e instanceof TypeError) return;
          throw e;
        }
        for (const data of [probe, Buffer.from(bytes)]) {
          const v = runFilter(p, data, { len: data.length, protocol: 0x800, pkttype: 0, vlan: null });
          if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new Error(`the interpreter answered ${v}`);
        }
      },
      5,
    );
  });
});
