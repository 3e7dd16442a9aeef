// A string field's recent values, for decoders of peer messages. Node ids
// and incarnations repeat in nearly every message a node receives, so a
// string whose bytes equal a recent one's is that string again: compared in
// a loop instead of decoded by a call into C++, which a one-client request
// pays for with cold caches on every node (bench/README.md, section 45).
import type { AvroCursor } from './avro-bytes.js'

/** Strings up to this many bytes are compared with the field's recent ones before they are decoded. */
const REPEAT_BYTES_MAX = 32
/** Recent values kept per field: a leader hears from every follower in turn (clusters of up to 7). */
const REPEAT_SLOTS = 8

/** One string field's recent values and their bytes (one instance per field of a decoder). */
export class RecentStrings {
  private readonly bytes = Buffer.alloc(REPEAT_SLOTS * REPEAT_BYTES_MAX)
  private readonly lengths = new Int32Array(REPEAT_SLOTS).fill(-1)
  private readonly values: string[] = new Array<string>(REPEAT_SLOTS).fill('')
  private next = 0

  read(cursor: AvroCursor): string {
    const buf = cursor.buf
    const first = buf[cursor.offset]
    // Only a one-byte length (below 64) is looked up: ids and incarnations are short.
    if (first === undefined || (first & 1) !== 0 || first > REPEAT_BYTES_MAX * 2) return cursor.string()
    const length = first >> 1
    const start = cursor.offset + 1
    const end = start + length
    if (end > buf.length) return cursor.string()
    const bytes = this.bytes
    for (let slot = 0; slot < REPEAT_SLOTS; slot++) {
      if (this.lengths[slot] !== length) continue
      const at = slot * REPEAT_BYTES_MAX
      let i = 0
      while (i < length && buf[start + i] === bytes[at + i]) i++
      if (i === length) {
        cursor.offset = end
        return this.values[slot] as string
      }
    }
    const value = cursor.string()
    const slot = this.next
    this.next = (slot + 1) % REPEAT_SLOTS
    const at = slot * REPEAT_BYTES_MAX
    for (let i = 0; i < length; i++) bytes[at + i] = buf[start + i] as number
    this.lengths[slot] = length
    this.values[slot] = value
    return value
  }
}
