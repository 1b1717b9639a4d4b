/**
 * A netlink socket's conversation written to a pcapng file, as Wireshark's netlink dissector reads
 * it (LINKTYPE_NETLINK): each datagram sent or received is a record whose 16-byte Linux cooked
 * header gives the packet type (PACKET_USER for what kring sent, PACKET_KERNEL for what the kernel
 * sent: the types an nlmon device gives), ARPHRD_NETLINK and the netlink protocol, with the
 * direction also in `epb_flags`. The same records an nlmon capture holds, for one socket only, with
 * no privilege and no nlmon device.
 * @packageDocumentation
 */
import { ARPHRD_NETLINK, LINKTYPE_NETLINK, PACKET_KERNEL, PACKET_USER } from '../constants';
import { CaptureWriter, sllHeader } from '../pcap/write';

const NO_ADDRESS = new Uint8Array(0);

/** Writes one socket's datagrams to a pcapng file. @internal */
export class NetlinkTrace {
  #w: CaptureWriter;
  #protocol: number;

  constructor(path: string, protocol: number) {
    this.#protocol = protocol;
    this.#w = CaptureWriter.open(path, { interfaces: [{ linktype: LINKTYPE_NETLINK, name: `netlink${protocol}` }] });
  }

  /** A datagram kring sent (`'out'`) or read (`'in'`). */
  record(datagram: Uint8Array, dir: 'in' | 'out'): void {
    const header = sllHeader({ pkttype: dir === 'out' ? PACKET_USER : PACKET_KERNEL, hatype: ARPHRD_NETLINK, address: NO_ADDRESS, protocol: this.#protocol });
    const data = Buffer.concat([header, datagram]);
    // Wall-clock time to the microsecond (performance.now() is fractional milliseconds).
    const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
    this.#w.write({ data, sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n), direction: dir === 'out' ? 'outbound' : 'inbound' });
  }

  /** Puts what was recorded into the file. */
  flush(): void {
    this.#w.flush();
  }

  close(): void {
    this.#w.close();
  }
}
