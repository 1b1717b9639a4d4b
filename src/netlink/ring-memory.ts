/**
 * Ring memory for the emulated netlink rings: one anonymous mapping laid out with the block
 * formula and the generic ring over it, as the kernel's setsockopt + mmap would give. The ring's
 * other side is kring's emulation on the same thread: its status words are plain loads and stores
 * (Ring's `ordering: 'same-thread'`).
 * @internal
 * @packageDocumentation
 */
import { NL_MMAP_HDRLEN } from '../constants';
import { nlMmap, validateNlMmapGeometry } from '../layouts/nl-mmap';
import { native } from '../native';
import { frameOffsets } from '../ring/addressing';
import { RingGeometry } from '../layouts/types';
import { Ring } from '../ring/ring';

/**
 * Where the ring starts in its mapping: NL_MMAP_HDRLEN (24) short of a cache line, so each
 * frame's message (at NL_MMAP_HDRLEN) starts on one: the kernel's copy into user memory
 * (copy_to_user) is slower into destinations off a cache line, for a C reader as for kring
 * (docs/benchmarks.md). A V8 ArrayBuffer's address is not ours to choose; an anonymous mapping's
 * is, page-aligned.
 */
export const NL_RING_BASE = 64 - NL_MMAP_HDRLEN;

/** An emulated ring's memory and the generic ring over it. */
export interface NlRingMemory {
  /** The mapping (kring's own: `native.krMunmap` detaches and unmaps it). */
  buffer: ArrayBuffer;
  dv: DataView;
  ring: Ring<typeof nlMmap>;
  /** Frame payload capacity: frame_size - NL_MMAP_HDRLEN. */
  capacity: number;
}

/**
 * Maps the memory of a ring of `geometry`, its first frame at {@link NL_RING_BASE}.
 * @throws TypeError / RangeError for a geometry the kernel would refuse
 * @throws RingError (`mmap`, `op`) when the memory cannot be mapped
 */
export function nlRingMemory(geometry: RingGeometry, pageSize: number, op: string): NlRingMemory {
  validateNlMmapGeometry(geometry, pageSize);
  const buffer = native.krMmap(-1, NL_RING_BASE + geometry.blockSize * geometry.blockCount, op);
  const offsets = frameOffsets(geometry);
  for (let i = 0; i < offsets.length; i++) offsets[i] += NL_RING_BASE;
  return { buffer, dv: new DataView(buffer), ring: new Ring(buffer, offsets, nlMmap, 'same-thread'), capacity: geometry.frameSize - NL_MMAP_HDRLEN };
}
