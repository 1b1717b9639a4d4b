/**
 * Frame addressing, the same for every ring: where slot i lives in the mapping (frames never
 * straddle blocks), how many bytes the mapping is, and whether this Node can hold it as one
 * ArrayBuffer.
 * @packageDocumentation
 */
import { constants as bufferConstants } from 'node:buffer';
import type { RingGeometry } from '../layouts/types';

const MAX_LENGTH = bufferConstants.MAX_LENGTH;

/**
 * The mapping is one ArrayBuffer, and the running Node refuses ArrayBuffers longer than
 * `buffer.constants.MAX_LENGTH` (4 GiB on Node 20).
 * @throws RangeError naming the limit
 */
export function checkMappable(bytes: number, what = 'a ring'): void {
  if (bytes > MAX_LENGTH) {
    throw new RangeError(`${what} of ${bytes} bytes is larger than the largest ArrayBuffer this Node allows (buffer.constants.MAX_LENGTH = ${MAX_LENGTH})`);
  }
}

/** Total bytes the ring maps: blockSize × blockCount. */
export function ringBytes(g: RingGeometry): number {
  return g.blockSize * g.blockCount;
}

/**
 * Byte offset of frame `index` in the mapping. Frames never straddle blocks: when the block size
 * is not a multiple of the frame size, each block ends with a gap of
 * `blockSize - framesPerBlock × frameSize` bytes that holds no frame.
 */
export function frameOffset(g: RingGeometry, index: number): number {
  const framesPerBlock = Math.floor(g.blockSize / g.frameSize);
  const block = Math.floor(index / framesPerBlock);
  return block * g.blockSize + (index - block * framesPerBlock) * g.frameSize;
}

/** Byte offsets of every frame slot (V1/V2), in ring order. */
export function frameOffsets(g: RingGeometry): Float64Array {
  const out = new Float64Array(g.frameCount);
  for (let i = 0; i < g.frameCount; i++) out[i] = frameOffset(g, i);
  return out;
}

/** Byte offsets of every block (V3 slots), in ring order. */
export function blockOffsets(g: RingGeometry): Float64Array {
  const out = new Float64Array(g.blockCount);
  for (let i = 0; i < g.blockCount; i++) out[i] = i * g.blockSize;
  return out;
}
