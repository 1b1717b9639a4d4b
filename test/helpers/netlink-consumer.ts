/**
 * Consumer code shared by the kernel-mode (simulator) and emulated-mode (real kernel) suites: the
 * same function reads a dump through a NetlinkReader whichever ring is behind it.
 */
import { MessageCursor } from '../../src/netlink/message';
import { NLMSG_DONE } from '../../src/constants';
import { NetlinkFrame, NetlinkReader } from '../../src/netlink/reader';
import { sleep } from './traffic';

export interface DumpResult {
  /** Every message of the dump but NLMSG_DONE: [type, seq, payload length]. */
  messages: [number, number, number][];
  statuses: number[];
  /** The first frame, held across the whole dump, re-read at the end. */
  heldBefore: string;
  heldAfter: string;
}

/**
 * Reads until NLMSG_DONE. Holds the first frame for the whole dump (parked as SKIP) while later
 * ones are read and released, then releases it last: out-of-order release.
 */
export async function consumeDump(reader: NetlinkReader, timeoutMs = 10000): Promise<DumpResult> {
  const messages: [number, number, number][] = [];
  const statuses: number[] = [];
  let held: NetlinkFrame | null = null;
  let heldBefore = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const frames = reader.read();
    if (frames.length === 0) await sleep(1);
    let done = false;
    for (const f of frames) {
      statuses.push(f.status);
      const m = new MessageCursor(f.data);
      while (m.next()) {
        if (m.type === NLMSG_DONE) done = true;
        else messages.push([m.type, m.seq, m.payloadLen]);
      }
      if (m.error) throw new Error(`malformed frame: ${m.error.reason}`);
      if (!held) {
        held = f;
        heldBefore = Buffer.from(f.data).toString('hex');
        reader.hold(f);
      } else {
        reader.release(f);
      }
    }
    if (done) {
      const heldAfter = held ? Buffer.from(held.data).toString('hex') : '';
      if (held) reader.release(held);
      return { messages, statuses, heldBefore, heldAfter };
    }
  }
  throw new Error('the dump did not finish');
}
