/**
 * Receive timestamp sources: asking for one (PACKET_TIMESTAMP, and for the NIC's clock the
 * driver's SIOCSHWTSTAMP), and reading which one a frame's stamp came from (TP_STATUS_TS_* bits
 * that `tpacket_rcv()` ORs into the frame's status, net/packet/af_packet.c at v6.18).
 * @packageDocumentation
 */
import { constants as osConstants } from 'node:os';
import {
  ETHTOOL_GET_TS_INFO,
  ETHTOOL_TS_INFO_SIZE,
  HWTSTAMP_FILTER_ALL,
  PACKET_TIMESTAMP,
  SIOCETHTOOL,
  SIOCSHWTSTAMP,
  SOF_TIMESTAMPING_RAW_HARDWARE,
  SOF_TIMESTAMPING_RX_HARDWARE,
  SOF_TIMESTAMPING_SOFTWARE,
  SOL_PACKET,
  SOL_SOCKET,
  SO_TIMESTAMPNS,
  TP_STATUS_TS_RAW_HARDWARE,
  TP_STATUS_TS_SOFTWARE,
  TP_STATUS_TS_SYS_HARDWARE,
} from '../constants';
import { RingError, UnsupportedError } from '../errors';
import { native } from '../native';

/**
 * Where a frame's timestamp came from: `'software'` (the kernel's clock when the packet arrived),
 * `'raw-hardware'` (the NIC's clock), `'hardware'` (the NIC's clock moved to system time: old
 * kernels only), or `'fallback'` (the packet carried no stamp, so the kernel read its clock when it
 * wrote the frame).
 */
export type TimestampSource = 'software' | 'hardware' | 'raw-hardware' | 'fallback';

/** The source a frame status's TP_STATUS_TS_* bits name. */
export function timestampSourceOf(status: number): TimestampSource {
  if (status & TP_STATUS_TS_RAW_HARDWARE) return 'raw-hardware';
  if (status & TP_STATUS_TS_SYS_HARDWARE) return 'hardware';
  if (status & TP_STATUS_TS_SOFTWARE) return 'software';
  return 'fallback';
}

/**
 * Asks for receive stamps from `source`. For the NIC's clock the driver must say it can stamp
 * received packets (ETHTOOL_GET_TS_INFO, what `ethtool -T` shows) — otherwise an
 * UnsupportedError, never a silent fall back to software stamps — and is then told to stamp every
 * packet (SIOCSHWTSTAMP, HWTSTAMP_FILTER_ALL), as libpcap does.
 * @internal
 */
export function setTimestamping(fd: number, ifname: string, source: 'software' | 'hardware' | 'raw-hardware'): void {
  if (source === 'software') {
    // The stack stamps arriving packets only while some socket asked for stamps (the
    // netstamp_needed static key); without it tpacket_rcv() reads the clock itself when it fills the
    // frame ('fallback'). SO_TIMESTAMPNS is that request, for as long as this socket lives.
    native.krSetsockopt({ fd, level: SOL_SOCKET, name: SO_TIMESTAMPNS, value: 1, op: 'SO_TIMESTAMPNS' });
    native.krSetsockopt({ fd, level: SOL_PACKET, name: PACKET_TIMESTAMP, value: SOF_TIMESTAMPING_SOFTWARE, op: 'PACKET_TIMESTAMP' });
    return;
  }
  const info = new Uint8Array(ETHTOOL_TS_INFO_SIZE);
  const dv = new DataView(info.buffer);
  dv.setUint32(0, ETHTOOL_GET_TS_INFO, true);
  let caps = 0;
  try {
    native.krIfIoctl({ fd, name: ifname, request: SIOCETHTOOL, data: info, op: 'ETHTOOL_GET_TS_INFO' });
    caps = dv.getUint32(4, true); // so_timestamping
  } catch (e) {
    if (!(e instanceof RingError) || (e.errno !== osConstants.errno.EOPNOTSUPP && e.errno !== osConstants.errno.EINVAL)) throw e;
  }
  const want = SOF_TIMESTAMPING_RAW_HARDWARE | SOF_TIMESTAMPING_RX_HARDWARE;
  if ((caps & want) !== want) {
    throw new UnsupportedError(
      `hardware receive timestamps on ${ifname}`,
      `its driver reports no hardware receive stamping (ethtool -T ${ifname}); use timestampSource 'software'`,
    );
  }
  const config = new Uint8Array(12); // struct hwtstamp_config { flags, tx_type, rx_filter }
  new DataView(config.buffer).setUint32(8, HWTSTAMP_FILTER_ALL, true);
  native.krIfIoctl({ fd, name: ifname, request: SIOCSHWTSTAMP, data: config, op: 'SIOCSHWTSTAMP' });
  native.krSetsockopt({ fd, level: SOL_PACKET, name: PACKET_TIMESTAMP, value: SOF_TIMESTAMPING_RAW_HARDWARE, op: 'PACKET_TIMESTAMP' });
}
