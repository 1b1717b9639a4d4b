/**
 * Test traffic: frames with a sequence number and a payload derived from it, sent from the
 * generator namespace through an AF_PACKET socket with sendmmsg.
 */
import { AF_PACKET, ETH_P_8021Q, SOCK_RAW } from '../../src/constants';
import { encodeSockaddrLl } from '../../src/layouts/sockaddr-ll';
import { constants as osConstants } from 'node:os';
import { RingError } from '../../src/errors';
import { native } from '../../src/native';
import { createVethPair, VethPair } from './netns';

/** The test ethertype (IEEE local experimental), as the shared bench uses. */
export const TEST_ETHERTYPE = 0x88b5;

export interface TestFrameSpec {
  seq: number;
  /** Total frame length on the wire, without the VLAN tag (60–1514). */
  size: number;
  /** 802.1Q tag: the frame carries 4 more bytes on the wire, which the receiver's kernel strips. */
  vlan?: { tci: number; tpid?: number };
}

/**
 * Builds a frame: dst, src, [tpid, tci], TEST_ETHERTYPE, seq (u32 BE), then bytes (seq*7 + i) & 0xff.
 * Returns the frame as sent and the frame as received once any tag is stripped.
 */
export function buildFrame(dst: Buffer, src: Buffer, spec: TestFrameSpec): { wire: Buffer; untagged: Buffer } {
  const untagged = Buffer.alloc(spec.size);
  dst.copy(untagged, 0);
  src.copy(untagged, 6);
  untagged.writeUInt16BE(TEST_ETHERTYPE, 12);
  untagged.writeUInt32BE(spec.seq, 14);
  for (let i = 18; i < spec.size; i++) untagged[i] = (spec.seq * 7 + i) & 0xff;
  if (!spec.vlan) return { wire: untagged, untagged };
  const wire = Buffer.alloc(spec.size + 4);
  untagged.copy(wire, 0, 0, 12);
  wire.writeUInt16BE(spec.vlan.tpid ?? ETH_P_8021Q, 12);
  wire.writeUInt16BE(spec.vlan.tci, 14);
  untagged.copy(wire, 16, 12);
  return { wire, untagged };
}

/** A raw AF_PACKET sender bound to one interface in a namespace. */
export class Sender {
  #fd: number;
  constructor(netns: string, ifname: string) {
    this.#fd = native.krSocket({ domain: AF_PACKET, type: SOCK_RAW, protocol: 0, netns: `/run/netns/${netns}`, op: 'AF_PACKET' });
    try {
      const ifindex = native.krIfIndex(this.#fd, ifname);
      native.krBind(this.#fd, encodeSockaddrLl(0, ifindex), 'AF_PACKET');
    } catch (e) {
      native.krClose(this.#fd, 'AF_PACKET');
      throw e;
    }
  }

  /** Sends every frame, in order, in sendmmsg batches of up to 64. Returns the count sent. */
  send(frames: Buffer[]): number {
    let sent = 0;
    for (let i = 0; i < frames.length; i += 64) {
      const chunk = frames.slice(i, i + 64);
      const lens = Uint32Array.from(chunk.map((f) => f.length));
      let done = 0;
      while (done < chunk.length) {
        const rest = Buffer.concat(chunk.slice(done));
        done += sendSome(this.#fd, rest, lens.subarray(done), chunk.length - done);
      }
      sent += done;
    }
    return sent;
  }

  close(): void {
    native.krClose(this.#fd, 'AF_PACKET');
  }
}

// One sendmmsg; 0 when the device is full for a moment (EAGAIN, or ENOBUFS from the queue).
function sendSome(fd: number, buffer: Buffer, lengths: Uint32Array, count: number): number {
  try {
    return native.krSendmmsg({ fd, buffer, lengths, count, op: 'sendmmsg' });
  } catch (e) {
    if (e instanceof RingError && e.errno === osConstants.errno.ENOBUFS) return 0;
    throw e;
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms; throws after `ms`. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

/**
 * Registers beforeAll/afterAll that create a veth pair and a sender on its generator side and
 * remove both. Read the fields inside tests (they are set in beforeAll).
 */
export function useVethPair(): { readonly t: VethPair; readonly sender: Sender } {
  const env = {} as { t: VethPair; sender: Sender };
  beforeAll(() => {
    env.t = createVethPair();
    env.sender = new Sender(env.t.genNs, env.t.genIf);
  });
  afterAll(() => {
    env.sender?.close();
    env.t?.destroy();
  });
  return env;
}

/**
 * An Ethernet/IPv4/UDP frame (60 bytes): 10.0.0.1 → 10.0.0.2, `srcPort` → 53, the payload's first
 * word `seq`. The flow is the port pair: fanout's flow hash keeps it on one member.
 */
export function buildUdpFrame(dst: Buffer, src: Buffer, seq: number, srcPort: number): Buffer {
  const f = Buffer.alloc(60);
  dst.copy(f, 0);
  src.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45; // version 4, 20-byte header
  f.writeUInt16BE(46, 16); // total length: 20 + 8 + 18
  f[22] = 64; // ttl
  f[23] = 17; // UDP
  f.writeUInt32BE(0x0a000001, 26);
  f.writeUInt32BE(0x0a000002, 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += f.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f.writeUInt16BE(~sum & 0xffff, 24);
  f.writeUInt16BE(srcPort, 34);
  f.writeUInt16BE(53, 36);
  f.writeUInt16BE(26, 38); // UDP length: 8 + 18; checksum 0 (none)
  f.writeUInt32BE(seq, 42);
  return f;
}
