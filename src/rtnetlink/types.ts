/**
 * Shared rtnetlink types.
 * @packageDocumentation
 */

/** An attribute a decoder does not know, kept whole: type, NLA_F_NESTED, and a copy of its data. */
export interface RawAttribute {
  type: number;
  nested: boolean;
  data: Uint8Array;
}
