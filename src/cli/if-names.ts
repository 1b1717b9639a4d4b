/**
 * Interface names for the capture commands' text output: an index → name map read once with a
 * link dump, then kept current from RTM_NEWLINK/RTM_DELLINK events (a rename, a new device, one
 * moved in), so a name is never a stale one and looking it up costs no syscall.
 * @packageDocumentation
 */
import { NLMSG_HDRLEN, RTM_DELLINK, RTM_NEWLINK, RTNLGRP_LINK } from '../constants';
import { NetlinkParseError } from '../netlink/message';
import { NetlinkSocket } from '../netlink/socket';
import { getLinks } from '../rtnetlink/readers';
import { decodeLink } from '../rtnetlink/link';

/** The names of a namespace's interfaces, current. */
export class InterfaceNames {
  #names = new Map<number, string>();
  #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
    sock.messages().subscribe({
      next: (m) => {
        if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) return;
        const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
        const l = decodeLink(dv, NLMSG_HDRLEN, m.bytes.length - NLMSG_HDRLEN, m.type);
        if (l instanceof NetlinkParseError || !l.name) return;
        if (m.type === RTM_NEWLINK) this.#names.set(l.index, l.name);
        // A deleted link keeps its name here: frames of it may still be in the ring.
      },
      error: () => undefined, // names stay as they were; the capture goes on
    });
  }

  /** Joins the link group first (no event is missed), then dumps the links of `netns`. */
  static async open(netns?: string): Promise<InterfaceNames> {
    const sock = NetlinkSocket.open({ protocol: 'route', netns, groups: [RTNLGRP_LINK] });
    const n = new InterfaceNames(sock);
    try {
      for (const l of await getLinks({ netns })) if (!n.#names.has(l.index) && l.name) n.#names.set(l.index, l.name);
    } catch (e) {
      sock.close();
      throw e;
    }
    return n;
  }

  /** The name of `index`, or its number when the namespace never had it. */
  name(index: number): string {
    return this.#names.get(index) ?? `if${index}`;
  }

  close(): void {
    this.#sock.close();
  }
}
