/**
 * Frames across threads: a batch's frames copied into two transferable buffers (their bytes back to
 * back, and a table of their fields), and turned back into {@link Frame}s on the other side. One
 * copy and one message per batch, never per frame.
 * @internal
 * @packageDocumentation
 */
import { CapturedFrame, Frame, FrameBatch } from './batch';

/** Fields per frame in the table. */
const W = 15;

/** A batch's frames, packed for postMessage (transfer both buffers). */
export interface PackedFrames {
  count: number;
  /** W float64 per frame: offset, caplen, len, sec, nsec, ifindex, protocol, pkttype, hatype, halen, addrHi, addrLo, vlan (tci | tpid << 16, -1: none), status, rxhash. */
  fields: Float64Array;
  bytes: ArrayBuffer;
}

/** Copies every frame of `batch` (one allocation for the bytes, one for the table). */
export function packFrames(batch: FrameBatch): PackedFrames {
  const n = batch.length;
  const fields = new Float64Array(n * W);
  let total = 0;
  for (const f of batch) total += f.caplen;
  const bytes = new Uint8Array(total);
  let at = 0;
  let k = 0;
  for (const f of batch) {
    const data = f.data;
    bytes.set(data, at);
    const addr = f.address;
    // The address's 8 bytes (zero-padded) as two big-endian words, as CapturedFrame keeps them.
    const hi = (((addr[0] ?? 0) << 24) | ((addr[1] ?? 0) << 16) | ((addr[2] ?? 0) << 8) | (addr[3] ?? 0)) >>> 0;
    const lo = (((addr[4] ?? 0) << 24) | ((addr[5] ?? 0) << 16) | ((addr[6] ?? 0) << 8) | (addr[7] ?? 0)) >>> 0;
    const tci = f.vlanTci;
    fields[k] = at;
    fields[k + 1] = data.length;
    fields[k + 2] = f.len;
    fields[k + 3] = f.sec;
    fields[k + 4] = f.nsec;
    fields[k + 5] = f.ifindex;
    fields[k + 6] = f.protocol;
    fields[k + 7] = f.pkttype;
    fields[k + 8] = f.hatype;
    fields[k + 9] = addr.length;
    fields[k + 10] = hi;
    fields[k + 11] = lo;
    fields[k + 12] = tci < 0 ? -1 : tci | (f.vlanTpid << 16);
    fields[k + 13] = f.status;
    fields[k + 14] = f.rxhash;
    at += data.length;
    k += W;
  }
  return { count: n, fields, bytes: bytes.buffer };
}

/** The frames of a {@link PackedFrames}, each `data` a view into the one bytes buffer. */
export function unpackFrames(p: PackedFrames): Frame[] {
  const out: Frame[] = new Array(p.count);
  const f = p.fields;
  const store = Buffer.from(p.bytes);
  for (let i = 0, k = 0; i < p.count; i++, k += W) {
    const vlan = f[k + 12] < 0 ? null : { tci: f[k + 12] & 0xffff, tpid: f[k + 12] >>> 16 };
    out[i] = new CapturedFrame(
      store,
      f[k],
      f[k + 1],
      f[k + 2],
      f[k + 3],
      f[k + 4],
      f[k + 5],
      f[k + 6],
      f[k + 7],
      f[k + 8],
      f[k + 9],
      f[k + 10],
      f[k + 11],
      vlan,
      f[k + 13],
      f[k + 14],
    );
  }
  return out;
}
