/**
 * kring: memory-mapped Linux kernel rings for Node.js.
 * @packageDocumentation
 */
import './dispose';
export * as constants from './constants';
export { RingError, UnsupportedError, LeaseError } from './errors';
export { Ring } from './ring/ring';
export { RingGeometry } from './layouts/types';
export { frameOffset, frameOffsets, blockOffsets, ringBytes } from './ring/addressing';
export { GeometryContext, RingSizing, validateGeometry, frameBytes, planRing, planSlots, tpacketHdrLen } from './packet/ring-rules';
export { SlotLayout, PacketFrameLayout, TxFrameLayout, TpacketHeader, decodeTpacketHeader } from './layouts/types';
export { tpacketV1, TPACKET_HDR } from './layouts/tpacket-v1';
export { tpacketV2, TPACKET2_HDR } from './layouts/tpacket-v2';
export { tpacketV3, tpacketV3Block, tpacketV3TxFrame, TPACKET3_HDR, TPACKET_BLOCK_DESC } from './layouts/tpacket-v3';
export { SOCKADDR_LL, encodeSockaddrLl } from './layouts/sockaddr-ll';
export {
  nlMmap,
  NL_MMAP_HDR,
  NlMmapHeader,
  decodeNlMmapHeader,
  encodeNlMmapHeader,
  encodeNlMmapReq,
  nlFramePayload,
  checkNlMmapReq,
  validateNlMmapGeometry,
} from './layouts/nl-mmap';
export { PacketSocket, PacketStats, LossEvent, RingInfo, PacketFeatures, PacketSocketClosedError } from './packet/socket';
export { PacketSocketOptions, PacketTxOptions, FanoutOptions, FanoutMode, TpacketVersionName, MAX_SNAPLEN } from './packet/options';
export { PacketWriter, TxStats, TxProgress, TxWaitOptions, WrongFormatReport, WrongFormatError } from './packet/tx';
export { TimestampSource } from './packet/timestamps';
export { FanoutWorkers, FanoutWorkersOptions, MemberBatch, MemberStats } from './packet/fanout-workers';
export { CaptureParser, CaptureRecord, CaptureFileError, readCaptureFile, parseCaptureFile } from './pcap/read';
export { CaptureWriter, CaptureWriterOptions, CaptureWriteRecord, CaptureInterface, CaptureStatistics, sllHeader, sll2Header, withVlanTag } from './pcap/write';
export { compileFilter, CompileOptions, FilterSyntaxError } from './bpf/compile';
export { runFilter, FilterContext } from './bpf/interpret';
export { BpfProgram, BpfProgramError, checkProgram, parseProgramText, formatProgramText } from './bpf/program';
export { Frame, FrameBatch, SlotBatch, BlockBatch, FrameView } from './packet/batch';
export { MessageBuilder, MessageCursor, AttrCursor, NetlinkError, NetlinkParseError, AckInfo, parseAck, parseDone } from './netlink/message';
export {
  NLMSG_HDRLEN,
  NLMSG_ALIGN,
  NLA_HDRLEN,
  NLMSG_NOOP,
  NLMSG_ERROR,
  NLMSG_DONE,
  NLMSG_OVERRUN,
  NLM_F_REQUEST,
  NLM_F_MULTI,
  NLM_F_ACK,
  NLM_F_ECHO,
  NLM_F_DUMP_INTR,
  NLM_F_DUMP_FILTERED,
  NLM_F_ROOT,
  NLM_F_MATCH,
  NLM_F_DUMP,
  NLM_F_REPLACE,
  NLM_F_EXCL,
  NLM_F_CREATE,
  NLM_F_CAPPED,
  NLM_F_ACK_TLVS,
  NLA_F_NESTED,
  NLA_F_NET_BYTEORDER,
  NLA_TYPE_MASK,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSGERR_ATTR_COOKIE,
  AF_INET,
  AF_INET6,
} from './constants';
export { RingWriter, RingWriterTarget } from './ring/writer';
export { NetlinkFrame } from './netlink/reader';
export {
  NetlinkSocket,
  NetlinkSocketOptions,
  NetlinkMessage,
  NetlinkLossEvent,
  NetlinkFeatures,
  DumpInterruptPolicy,
  DumpInterruptedError,
  DumpBatch,
  DumpOptions,
  WaitOptions,
  SocketClosedError,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './netlink/socket';
export { RawAttribute } from './rtnetlink/types';
export { Route, RouteVia, Nexthop, RouteCacheInfo, RouteDumpFilter, decodeRoute, routeDumpRequest, plainRoute, METRIC_NAMES } from './rtnetlink/route';
export { RouteRecord } from './rtnetlink/route-record';
export { Link, LinkInfo, LinkStats64, decodeLink, linkDumpRequest } from './rtnetlink/link';
export { Address, AddressCacheInfo, decodeAddress, addressDumpRequest } from './rtnetlink/address';
export { Neighbour, decodeNeighbour, neighbourDumpRequest } from './rtnetlink/neighbour';
export {
  routes,
  routeBatches,
  getRoutes,
  links,
  getLinks,
  addresses,
  getAddresses,
  neighbours,
  getNeighbours,
  ReaderOptions,
  RouteReaderOptions,
  AddressFamily,
  Flagged,
  MalformedMessageError,
} from './rtnetlink/readers';
export { RouteTable, RouteTableOptions, RouteDiff, routeKey, routeGroupKey, routeValue } from './rtnetlink/route-table';
export { formatAddress, formatIPv4, formatIPv6, formatHardware, parseAddress } from './rtnetlink/ip-address';
export { NfQueue, NfQueueOptions, NfQueueFlags, VerdictOptions, NfLossEvent, NfQueueStats } from './nfqueue/queue';
export { NfPacket, decodeNfPacket } from './nfqueue/packet';
export { VerdictError } from './nfqueue/verdict-book';
export { KernelQueueCounters } from './nfqueue/counters';
export { QueueWorkers, QueueWorkersOptions, QueueReport } from './nfqueue/workers';
export { iterate } from './iterate';
export { CancelOptions } from './cancel';
