// The keyspace's SCAN index: every key in one of 2^16 buckets by a hash of
// its bytes, the same on every node, so a SCAN cursor (a bucket number) works
// on any node and every key present for a whole iteration is returned at
// least once, as Redis promises.
//
// A bucket holds about keys / 65,536 keys (15 at 1M keys), so it is a plain
// array while it stays small: a Set of 15 strings costs ~2.5× the bytes of an
// array of them (1M keys: 32 MiB of heap as Sets, ~7 as arrays). A bucket past
// BUCKET_ARRAY_KEYS_MAX becomes a Set, so keys crafted to share one bucket
// (the hash is unseeded: it must agree across nodes) make no delete a long
// search.

/** SCAN walks keys bucket by bucket; the cursor is the next bucket's number. */
export const SCAN_BUCKET_BITS = 16
export const SCAN_BUCKET_COUNT = 1 << SCAN_BUCKET_BITS
/** Past this many keys a bucket is a Set (O(1) delete) instead of an array (indexOf). */
export const BUCKET_ARRAY_KEYS_MAX = 64

/** FNV-1a over the key's bytes, top bits: the same on every node, so a SCAN cursor works anywhere. */
export function scanBucketOf(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> (32 - SCAN_BUCKET_BITS)
}

type Bucket = string[] | Set<string>

export class KeyBuckets {
  /** A slot is undefined while no key lands in it. */
  private readonly buckets: (Bucket | undefined)[] = new Array<Bucket | undefined>(SCAN_BUCKET_COUNT)

  /**
   * The index of a table's keys, in its order. Arrays are sized exactly
   * (built by pushes they would carry ~40 % spare slots), which takes two
   * walks of the keys: the table must not change between them.
   */
  static of(table: { keys(): Iterable<string>; readonly size: number }): KeyBuckets {
    const index = new KeyBuckets()
    const count = table.size
    const bucketOfKey = new Uint16Array(count)
    const sizes = new Uint32Array(SCAN_BUCKET_COUNT)
    let i = 0
    for (const key of table.keys()) {
      const b = scanBucketOf(key)
      bucketOfKey[i++] = b
      sizes[b] = (sizes[b] as number) + 1
    }
    if (i !== count) throw new Error(`KeyBuckets.of: ${i} keys, expected ${count}`)
    const filled = new Uint32Array(SCAN_BUCKET_COUNT)
    i = 0
    for (const key of table.keys()) {
      const b = bucketOfKey[i++] as number
      const size = sizes[b] as number
      let bucket = index.buckets[b]
      if (bucket === undefined) {
        bucket = size > BUCKET_ARRAY_KEYS_MAX ? new Set<string>() : new Array<string>(size)
        index.buckets[b] = bucket
      }
      if (Array.isArray(bucket)) {
        const at = filled[b] as number
        bucket[at] = key
        filled[b] = at + 1
      } else bucket.add(key)
    }
    return index
  }

  /** The keys of bucket `b` (live: callers must not keep it across writes), or undefined when it is empty. */
  bucket(b: number): Iterable<string> | undefined {
    return this.buckets[b]
  }

  /** Adds a key not yet present. */
  add(key: string): void {
    const b = scanBucketOf(key)
    const bucket = this.buckets[b]
    if (bucket === undefined) this.buckets[b] = [key]
    else if (!Array.isArray(bucket)) bucket.add(key)
    else if (bucket.length < BUCKET_ARRAY_KEYS_MAX) bucket.push(key)
    else {
      const set = new Set(bucket)
      set.add(key)
      this.buckets[b] = set
    }
  }

  /** Removes a key if present. */
  delete(key: string): void {
    const b = scanBucketOf(key)
    const bucket = this.buckets[b]
    if (bucket === undefined) return
    let size: number
    if (Array.isArray(bucket)) {
      const at = bucket.indexOf(key)
      if (at < 0) return
      bucket[at] = bucket[bucket.length - 1] as string
      bucket.pop()
      size = bucket.length
    } else {
      bucket.delete(key)
      size = bucket.size
    }
    if (size === 0) this.buckets[b] = undefined
  }

  /** A key of bucket `b` chosen by `int` (a random integer below its argument), or undefined when the bucket is empty. */
  pick(b: number, int: (n: number) => number): string | undefined {
    const bucket = this.buckets[b]
    if (bucket === undefined) return undefined
    if (Array.isArray(bucket)) return bucket[int(bucket.length)]
    // Only a bucket crafted past the array bound is a Set: walking it is bounded by what was crafted.
    let index = int(bucket.size)
    for (const key of bucket) if (index-- === 0) return key
    return undefined
  }

  /** Keys in each bucket's structure, for tests: [keys in arrays, keys in Sets]. */
  shape(): { arrayKeys: number; setKeys: number } {
    let arrayKeys = 0
    let setKeys = 0
    for (const bucket of this.buckets) {
      if (bucket === undefined) continue
      if (Array.isArray(bucket)) arrayKeys += bucket.length
      else setKeys += bucket.size
    }
    return { arrayKeys, setKeys }
  }
}
