/**
 * Reading capture files: pcap (microsecond and nanosecond magic, either byte order) and pcapng
 * (sections of either byte order, interfaces with their timestamp resolution, enhanced, simple and
 * obsolete packet blocks). Streaming: {@link CaptureParser} takes the file in chunks of any size
 * and hands out records as they complete; {@link readCaptureFile} drives it from a file.
 *
 * A corrupt or truncated file is a {@link CaptureFileError} naming the byte offset and what was
 * wrong there. Blocks pcapng says to skip when unknown (statistics, name resolution, custom) are
 * skipped whole; nothing is skipped because it could not be read.
 *
 * Formats: the pcap file format and pcapng (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng).
 * @packageDocumentation
 */
import { open } from 'node:fs/promises';

/** One packet of a capture file. */
export interface CaptureRecord {
  /** The captured bytes (a copy: safe to keep). */
  data: Buffer;
  /** The packet's length on the wire (`orig_len`); more than `data.length` when truncated. */
  len: number;
  /** Timestamp, seconds since the epoch. */
  sec: number;
  /** Nanoseconds within the second (pcap µs files: a multiple of 1000). */
  nsec: number;
  /** The interface's link type (LINKTYPE_ETHERNET = 1, LINKTYPE_LINUX_SLL = 113, LINKTYPE_NETLINK = 253, …). */
  linktype: number;
  /** pcapng: the interface's index in its section; pcap: 0. */
  interfaceId: number;
  /** pcapng: the interface's `if_name`, when the file gives one. */
  interfaceName?: string;
  /** Byte offset of the record's header in the file. */
  offset: number;
  /** pcapng: the direction `epb_flags` gives, when it gives one. */
  direction?: 'inbound' | 'outbound';
  /** pcapng: the packet's `opt_comment`, when it has one. */
  comment?: string;
}

/** A capture file that is not what it claims to be, or ends early. */
export class CaptureFileError extends Error {
  /** Always `'ERR_KRING_CAPTURE_FILE'`. */
  readonly code = 'ERR_KRING_CAPTURE_FILE';
  /** Byte offset in the file where the problem is. */
  readonly offset: number;
  constructor(offset: number, what: string) {
    super(`capture file, byte ${offset}: ${what}`);
    this.name = 'CaptureFileError';
    this.offset = offset;
  }
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const PCAPNG_IDB = 1;
const PCAPNG_OPB = 2; // obsolete packet block
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const EPB_FLAGS = 2;
const IF_NAME = 2;
const IF_TSRESOL = 9;
/** Larger than any sane record: a length beyond this is corruption, not a packet. */
const MAX_RECORD = 256 << 20;

interface Interface {
  linktype: number;
  snaplen: number;
  /** Timestamp units per second, as a power: base 10 or 2, exponent. */
  base: 10 | 2;
  exp: number;
  name?: string;
}

type State =
  | { kind: 'start' }
  | { kind: 'pcap'; le: boolean; nano: boolean; snaplen: number; linktype: number }
  | { kind: 'pcapng'; le: boolean; interfaces: Interface[] };

/**
 * A push parser: {@link push} chunks as they are read, take the records it returns, {@link end}
 * when the file is over.
 */
export class CaptureParser {
  #buf: Buffer = Buffer.alloc(0);
  /** File offset of #buf[0]. */
  #base = 0;
  #state: State = { kind: 'start' };

  /** The format found so far: `'pcap'`, `'pcapng'`, or null before the first header is complete. */
  get format(): 'pcap' | 'pcapng' | null {
    return this.#state.kind === 'start' ? null : this.#state.kind;
  }

  /**
   * Adds the next bytes of the file; returns every record they complete.
   * @throws CaptureFileError at the first malformed header or block
   */
  push(chunk: Uint8Array): CaptureRecord[] {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const out: CaptureRecord[] = [];
    let at = 0;
    for (;;) {
      const used = this.#step(at, out);
      if (used === 0) break;
      at += used;
    }
    this.#buf = this.#buf.subarray(at);
    this.#base += at;
    return out;
  }

  /**
   * The file is over.
   * @throws CaptureFileError when it ended inside a header or record, or held no header at all
   */
  end(): void {
    if (this.#state.kind === 'start') throw new CaptureFileError(this.#base, this.#buf.length === 0 ? 'the file is empty' : 'the file ends inside its header');
    if (this.#buf.length > 0) {
      throw new CaptureFileError(
        this.#base,
        `the file ends inside a ${this.#state.kind === 'pcap' ? 'record' : 'block'} (${this.#buf.length} bytes of it present)`,
      );
    }
  }

  // Consumes one header, record or block at #buf[at]; returns the bytes used, 0 when incomplete.
  #step(at: number, out: CaptureRecord[]): number {
    const b = this.#buf;
    const have = b.length - at;
    const off = this.#base + at;
    const st = this.#state;
    if (st.kind === 'start') {
      if (have < 4) return 0;
      const magicLE = b.readUInt32LE(at);
      const magicBE = b.readUInt32BE(at);
      if (magicLE === PCAPNG_SHB) return this.#block(at, out); // the SHB's type reads the same both ways
      for (const [magic, le] of [
        [magicLE, true],
        [magicBE, false],
      ] as const) {
        if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) continue;
        if (have < 24) return 0;
        const u16 = (o: number) => (le ? b.readUInt16LE(at + o) : b.readUInt16BE(at + o));
        const u32 = (o: number) => (le ? b.readUInt32LE(at + o) : b.readUInt32BE(at + o));
        if (u16(4) !== 2) throw new CaptureFileError(off + 4, `pcap major version ${u16(4)} (only 2 exists)`);
        // The link type's upper bits carry FCS information (LINKTYPE_FCS); the type is the low 16.
        this.#state = { kind: 'pcap', le, nano: magic === PCAP_MAGIC_NS, snaplen: u32(16), linktype: u32(20) & 0xffff };
        return 24;
      }
      throw new CaptureFileError(off, `not a pcap or pcapng file (first word 0x${magicBE.toString(16).padStart(8, '0')})`);
    }
    if (st.kind === 'pcap') {
      if (have < 16) return 0;
      const u32 = (o: number) => (st.le ? b.readUInt32LE(at + o) : b.readUInt32BE(at + o));
      const incl = u32(8);
      const orig = u32(12);
      const frac = u32(4);
      if (incl > Math.max(st.snaplen, 262144) || incl > MAX_RECORD) {
        throw new CaptureFileError(off + 8, `record length ${incl} is larger than the file's snaplen (${st.snaplen})`);
      }
      if (frac >= (st.nano ? 1e9 : 1e6)) throw new CaptureFileError(off + 4, `timestamp fraction ${frac} is not below one second`);
      if (have < 16 + incl) return 0;
      out.push({
        data: Buffer.from(b.subarray(at + 16, at + 16 + incl)),
        len: orig,
        sec: u32(0),
        nsec: st.nano ? frac : frac * 1000,
        linktype: st.linktype,
        interfaceId: 0,
        offset: off,
      });
      return 16 + incl;
    }
    return this.#block(at, out);
  }

  // A pcapng block.
  #block(at: number, out: CaptureRecord[]): number {
    const b = this.#buf;
    const have = b.length - at;
    const off = this.#base + at;
    if (have < 12) return 0;
    let le = this.#state.kind === 'pcapng' ? this.#state.le : true;
    const type = b.readUInt32LE(at);
    if (type === PCAPNG_SHB) {
      // A new section: its byte order comes from the byte-order magic after the length.
      const bom = b.readUInt32LE(at + 8);
      if (bom === PCAPNG_BOM) le = true;
      else if (b.readUInt32BE(at + 8) === PCAPNG_BOM) le = false;
      else
        throw new CaptureFileError(off + 8, `section header's byte-order magic is 0x${b.readUInt32BE(at + 8).toString(16)}, not 0x1a2b3c4d either way round`);
    }
    const u32 = (o: number) => (le ? b.readUInt32LE(at + o) : b.readUInt32BE(at + o));
    const u16 = (o: number) => (le ? b.readUInt16LE(at + o) : b.readUInt16BE(at + o));
    const total = u32(4);
    if (total < 12 || total % 4 !== 0 || total > MAX_RECORD) throw new CaptureFileError(off + 4, `block length ${total} is not a multiple of 4 from 12 up`);
    if (have < total) return 0;
    if (u32(total - 4) !== total)
      throw new CaptureFileError(off + total - 4, `block's trailing length ${u32(total - 4)} differs from its leading length ${total}`);
    const blockType = type === PCAPNG_SHB ? PCAPNG_SHB : u32(0);
    if (blockType === PCAPNG_SHB) {
      if (total < 28) throw new CaptureFileError(off + 4, `section header block of ${total} bytes (at least 28)`);
      if (u16(12) !== 1) throw new CaptureFileError(off + 12, `pcapng major version ${u16(12)} (only 1 exists)`);
      this.#state = { kind: 'pcapng', le, interfaces: [] };
      return total;
    }
    if (this.#state.kind !== 'pcapng') throw new CaptureFileError(off, 'pcapng block before any section header');
    const st = this.#state;
    const body = total - 12;
    if (blockType === PCAPNG_IDB) {
      if (body < 8) throw new CaptureFileError(off + 4, `interface description block of ${total} bytes (at least 20)`);
      const iface: Interface = { linktype: u16(8), snaplen: u32(12), base: 10, exp: 6 };
      this.#options(at, at + 16, at + total - 4, off, le, (code, v) => {
        if (code === IF_TSRESOL && v.length >= 1) {
          iface.base = v[0] & 0x80 ? 2 : 10;
          iface.exp = v[0] & 0x7f;
        } else if (code === IF_NAME) iface.name = v.toString('utf8').replace(/\0+$/, '');
      });
      st.interfaces.push(iface);
      return total;
    }
    if (blockType === PCAPNG_EPB || blockType === PCAPNG_OPB) {
      if (body < 20) throw new CaptureFileError(off + 4, `packet block of ${total} bytes (at least 32)`);
      const id = blockType === PCAPNG_EPB ? u32(8) : u16(8);
      const iface = st.interfaces[id];
      if (!iface) throw new CaptureFileError(off + 8, `packet of interface ${id}, but the section describes ${st.interfaces.length}`);
      const cap = u32(20);
      if (cap > body - 20) throw new CaptureFileError(off + 20, `captured length ${cap} runs past the block (room for ${body - 20} bytes)`);
      const { sec, nsec } = ticks(u32(12), u32(16), iface);
      const rec: CaptureRecord = {
        data: Buffer.from(b.subarray(at + 28, at + 28 + cap)),
        len: u32(24),
        sec,
        nsec,
        linktype: iface.linktype,
        interfaceId: id,
        interfaceName: iface.name,
        offset: off,
      };
      if (blockType === PCAPNG_EPB) {
        this.#options(at, at + 28 + ((cap + 3) & ~3), at + total - 4, off, le, (code, v) => {
          if (code === OPT_COMMENT) rec.comment = v.toString('utf8');
          else if (code === EPB_FLAGS && v.length >= 4) {
            const dir = (le ? v.readUInt32LE(0) : v.readUInt32BE(0)) & 3;
            if (dir === 1) rec.direction = 'inbound';
            else if (dir === 2) rec.direction = 'outbound';
          }
        });
      }
      out.push(rec);
      return total;
    }
    if (blockType === PCAPNG_SPB) {
      const iface = st.interfaces[0];
      if (!iface) throw new CaptureFileError(off, 'simple packet block, but the section describes no interface');
      const orig = u32(8);
      const cap = Math.min(orig, iface.snaplen || orig, body - 4);
      out.push({
        data: Buffer.from(b.subarray(at + 12, at + 12 + cap)),
        len: orig,
        sec: 0,
        nsec: 0,
        linktype: iface.linktype,
        interfaceId: 0,
        interfaceName: iface.name,
        offset: off,
      });
      return total;
    }
    return total; // statistics, name resolution, decryption secrets, custom: nothing to deliver
  }

  // Walks the options in [from, to) of the block at buffer index `block` (file offset `blockOff`).
  #options(block: number, from: number, to: number, blockOff: number, le: boolean, each: (code: number, value: Buffer) => void): void {
    const b = this.#buf;
    let at = from;
    while (at + 4 <= to) {
      const code = le ? b.readUInt16LE(at) : b.readUInt16BE(at);
      const len = le ? b.readUInt16LE(at + 2) : b.readUInt16BE(at + 2);
      if (code === OPT_ENDOFOPT) return;
      const end = at + 4 + len;
      if (end > to) throw new CaptureFileError(blockOff + (at - block), `option ${code} of ${len} bytes runs past its block`);
      each(code, b.subarray(at + 4, end));
      at = end + ((4 - (len % 4)) % 4);
    }
  }
}

// A pcapng timestamp (64-bit count of the interface's units) as seconds and nanoseconds.
function ticks(hi: number, lo: number, iface: Interface): { sec: number; nsec: number } {
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const perSec = BigInt(iface.base) ** BigInt(iface.exp);
  const sec = t / perSec;
  const frac = t % perSec;
  return { sec: Number(sec), nsec: Number((frac * 1_000_000_000n) / perSec) };
}

/**
 * Reads a pcap or pcapng file as it goes (64 KiB at a time), yielding its records in file order.
 * @throws CaptureFileError for a malformed or truncated file (records before the fault are yielded first)
 */
export async function* readCaptureFile(path: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<CaptureRecord, void, undefined> {
  const fh = await open(path, 'r');
  try {
    const parser = new CaptureParser();
    const chunk = Buffer.allocUnsafe(65536);
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      yield* parser.push(chunk.subarray(0, bytesRead));
    }
    parser.end();
  } finally {
    await fh.close();
  }
}

/** Every record of a whole capture file held in memory. @throws CaptureFileError */
export function parseCaptureFile(bytes: Uint8Array): CaptureRecord[] {
  const parser = new CaptureParser();
  const out = parser.push(bytes);
  parser.end();
  return out;
}
