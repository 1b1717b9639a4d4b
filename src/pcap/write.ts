/**
 * Writing capture files: pcap (microsecond or nanosecond magic) and pcapng (a section header, an
 * interface description per interface with `if_name` and `if_tsresol` 9 — nanoseconds — an
 * enhanced packet block per packet with its direction in `epb_flags`, interface statistics blocks
 * with the kernel's drop count, and comments), little-endian (readers take either order).
 * Link types: Ethernet, Linux cooked v1 and v2 (SLL/SLL2, for `mode: 'dgram'` and `-i any`), and
 * NETLINK.
 *
 * A {@link CaptureWriter} encodes into a buffer and hands full chunks to a sink; {@link
 * CaptureWriter.open} makes the sink a file (written synchronously, so what `write` returned for is
 * in the file after `flush()`, and `close()` never loses a record).
 * Formats: draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng; the SLL/SLL2 headers as tcpdump.org's
 * link-type registry and libpcap's pcap/sll.h give them.
 * @packageDocumentation
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ETH_P_8021Q, LINKTYPE_ETHERNET } from '../constants';
import { describe, int } from '../validate';

/** A record to write. */
export interface CaptureWriteRecord {
  /** The captured bytes. */
  data: Uint8Array;
  /** Length on the wire (default `data.length`). */
  len?: number;
  /** Timestamp: seconds since the epoch … */
  sec: number;
  /** … and nanoseconds within the second (0–999,999,999; pcap µs files keep the microseconds). */
  nsec: number;
  /** pcapng: which interface (an index from {@link CaptureWriter.addInterface}; default 0). */
  interfaceId?: number;
  /** pcapng: `epb_flags` direction (libpcap's PACKET_OUTGOING → outbound, else inbound). */
  direction?: 'inbound' | 'outbound';
  /** pcapng: an `opt_comment` on the packet. */
  comment?: string;
}

/** An interface of a pcapng section. */
export interface CaptureInterface {
  /** LINKTYPE_* (default Ethernet). */
  linktype?: number;
  /** `if_name`, for instance `'eth0'`. */
  name?: string;
  /** Snapshot length recorded for the interface (default 262144). */
  snaplen?: number;
}

/** Options of {@link CaptureWriter}. */
export interface CaptureWriterOptions {
  /** `'pcapng'` (default) or `'pcap'`. */
  format?: 'pcap' | 'pcapng';
  /** pcap: the file's link type (default Ethernet). pcapng: the first interface's, when `interfaces` is not given. */
  linktype?: number;
  /** pcap: the file's snaplen; pcapng: the first interface's when `interfaces` is not given (default 262144). */
  snaplen?: number;
  /** pcap: nanosecond timestamps (magic 0xa1b23c4d; default true); false writes microseconds (0xa1b2c3d4). */
  nanosecond?: boolean;
  /** pcapng: the interfaces described up front (more with {@link CaptureWriter.addInterface}). */
  interfaces?: CaptureInterface[];
  /** pcapng: `shb_userappl` (default `'kring'`). */
  application?: string;
  /** pcapng: a comment on the section. */
  comment?: string;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const IDB = 1;
const EPB = 6;
const ISB = 5;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const SHB_USERAPPL = 4;
const EPB_FLAGS = 2;
const ISB_STARTTIME = 2;
const ISB_ENDTIME = 3;
const ISB_IFRECV = 4;
const ISB_IFDROP = 5;
const CHUNK = 64 * 1024;

/** What a capture's statistics block says: the kernel's counts for one interface. */
export interface CaptureStatistics {
  /** Packets the interface received (isb_ifrecv), when known. */
  received?: number;
  /** Packets dropped for lack of room (isb_ifdrop): the ring's `drops`. */
  dropped?: number;
  /** When counting started and ended (seconds, nanoseconds). */
  start?: { sec: number; nsec: number };
  end?: { sec: number; nsec: number };
}

/**
 * Writes pcap or pcapng records to a sink, buffered in chunks of 64 KiB. Not thread-safe; one
 * writer per file.
 */
export class CaptureWriter {
  readonly format: 'pcap' | 'pcapng';
  #sink: ((chunk: Buffer) => void) | null;
  #finish: (() => void) | null;
  #buf = Buffer.allocUnsafe(CHUNK);
  #used = 0;
  #nano: boolean;
  #snaplen: number;
  #interfaces: Required<Pick<CaptureInterface, 'linktype' | 'snaplen'>>[] = [];
  #records = 0;
  #bytes = 0;

  /**
   * A writer over `sink` (called with each full chunk and at flush); `finish` runs at close.
   * @throws TypeError / RangeError for bad options
   */
  constructor(sink: (chunk: Buffer) => void, options: CaptureWriterOptions = {}, finish?: () => void) {
    if (typeof sink !== 'function') throw new TypeError('CaptureWriter needs a sink function');
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
    const format = options.format ?? 'pcapng';
    if (format !== 'pcap' && format !== 'pcapng') throw new RangeError(`format must be 'pcap' or 'pcapng', got ${describe(format)}`);
    this.format = format;
    this.#sink = sink;
    this.#finish = finish ?? null;
    this.#nano = options.nanosecond ?? true;
    this.#snaplen = options.snaplen === undefined ? 262144 : int('snaplen', options.snaplen, 1, 0x7fffffff);
    const linktype = options.linktype === undefined ? LINKTYPE_ETHERNET : int('linktype', options.linktype, 0, 0xffff);
    if (format === 'pcap') {
      if (options.interfaces !== undefined || options.comment !== undefined)
        throw new RangeError('interfaces and comments are pcapng features: use format pcapng');
      const h = this.#reserve(24);
      const b = this.#buf;
      b.writeUInt32LE(this.#nano ? PCAP_MAGIC_NS : PCAP_MAGIC_US, h);
      b.writeUInt16LE(2, h + 4);
      b.writeUInt16LE(4, h + 6);
      b.writeInt32LE(0, h + 8); // thiszone
      b.writeUInt32LE(0, h + 12); // sigfigs
      b.writeUInt32LE(this.#snaplen, h + 16);
      b.writeUInt32LE(linktype, h + 20);
      this.#interfaces.push({ linktype, snaplen: this.#snaplen });
      return;
    }
    this.#block(
      SHB,
      16,
      [...(options.comment !== undefined ? [opt(OPT_COMMENT, options.comment)] : []), opt(SHB_USERAPPL, options.application ?? 'kring')],
      (b, at) => {
        b.writeUInt32LE(BOM, at);
        b.writeUInt16LE(1, at + 4);
        b.writeUInt16LE(0, at + 6);
        b.writeBigInt64LE(-1n, at + 8); // section length: not given
      },
    );
    for (const i of options.interfaces ?? [{ linktype, snaplen: this.#snaplen }]) this.addInterface(i);
  }

  /**
   * A writer to a new file at `path` (truncated if it exists).
   * @throws the file system's error (ENOENT, EACCES, …)
   */
  static open(path: string, options: CaptureWriterOptions = {}): CaptureWriter {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError(`path must be a non-empty string, got ${describe(path)}`);
    const fd = openSync(path, 'w');
    try {
      return new CaptureWriter(
        (chunk) => {
          for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
        },
        options,
        () => {
          fsyncSync(fd);
          closeSync(fd);
        },
      );
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Records written so far. */
  get records(): number {
    return this.#records;
  }
  /** Bytes written so far (file size once flushed). */
  get bytes(): number {
    return this.#bytes + this.#used;
  }
  /** Whether {@link close} ran. */
  get closed(): boolean {
    return this.#sink === null;
  }

  /**
   * pcapng: describes another interface (an IDB with `if_name` and `if_tsresol` = 9); returns its
   * index for {@link CaptureWriteRecord.interfaceId}.
   */
  addInterface(i: CaptureInterface = {}): number {
    this.#open();
    if (this.format !== 'pcapng') throw new RangeError('a pcap file has one link type and no interface list: use format pcapng');
    const linktype = i.linktype === undefined ? LINKTYPE_ETHERNET : int('linktype', i.linktype, 0, 0xffff);
    const snaplen = i.snaplen === undefined ? 262144 : int('snaplen', i.snaplen, 0, 0x7fffffff);
    const options = [...(i.name !== undefined ? [opt(IF_NAME, String(i.name))] : []), opt(IF_TSRESOL, Buffer.from([9]))];
    this.#block(IDB, 8, options, (b, at) => {
      b.writeUInt16LE(linktype, at);
      b.writeUInt16LE(0, at + 2);
      b.writeUInt32LE(snaplen, at + 4);
    });
    this.#interfaces.push({ linktype, snaplen });
    return this.#interfaces.length - 1;
  }

  /** Appends one record. @throws RangeError for a bad timestamp, interface or length */
  write(r: CaptureWriteRecord): void {
    this.#open();
    if (r === null || typeof r !== 'object' || !(r.data instanceof Uint8Array)) throw new TypeError('a record needs data (a Uint8Array), sec and nsec');
    const sec = int('sec', r.sec, 0, 0xffffffff);
    const nsec = int('nsec', r.nsec, 0, 999_999_999);
    const len = r.len === undefined ? r.data.length : int('len', r.len, r.data.length, 0xffffffff);
    const cap = r.data.length;
    if (this.format === 'pcap') {
      const at = this.#reserve(16 + cap);
      const b = this.#buf;
      b.writeUInt32LE(sec, at);
      b.writeUInt32LE(this.#nano ? nsec : Math.floor(nsec / 1000), at + 4);
      b.writeUInt32LE(cap, at + 8);
      b.writeUInt32LE(len, at + 12);
      b.set(r.data, at + 16);
    } else {
      const id = r.interfaceId ?? 0;
      if (!Number.isInteger(id) || id < 0 || id >= this.#interfaces.length) {
        throw new RangeError(`interfaceId ${describe(id)} is not one of the ${this.#interfaces.length} interfaces described`);
      }
      const options: Buffer[] = [];
      if (r.direction !== undefined) {
        if (r.direction !== 'inbound' && r.direction !== 'outbound')
          throw new RangeError(`direction must be 'inbound' or 'outbound', got ${describe(r.direction)}`);
        const flags = Buffer.alloc(4);
        flags.writeUInt32LE(r.direction === 'inbound' ? 1 : 2);
        options.push(opt(EPB_FLAGS, flags));
      }
      if (r.comment !== undefined) options.push(opt(OPT_COMMENT, String(r.comment)));
      const ts = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
      this.#block(EPB, 20 + pad4(cap), options, (b, at) => {
        b.writeUInt32LE(id, at);
        b.writeUInt32LE(Number(ts >> 32n), at + 4);
        b.writeUInt32LE(Number(ts & 0xffffffffn), at + 8);
        b.writeUInt32LE(cap, at + 12);
        b.writeUInt32LE(len, at + 16);
        b.set(r.data, at + 20);
        b.fill(0, at + 20 + cap, at + 20 + pad4(cap));
      });
    }
    this.#records++;
  }

  /** pcapng: an interface statistics block (the kernel's counts, e.g. at the end of a capture). */
  statistics(interfaceId: number, s: CaptureStatistics, now: { sec: number; nsec: number } = nowTs()): void {
    this.#open();
    if (this.format !== 'pcapng') throw new RangeError('statistics blocks are a pcapng feature');
    if (!Number.isInteger(interfaceId) || interfaceId < 0 || interfaceId >= this.#interfaces.length) {
      throw new RangeError(`interfaceId ${describe(interfaceId)} is not one of the ${this.#interfaces.length} interfaces described`);
    }
    const u64 = (v: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    };
    const tsOpt = (code: number, t: { sec: number; nsec: number }) => {
      const v = BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
      const b = Buffer.alloc(8);
      b.writeUInt32LE(Number(v >> 32n), 0);
      b.writeUInt32LE(Number(v & 0xffffffffn), 4);
      return opt(code, b);
    };
    const options: Buffer[] = [];
    if (s.start) options.push(tsOpt(ISB_STARTTIME, s.start));
    if (s.end) options.push(tsOpt(ISB_ENDTIME, s.end));
    if (s.received !== undefined) options.push(opt(ISB_IFRECV, u64(s.received)));
    if (s.dropped !== undefined) options.push(opt(ISB_IFDROP, u64(s.dropped)));
    const ts = BigInt(now.sec) * 1_000_000_000n + BigInt(now.nsec);
    this.#block(ISB, 12, options, (b, at) => {
      b.writeUInt32LE(interfaceId, at);
      b.writeUInt32LE(Number(ts >> 32n), at + 4);
      b.writeUInt32LE(Number(ts & 0xffffffffn), at + 8);
    });
  }

  /** Hands everything buffered to the sink (the file has every record written so far). */
  flush(): void {
    if (!this.#sink || this.#used === 0) return;
    const chunk = this.#buf.subarray(0, this.#used);
    this.#bytes += this.#used;
    this.#used = 0;
    this.#sink(chunk);
  }

  /** Flushes and ends the file. Idempotent. */
  close(): void {
    if (!this.#sink) return;
    try {
      this.flush();
    } finally {
      this.#sink = null;
      const f = this.#finish;
      this.#finish = null;
      f?.();
    }
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): void {
    if (!this.#sink) throw new Error('the capture writer is closed');
  }

  // Room for n bytes at the end of the buffer (flushing, or growing it for one large record).
  #reserve(n: number): number {
    if (this.#used + n > this.#buf.length) {
      this.flush();
      if (n > this.#buf.length) this.#buf = Buffer.allocUnsafe(n);
    }
    const at = this.#used;
    this.#used += n;
    return at;
  }

  // A pcapng block: type, length, a fixed part of `fixed` bytes filled by `fill`, options, length.
  #block(type: number, fixed: number, options: Buffer[], fill: (b: Buffer, at: number) => void): void {
    const optBytes = options.length ? options.reduce((n, o) => n + o.length, 0) + 4 : 0;
    const total = 12 + fixed + optBytes;
    const at = this.#reserve(total);
    const b = this.#buf;
    b.writeUInt32LE(type, at);
    b.writeUInt32LE(total, at + 4);
    fill(b, at + 8);
    let p = at + 8 + fixed;
    for (const o of options) {
      o.copy(b, p);
      p += o.length;
    }
    if (optBytes) {
      b.writeUInt32LE(0, p); // opt_endofopt
      p += 4;
    }
    b.writeUInt32LE(total, p);
  }
}

const pad4 = (n: number) => (n + 3) & ~3;

// One pcapng option: code, length, value padded to 32 bits.
function opt(code: number, value: string | Buffer): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const b = Buffer.alloc(4 + pad4(v.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(v.length, 2);
  v.copy(b, 4);
  return b;
}

function nowTs(): { sec: number; nsec: number } {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
}

/**
 * The 16-byte Linux cooked v1 header (LINKTYPE_LINUX_SLL) for a frame read in `mode: 'dgram'` (or
 * on `'any'`): packet type, ARPHRD type, address length and address, protocol (big-endian).
 */
export function sllHeader(f: { pkttype: number; hatype: number; address: Uint8Array; protocol: number }): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(f.pkttype, 0);
  h.writeUInt16BE(f.hatype, 2);
  const alen = Math.min(f.address.length, 8);
  h.writeUInt16BE(f.address.length, 4);
  h.set(f.address.subarray(0, alen), 6);
  h.writeUInt16BE(f.protocol, 14);
  return h;
}

/**
 * The 20-byte Linux cooked v2 header (LINKTYPE_LINUX_SLL2): protocol, reserved, interface index,
 * ARPHRD type, packet type, address length, address.
 */
export function sll2Header(f: { pkttype: number; hatype: number; address: Uint8Array; protocol: number; ifindex: number }): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(f.protocol, 0);
  h.writeUInt32BE(f.ifindex, 4);
  h.writeUInt16BE(f.hatype, 8);
  h.writeUInt8(f.pkttype, 10);
  const alen = Math.min(f.address.length, 8);
  h.writeUInt8(f.address.length, 11);
  h.set(f.address.subarray(0, alen), 12);
  return h;
}

/**
 * The frame as libpcap writes it for Ethernet: with the 802.1Q tag the device took out put back
 * after the MAC addresses (AF_PACKET hands the tag beside the data).
 */
export function withVlanTag(data: Uint8Array, vlan: { tci: number; tpid: number } | null): Uint8Array {
  if (!vlan || data.length < 12) return data;
  const out = Buffer.allocUnsafe(data.length + 4);
  out.set(data.subarray(0, 12), 0);
  out.writeUInt16BE(vlan.tpid || ETH_P_8021Q, 12);
  out.writeUInt16BE(vlan.tci, 14);
  out.set(data.subarray(12), 16);
  return out;
}
