/**
 * nfnetlink's family header and nfnetlink_queue's structs (include/uapi/linux/netfilter/nfnetlink.h,
 * nfnetlink_queue.h), as named byte offsets, with the encoders kring sends. nfnetlink_queue's
 * fields are big-endian (network order); the netlink and attribute headers around them are host
 * order (little-endian here, as everywhere kring runs).
 * @packageDocumentation
 */
import { NFNETLINK_V0, NFNL_SUBSYS_QUEUE, NFQA_MARK, NFQA_PAYLOAD, NFQA_VERDICT_HDR, NLA_HDRLEN, NLM_F_REQUEST, NLMSG_HDRLEN } from '../constants';
import { NLATTR, NLMSGHDR } from './netlink';

/** `struct nfgenmsg` (4 bytes): family, version, res_id (big-endian: the queue number). */
export const NFGENMSG = { nfgen_family: 0, version: 1, res_id: 2 } as const;
export const NFGENMSG_SIZE = 4;

/** `struct nfqnl_msg_packet_hdr` (7 bytes, packed): packet_id (be32), hw_protocol (be16), hook. */
export const NFQNL_MSG_PACKET_HDR = { packet_id: 0, hw_protocol: 4, hook: 6 } as const;
export const NFQNL_MSG_PACKET_HDR_SIZE = 7;

/** `struct nfqnl_msg_packet_hw` (12 bytes): hw_addrlen (be16), pad, hw_addr[8]. */
export const NFQNL_MSG_PACKET_HW = { hw_addrlen: 0, hw_addr: 4 } as const;
export const NFQNL_MSG_PACKET_HW_SIZE = 12;

/** `struct nfqnl_msg_packet_timestamp` (16 bytes): sec, usec (be64 each). */
export const NFQNL_MSG_PACKET_TIMESTAMP = { sec: 0, usec: 8 } as const;
export const NFQNL_MSG_PACKET_TIMESTAMP_SIZE = 16;

/** `struct nfqnl_msg_verdict_hdr` (8 bytes): verdict (be32), id (be32). */
export const NFQNL_MSG_VERDICT_HDR = { verdict: 0, id: 4 } as const;
export const NFQNL_MSG_VERDICT_HDR_SIZE = 8;

/** `struct nfqnl_msg_config_cmd` (4 bytes): command, pad, pf (be16). */
export const NFQNL_MSG_CONFIG_CMD = { command: 0, pf: 2 } as const;
export const NFQNL_MSG_CONFIG_CMD_SIZE = 4;

/** `struct nfqnl_msg_config_params` (5 bytes, packed): copy_range (be32), copy_mode. */
export const NFQNL_MSG_CONFIG_PARAMS = { copy_range: 0, copy_mode: 4 } as const;
export const NFQNL_MSG_CONFIG_PARAMS_SIZE = 5;

/** A queue message type: nfnl_msg_type(NFNL_SUBSYS_QUEUE, msg). */
export const nfqMsgType = (msg: number): number => (NFNL_SUBSYS_QUEUE << 8) | msg;

/** `struct nfgenmsg` for a queue: family, NFNETLINK_V0, the queue number. */
export function encodeNfgenmsg(family: number, resId: number): Uint8Array {
  const b = new Uint8Array(NFGENMSG_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint8(NFGENMSG.nfgen_family, family);
  dv.setUint8(NFGENMSG.version, NFNETLINK_V0);
  dv.setUint16(NFGENMSG.res_id, resId, false);
  return b;
}

/** `struct nfqnl_msg_config_cmd`. */
export function encodeConfigCmd(command: number, pf: number): Uint8Array {
  const b = new Uint8Array(NFQNL_MSG_CONFIG_CMD_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint8(NFQNL_MSG_CONFIG_CMD.command, command);
  dv.setUint16(NFQNL_MSG_CONFIG_CMD.pf, pf, false);
  return b;
}

/** `struct nfqnl_msg_config_params`. */
export function encodeConfigParams(copyRange: number, copyMode: number): Uint8Array {
  const b = new Uint8Array(NFQNL_MSG_CONFIG_PARAMS_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(NFQNL_MSG_CONFIG_PARAMS.copy_range, copyRange, false);
  dv.setUint8(NFQNL_MSG_CONFIG_PARAMS.copy_mode, copyMode);
  return b;
}

/** A big-endian u32 attribute payload (NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_FLAGS, NFQA_CFG_MASK, NFQA_MARK). */
export function be32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, false);
  return b;
}

/** Bytes of a verdict message without options: nlmsghdr, nfgenmsg, NFQA_VERDICT_HDR. */
export const VERDICT_MSG_SIZE = NLMSG_HDRLEN + NFGENMSG_SIZE + NLA_HDRLEN + NFQNL_MSG_VERDICT_HDR_SIZE;
/** Bytes NFQA_MARK adds. */
export const VERDICT_MARK_SIZE = NLA_HDRLEN + 4;

/** The length of a verdict message with these options. */
export function verdictMessageSize(mark: number | undefined, payload: Uint8Array | undefined): number {
  return VERDICT_MSG_SIZE + (mark === undefined ? 0 : VERDICT_MARK_SIZE) + (payload === undefined ? 0 : NLA_HDRLEN + payload.length);
}

/**
 * Writes a whole NFQNL_MSG_VERDICT or NFQNL_MSG_VERDICT_BATCH message at `at` (NLM_F_REQUEST, no
 * ACK: a verdict's success is silent, a refusal comes back as an error message), with NFQA_MARK
 * and NFQA_PAYLOAD when given. Returns its length ({@link verdictMessageSize}); `dv` must have
 * room for it.
 */
export function writeVerdictMessage(
  dv: DataView,
  at: number,
  type: number,
  queue: number,
  verdict: number,
  id: number,
  mark?: number,
  payload?: Uint8Array,
): number {
  const len = verdictMessageSize(mark, payload);
  dv.setUint32(at + NLMSGHDR.nlmsg_len, len, true);
  dv.setUint16(at + NLMSGHDR.nlmsg_type, nfqMsgType(type), true);
  dv.setUint16(at + NLMSGHDR.nlmsg_flags, NLM_F_REQUEST, true);
  dv.setUint32(at + NLMSGHDR.nlmsg_seq, 0, true);
  dv.setUint32(at + NLMSGHDR.nlmsg_pid, 0, true);
  let p = at + NLMSG_HDRLEN;
  dv.setUint8(p + NFGENMSG.nfgen_family, 0); // AF_UNSPEC: verdicts do not depend on it
  dv.setUint8(p + NFGENMSG.version, NFNETLINK_V0);
  dv.setUint16(p + NFGENMSG.res_id, queue, false);
  p += NFGENMSG_SIZE;
  dv.setUint16(p + NLATTR.nla_len, NLA_HDRLEN + NFQNL_MSG_VERDICT_HDR_SIZE, true);
  dv.setUint16(p + NLATTR.nla_type, NFQA_VERDICT_HDR, true);
  dv.setUint32(p + NLA_HDRLEN + NFQNL_MSG_VERDICT_HDR.verdict, verdict >>> 0, false);
  dv.setUint32(p + NLA_HDRLEN + NFQNL_MSG_VERDICT_HDR.id, id >>> 0, false);
  p += NLA_HDRLEN + NFQNL_MSG_VERDICT_HDR_SIZE;
  if (mark !== undefined) {
    dv.setUint16(p + NLATTR.nla_len, VERDICT_MARK_SIZE, true);
    dv.setUint16(p + NLATTR.nla_type, NFQA_MARK, true);
    dv.setUint32(p + NLA_HDRLEN, mark >>> 0, false);
    p += VERDICT_MARK_SIZE;
  }
  if (payload !== undefined) {
    // The last attribute: nlmsg_len ends with it, unpadded (nfnetlink walks nla_len, not NLA_ALIGN).
    dv.setUint16(p + NLATTR.nla_len, NLA_HDRLEN + payload.length, true);
    dv.setUint16(p + NLATTR.nla_type, NFQA_PAYLOAD, true);
    new Uint8Array(dv.buffer, dv.byteOffset + p + NLA_HDRLEN, payload.length).set(payload);
  }
  return len;
}
