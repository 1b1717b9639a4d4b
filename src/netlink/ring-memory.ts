/**
 * Ring memory for the emulated netlink rings: one ArrayBuffer laid out with the block formula and
 * the generic ring over it, as the kernel's setsockopt + mmap would give.
 * @internal
 * @packageDocumentation
 */
import { NL_MMAP_HDRLEN } from '../constants';
import { nlMmap, validateNlMmapGeometry } from '../layouts/nl-mmap';
import { frameOffsets, RingGeometry } from '../ring/geometry';
import { Ring } from '../ring/ring';

/** An emulated ring's memory and the generic ring over it. */
export interface NlRingMemory {
  buffer: ArrayBuffer;
  dv: DataView;
  ring: Ring<typeof nlMmap>;
  /** Frame payload capacity: frame_size - NL_MMAP_HDRLEN. */
  capacity: number;
}

/** @throws TypeError / RangeError for a geometry the kernel would refuse */
export function nlRingMemory(geometry: RingGeometry, pageSize: number): NlRingMemory {
  validateNlMmapGeometry(geometry, pageSize);
  const buffer = new ArrayBuffer(geometry.blockSize * geometry.blockCount);
  return { buffer, dv: new DataView(buffer), ring: new Ring(buffer, frameOffsets(geometry), nlMmap), capacity: geometry.frameSize - NL_MMAP_HDRLEN };
}
