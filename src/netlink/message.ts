/**
 * Netlink messages and attributes: encode and decode without a Buffer per attribute.
 *
 * Decoding walks one buffer with cursors ({@link MessageCursor}, {@link AttrCursor}) that check every
 * length against the bytes that are really there: a malformed or truncated message makes the cursor
 * stop with an error value ({@link NetlinkParseError}), never an exception from an out-of-bounds read.
 * Encoding ({@link MessageBuilder}) writes headers and attributes into one growing buffer.
 * Layouts: include/uapi/linux/netlink.h (nlmsghdr, nlattr, nlmsgerr and its extended-ACK TLVs).
 * @packageDocumentation
 */
import * as uapi from '../constants';
import { errnoName } from '../errors';
import { NLATTR, NLMSGERR, NLMSGHDR } from '../layouts/netlink';

// The uapi constants live in the constants module; the walks below read them through these
// module-local bindings: an imported binding compiles (CommonJS) to a property read of the other
// module's `exports` at every use, which a million-message dump measurably pays for.
const { NLMSG_HDRLEN, NLA_HDRLEN, NLMSG_ALIGN, NLM_F_CAPPED, NLM_F_ACK_TLVS, NLA_F_NESTED, NLA_TYPE_MASK, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS } = uapi;
const { nlmsg_len: NLMSG_LEN, nlmsg_type: NLMSG_TYPE, nlmsg_flags: NLMSG_FLAGS, nlmsg_seq: NLMSG_SEQ, nlmsg_pid: NLMSG_PID } = NLMSGHDR;
const { nla_len: NLA_LEN, nla_type: NLA_TYPE } = NLATTR;

/** Why a message or attribute could not be read. A value, not an exception. */
export class NetlinkParseError {
  constructor(
    /** What was wrong, with the numbers. */
    readonly reason: string,
    /** Byte offset in the buffer where it was found. */
    readonly offset: number,
  ) {}
}

/** A message the kernel sent that kring could not decode (truncated or malformed): the stream's error. */
export class MalformedMessageError extends Error {
  readonly code = 'ERR_KRING_MALFORMED_MESSAGE';
  constructor(
    readonly parse: NetlinkParseError,
    protocol = 'netlink',
  ) {
    super(`malformed ${protocol} message: ${parse.reason} at offset ${parse.offset}`);
    this.name = 'MalformedMessageError';
  }
}

/**
 * Walks the nlmsghdr chain in `[start, end)` of a buffer. A flyweight: `next()` moves it to the
 * next message and the fields describe that one. After `next()` returns false, {@link error} says
 * whether the chain ended cleanly (null) or at damage.
 */
export class MessageCursor {
  /** `nlmsg_len` */ len = 0;
  /** `nlmsg_type` */ type = 0;
  /** `nlmsg_flags` */ flags = 0;
  /** `nlmsg_seq` */ seq = 0;
  /** `nlmsg_pid` */ pid = 0;
  /** Offset of this message's header. */ offset = 0;
  /** Offset of its payload (after the header). */ payload = 0;
  /** Payload length (`nlmsg_len - NLMSG_HDRLEN`). */ payloadLen = 0;
  /** Set when the chain stopped at damage. */ error: NetlinkParseError | null = null;
  readonly dv: DataView;
  #at: number;
  #end: number;

  constructor(buf: Uint8Array | DataView, start = 0, end?: number) {
    this.dv = buf instanceof DataView ? buf : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#at = start;
    this.#end = Math.min(end ?? this.dv.byteLength, this.dv.byteLength);
  }

  /** Moves to the next message; false at the end of the chain or at damage (see {@link error}). */
  next(): boolean {
    const at = this.#at;
    const left = this.#end - at;
    if (left <= 0 || this.error) return false;
    if (left < NLMSG_HDRLEN) return this.#fail(`${left} bytes left, less than an nlmsghdr (${NLMSG_HDRLEN})`, at);
    const len = this.dv.getUint32(at + NLMSG_LEN, true);
    if (len < NLMSG_HDRLEN) return this.#fail(`nlmsg_len ${len} is smaller than the header (${NLMSG_HDRLEN})`, at);
    if (len > left) return this.#fail(`nlmsg_len ${len} runs past the ${left} bytes received`, at);
    this.len = len;
    this.type = this.dv.getUint16(at + NLMSG_TYPE, true);
    this.flags = this.dv.getUint16(at + NLMSG_FLAGS, true);
    this.seq = this.dv.getUint32(at + NLMSG_SEQ, true);
    this.pid = this.dv.getUint32(at + NLMSG_PID, true);
    this.offset = at;
    this.payload = at + NLMSG_HDRLEN;
    this.payloadLen = len - NLMSG_HDRLEN;
    this.#at = at + NLMSG_ALIGN(len);
    return true;
  }

  #fail(reason: string, offset: number): false {
    this.error = new NetlinkParseError(reason, offset);
    return false;
  }
}

/**
 * Walks the attributes (struct nlattr TLVs) in `[start, end)`. A flyweight like {@link MessageCursor};
 * the typed readers check the attribute's length and answer undefined when it is too short.
 */
export class AttrCursor {
  /** Attribute type without the NESTED / NET_BYTEORDER flags. */ type = 0;
  /** NLA_F_NESTED was set. */ nested = false;
  /** Offset of the attribute's data. */ data = 0;
  /** Length of the data (`nla_len - NLA_HDRLEN`). */ dataLen = 0;
  /** Set when the walk stopped at damage. */ error: NetlinkParseError | null = null;
  readonly dv: DataView;
  #at: number;
  #end: number;

  constructor(dv: DataView, start: number, end: number) {
    this.dv = dv;
    this.#at = start;
    this.#end = Math.min(end, dv.byteLength);
  }

  /** Moves to the next attribute; false at the end or at damage (see {@link error}). */
  next(): boolean {
    const at = this.#at;
    const left = this.#end - at;
    if (left < NLA_HDRLEN || this.error) {
      if (left > 0 && left < NLA_HDRLEN && !this.error) this.error = new NetlinkParseError(`${left} trailing bytes, less than an nlattr`, at);
      return false;
    }
    const len = this.dv.getUint16(at + NLA_LEN, true);
    if (len < NLA_HDRLEN || len > left) {
      this.error = new NetlinkParseError(`nla_len ${len} is outside ${NLA_HDRLEN}..${left}`, at);
      return false;
    }
    const t = this.dv.getUint16(at + NLA_TYPE, true);
    this.type = t & NLA_TYPE_MASK;
    this.nested = (t & NLA_F_NESTED) !== 0;
    this.data = at + NLA_HDRLEN;
    this.dataLen = len - NLA_HDRLEN;
    this.#at = at + NLMSG_ALIGN(len);
    return true;
  }

  /** A cursor over this attribute's data as nested attributes. */
  nestedCursor(): AttrCursor {
    return new AttrCursor(this.dv, this.data, this.data + this.dataLen);
  }
  u8(): number | undefined {
    return this.dataLen >= 1 ? this.dv.getUint8(this.data) : undefined;
  }
  u16(): number | undefined {
    return this.dataLen >= 2 ? this.dv.getUint16(this.data, true) : undefined;
  }
  u32(): number | undefined {
    return this.dataLen >= 4 ? this.dv.getUint32(this.data, true) : undefined;
  }
  s32(): number | undefined {
    return this.dataLen >= 4 ? this.dv.getInt32(this.data, true) : undefined;
  }
  u64(): bigint | undefined {
    return this.dataLen >= 8 ? this.dv.getBigUint64(this.data, true) : undefined;
  }
  /** Big-endian u16 (NLA_F_NET_BYTEORDER data, ports). */
  be16(): number | undefined {
    return this.dataLen >= 2 ? this.dv.getUint16(this.data, false) : undefined;
  }
  /** Big-endian u32. */
  be32(): number | undefined {
    return this.dataLen >= 4 ? this.dv.getUint32(this.data, false) : undefined;
  }
  /** NUL-terminated string (without the NUL); the whole data when there is none. */
  string(): string {
    const b = this.view();
    const nul = b.indexOf(0);
    return Buffer.from(b.buffer, b.byteOffset, nul < 0 ? b.length : nul).toString('utf8');
  }
  /** A copy of the data. */
  bytes(): Uint8Array {
    return this.view().slice();
  }
  /** The data in place: a view of the cursor's buffer, valid as long as that memory is. */
  view(): Uint8Array {
    return new Uint8Array(this.dv.buffer, this.dv.byteOffset + this.data, this.dataLen);
  }
}

/**
 * A request failed: the kernel answered NLMSG_ERROR with a negative error. Carries errno and, with
 * NETLINK_EXT_ACK, the kernel's message and the offset of the offending attribute in the request.
 */
export class NetlinkError extends Error {
  /** errno name, for example `'EEXIST'`. */
  readonly code: string;
  /** Positive errno. */
  readonly errno: number;
  /** Extended ACK message, when the kernel gave one. */
  readonly extackMessage: string | undefined;
  /** Byte offset in the request of the attribute the kernel blamed, when it gave one. */
  readonly extackOffset: number | undefined;
  /** Sequence number of the request. */
  readonly seq: number;
  constructor(errno: number, seq: number, extackMessage?: string, extackOffset?: number) {
    const code = errnoName(errno);
    super(
      `netlink request ${seq} failed: ${code}${extackMessage ? `: ${extackMessage}` : ''}${extackOffset !== undefined ? ` (at offset ${extackOffset})` : ''}`,
    );
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = errno;
    this.seq = seq;
    this.extackMessage = extackMessage;
    this.extackOffset = extackOffset;
  }
}

/** A decoded NLMSG_ERROR: `error` 0 is an ACK. */
export interface AckInfo {
  /** The kernel's `error` field: 0 for an ACK, a negative errno for a failure. */
  error: number;
  /** Header of the request it answers. */
  request: { len: number; type: number; flags: number; seq: number; pid: number };
  extackMessage?: string;
  extackOffset?: number;
}

/**
 * Decodes the NLMSG_ERROR message under `m` (struct nlmsgerr, then the request's payload unless
 * NLM_F_CAPPED, then extended-ACK TLVs if NLM_F_ACK_TLVS).
 */
export function parseAck(m: MessageCursor): AckInfo | NetlinkParseError {
  const dv = m.dv;
  if (m.payloadLen < 4 + NLMSG_HDRLEN)
    return new NetlinkParseError(`NLMSG_ERROR payload of ${m.payloadLen} bytes is shorter than struct nlmsgerr (20)`, m.offset);
  const p = m.payload;
  const req = p + NLMSGERR.msg;
  const info: AckInfo = {
    error: dv.getInt32(p + NLMSGERR.error, true),
    request: {
      len: dv.getUint32(req + NLMSG_LEN, true),
      type: dv.getUint16(req + NLMSG_TYPE, true),
      flags: dv.getUint16(req + NLMSG_FLAGS, true),
      seq: dv.getUint32(req + NLMSG_SEQ, true),
      pid: dv.getUint32(req + NLMSG_PID, true),
    },
  };
  if (m.flags & NLM_F_ACK_TLVS) {
    const requestBytes = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : NLMSG_ALIGN(info.request.len);
    const start = req + requestBytes;
    const end = m.offset + m.len;
    if (start <= end) {
      const a = new AttrCursor(dv, start, end);
      while (a.next()) {
        if (a.type === NLMSGERR_ATTR_MSG) info.extackMessage = a.string();
        else if (a.type === NLMSGERR_ATTR_OFFS) info.extackOffset = a.u32();
      }
    }
  }
  return info;
}

/**
 * The error an NLMSG_DONE carries (`int` after the header: 0, or a negative errno ending a dump
 * early), with the extended-ACK message the kernel may append (NLM_F_ACK_TLVS, netlink_dump_done()).
 */
export function parseDone(m: MessageCursor): { error: number; extackMessage?: string; extackOffset?: number } {
  if (m.payloadLen < 4) return { error: 0 };
  const out: { error: number; extackMessage?: string; extackOffset?: number } = { error: m.dv.getInt32(m.payload, true) };
  if (m.flags & NLM_F_ACK_TLVS) {
    const a = new AttrCursor(m.dv, m.payload + 4, m.offset + m.len);
    while (a.next()) {
      if (a.type === NLMSGERR_ATTR_MSG) out.extackMessage = a.string();
      else if (a.type === NLMSGERR_ATTR_OFFS) out.extackOffset = a.u32();
    }
  }
  return out;
}

/**
 * Writes netlink messages into one growing buffer: a header, a fixed family struct, attributes
 * (nested too), lengths patched on close. `finish()` returns the bytes of every message written.
 */
export class MessageBuilder {
  #buf: Uint8Array;
  #dv: DataView;
  #len = 0;
  #msgStart = -1;
  #nests: number[] = [];

  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial);
    this.#dv = new DataView(this.#buf.buffer);
  }

  /** Starts a message. `pid` 0 lets the kernel fill the port id. */
  begin(type: number, flags: number, seq: number, pid = 0): this {
    if (this.#msgStart >= 0) throw new Error('MessageBuilder: end() the previous message first');
    this.#msgStart = this.#len;
    const at = this.#reserve(NLMSG_HDRLEN);
    this.#dv.setUint16(at + 4, type, true);
    this.#dv.setUint16(at + 6, flags, true);
    this.#dv.setUint32(at + 8, seq, true);
    this.#dv.setUint32(at + 12, pid, true);
    return this;
  }

  /** Appends raw bytes (a family header such as struct rtmsg), padded to NLMSG_ALIGNTO. */
  bytes(b: Uint8Array): this {
    const at = this.#reserve(NLMSG_ALIGN(b.length));
    this.#buf.set(b, at);
    return this;
  }

  /** Appends an attribute with raw data. */
  attr(type: number, data: Uint8Array): this {
    const at = this.#reserve(NLMSG_ALIGN(NLA_HDRLEN + data.length));
    this.#dv.setUint16(at, NLA_HDRLEN + data.length, true);
    this.#dv.setUint16(at + 2, type, true);
    this.#buf.set(data, at + NLA_HDRLEN);
    return this;
  }
  u8(type: number, v: number): this {
    return this.#scalar(type, 1, (at) => this.#dv.setUint8(at, v));
  }
  u16(type: number, v: number): this {
    return this.#scalar(type, 2, (at) => this.#dv.setUint16(at, v, true));
  }
  u32(type: number, v: number): this {
    return this.#scalar(type, 4, (at) => this.#dv.setUint32(at, v, true));
  }
  u64(type: number, v: bigint): this {
    return this.#scalar(type, 8, (at) => this.#dv.setBigUint64(at, v, true));
  }
  /** A NUL-terminated string attribute. */
  string(type: number, s: string): this {
    const enc = Buffer.from(`${s}\0`, 'utf8');
    return this.attr(type, enc);
  }
  /** Opens a nested attribute (NLA_F_NESTED set); close it with {@link endNest}. */
  beginNest(type: number): this {
    const at = this.#reserve(NLA_HDRLEN);
    this.#dv.setUint16(at + 2, type | NLA_F_NESTED, true);
    this.#nests.push(at);
    return this;
  }
  endNest(): this {
    const at = this.#nests.pop();
    if (at === undefined) throw new Error('MessageBuilder: endNest() without beginNest()');
    this.#dv.setUint16(at, this.#len - at, true);
    return this;
  }
  /** Closes the message: patches nlmsg_len. */
  end(): this {
    if (this.#msgStart < 0 || this.#nests.length) throw new Error('MessageBuilder: end() needs an open message and no open nest');
    this.#dv.setUint32(this.#msgStart, this.#len - this.#msgStart, true);
    this.#msgStart = -1;
    return this;
  }
  /** The bytes written so far (a view; copy it to keep it past the next write). */
  finish(): Uint8Array {
    if (this.#msgStart >= 0) this.end();
    return this.#buf.subarray(0, this.#len);
  }

  #scalar(type: number, size: number, write: (at: number) => void): this {
    const at = this.#reserve(NLMSG_ALIGN(NLA_HDRLEN + size));
    this.#dv.setUint16(at, NLA_HDRLEN + size, true);
    this.#dv.setUint16(at + 2, type, true);
    write(at + NLA_HDRLEN);
    return this;
  }

  #reserve(n: number): number {
    if (this.#len + n > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
      this.#dv = new DataView(next.buffer);
    }
    const at = this.#len;
    this.#buf.fill(0, at, at + n);
    this.#len += n;
    return at;
  }
}
