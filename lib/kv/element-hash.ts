// A 32-bit hash of an element's bytes (latin1 chars), the same on every
// replica: FNV-1a, then Murmur3's finalizer, because FNV alone leaves the low
// bits of short elements poorly mixed. Skip-list levels and scan order read it.

export function elementHash(element: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < element.length; i++) {
    h ^= element.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
