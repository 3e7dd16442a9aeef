// The index that pages HSCAN, SSCAN and ZSCAN over a large collection in
// O(COUNT) per page (amortized), as Redis pages its hash table.
//
// Every element has a 32-bit hash of its bytes, the same on every replica. A
// scan visits elements in ascending hash order, and its cursor is the hash to
// go on from: a page returns elements whose hash is at least the cursor, and
// the next cursor is the hash of the first element it left out (0: done). A
// page never splits a run of equal hashes. So an element present for the
// whole scan is returned exactly once, whatever is added or removed meanwhile
// (Redis promises "at least once"); one added or removed during the scan may
// or may not be returned. The cursor depends on the content alone, so it works
// on any node.
//
// Elements are kept in 2^bits buckets by the top bits of their hash (about
// one to two elements a bucket), each an unsorted array: a page sorts the few
// elements of each bucket it visits. The table doubles or halves as the
// collection grows or shrinks, which moves no cursor (cursors are hashes, not
// bucket numbers). It is derived data, built on a collection's first scan and
// kept up to date from then on; clones and snapshots leave it out.

import { elementHash } from './element-hash.js'

const BUCKET_BITS_MIN = 4
const HASH_SPACE = 2 ** 32

export interface ScanPage {
  readonly elements: string[]
  /** The cursor to go on from; 0 when the scan is complete. */
  readonly next: number
  /** Buckets visited: the page's work, past the elements themselves. */
  readonly bucketsVisited: number
}

export class ScanIndex {
  private bits = BUCKET_BITS_MIN
  /** buckets[b] holds the elements whose hash's top `bits` bits are b. */
  private buckets: (string[] | undefined)[] = new Array<string[] | undefined>(1 << BUCKET_BITS_MIN)
  private count = 0

  constructor(elements: Iterable<string>) {
    for (const element of elements) this.add(element)
  }

  /** Adds an element not yet present. */
  add(element: string): void {
    const b = elementHash(element) >>> (32 - this.bits)
    const bucket = this.buckets[b]
    if (bucket === undefined) this.buckets[b] = [element]
    else bucket.push(element)
    this.count++
    if (this.count > 2 * this.buckets.length) this.resize(this.bits + 1)
  }

  /** Removes an element that is present. */
  delete(element: string): void {
    const b = elementHash(element) >>> (32 - this.bits)
    const bucket = this.buckets[b]
    const at = bucket === undefined ? -1 : bucket.indexOf(element)
    if (bucket === undefined || at < 0) return
    bucket[at] = bucket[bucket.length - 1] as string
    bucket.pop()
    if (bucket.length === 0) this.buckets[b] = undefined
    this.count--
    if (this.bits > BUCKET_BITS_MIN && this.count * 8 < this.buckets.length) this.resize(this.bits - 1)
  }

  /** At least `count` elements from `cursor` on, unless fewer remain (see the module comment). */
  page(cursor: number, count: number): ScanPage {
    const elements: string[] = []
    if (cursor >= HASH_SPACE) return { elements, next: 0, bucketsVisited: 0 }
    const shift = 32 - this.bits
    const span = 2 ** shift
    let lastHash = -1
    let visited = 0
    for (let b = Math.floor(cursor / span); b < this.buckets.length; b++) {
      visited++
      const bucket = this.buckets[b]
      if (bucket !== undefined) {
        const items = bucket.map((e) => [elementHash(e), e] as const).filter(([h]) => h >= cursor)
        items.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0))
        for (const [h, e] of items) {
          if (elements.length >= count && h !== lastHash) return { elements, next: h, bucketsVisited: visited }
          elements.push(e)
          lastHash = h
        }
      }
      if (elements.length >= count) return { elements, next: b + 1 < this.buckets.length ? (b + 1) * span : 0, bucketsVisited: visited }
    }
    return { elements, next: 0, bucketsVisited: visited }
  }

  private resize(bits: number): void {
    const all: string[] = []
    for (const bucket of this.buckets) if (bucket !== undefined) for (const e of bucket) all.push(e)
    this.bits = bits
    this.buckets = new Array<string[] | undefined>(1 << bits)
    this.count = 0
    for (const e of all) this.add(e)
  }
}
