/**
 * Shared rtnetlink types and the two helpers every decoder and request builder uses.
 * @packageDocumentation
 */
import { AttrCursor, MessageBuilder } from '../netlink/message';
import { NLM_F_DUMP, NLM_F_REQUEST } from '../constants';

/** An attribute a decoder does not know, kept whole: type, NLA_F_NESTED, and a copy of its data. */
export interface RawAttribute {
  type: number;
  nested: boolean;
  data: Uint8Array;
}

/** The attribute under `a`, kept whole. */
export function rawAttribute(a: AttrCursor): RawAttribute {
  return { type: a.type, nested: a.nested, data: a.bytes() };
}

/**
 * A dump request of `type` with its family header (ifinfomsg, ifaddrmsg, ndmsg, rtmsg):
 * `headerSize` zero bytes but for the family in the first; `fill` may set more of the header,
 * `attrs` add attributes after it.
 */
export function dumpRequest(
  type: number,
  headerSize: number,
  family: number,
  fill?: (header: Uint8Array) => void,
  attrs?: (b: MessageBuilder) => void,
): Uint8Array {
  const header = new Uint8Array(headerSize);
  header[0] = family; // rtm_family, ifi_family, ifa_family, ndm_family: every rtnetlink header starts with it
  fill?.(header);
  const b = new MessageBuilder().begin(type, NLM_F_REQUEST | NLM_F_DUMP, 0).bytes(header);
  attrs?.(b);
  return b.finish().slice();
}
