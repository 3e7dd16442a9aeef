// Short copies into and out of a slab through its DataView, without
// Buffer#copy. On Node 20, Buffer#copy from an offset asks the runtime for
// the source's ArrayBuffer and makes a Uint8Array view of the range (an
// object for the young generation) before it copies: ~90 ns a call
// whatever the length. A slab's DataView is made once, with the slab;
// moving four-byte words through it allocates nothing (bench/README
// section 39). Every SET's value is copied this way into the keyspace's
// arena and the watch history's on each node, and out again by every
// snapshot.
//
// Both ranges are checked before a byte moves: a Buffer's index does not
// check (a load past its end reads undefined, a store is dropped), and a
// DataView would throw only once part of the copy was written.

/** Longer copies go to Buffer#copy: a word loop through DataViews and Buffer#copy cost the same at 256 bytes here. */
export const WORD_COPY_BYTES_MAX = 192

function checkRange(bufferBytes: number, start: number, length: number): void {
  if (!(start >= 0 && length >= 0 && start + length <= bufferBytes)) {
    throw new RangeError(`byte copy: ${length} bytes at ${start} of a ${bufferBytes}-byte buffer`)
  }
}

/** Copies `source[sourceStart, sourceStart + length)` into `target` (a slab's view) at `targetAt`. */
export function copyIntoView(source: Uint8Array, sourceStart: number, length: number, target: DataView, targetAt: number): void {
  checkRange(source.length, sourceStart, length)
  checkRange(target.byteLength, targetAt, length)
  let i = 0
  for (const words = length - 3; i < words; i += 4) {
    const at = sourceStart + i
    const word = (source[at] as number) | ((source[at + 1] as number) << 8) | ((source[at + 2] as number) << 16) | ((source[at + 3] as number) << 24)
    target.setInt32(targetAt + i, word, true)
  }
  for (; i < length; i++) target.setUint8(targetAt + i, source[sourceStart + i] as number)
}

/** Copies `length` bytes of `source` (a slab's view) at `sourceAt` to `target` at `targetStart`. */
export function copyFromView(source: DataView, sourceAt: number, length: number, target: Uint8Array, targetStart: number): void {
  checkRange(source.byteLength, sourceAt, length)
  checkRange(target.length, targetStart, length)
  let i = 0
  for (const words = length - 3; i < words; i += 4) {
    const word = source.getInt32(sourceAt + i, true)
    const at = targetStart + i
    target[at] = word
    target[at + 1] = word >>> 8
    target[at + 2] = word >>> 16
    target[at + 3] = word >>> 24
  }
  for (; i < length; i++) target[targetStart + i] = source.getUint8(sourceAt + i)
}

/**
 * Copies `length` bytes of `source` at `sourceAt` to `target` at `targetAt`,
 * a DataView to a DataView: four bytes a load and a store, where
 * copyFromView stores each byte of the word on its own (a third less time for
 * a 100-byte value here). For a target written over and over, such as a
 * snapshot's reused chunk, whose view is made once.
 */
export function copyViewToView(source: DataView, sourceAt: number, length: number, target: DataView, targetAt: number): void {
  checkRange(source.byteLength, sourceAt, length)
  checkRange(target.byteLength, targetAt, length)
  let i = 0
  for (const words = length - 3; i < words; i += 4) target.setInt32(targetAt + i, source.getInt32(sourceAt + i, true), true)
  for (; i < length; i++) target.setUint8(targetAt + i, source.getUint8(sourceAt + i))
}
