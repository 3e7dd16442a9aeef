// A list held compactly, as Redis's quicklist holds one: a sequence of
// chunks, each packing up to CHUNK_ITEMS_MAX elements' bytes into one Buffer
// (about CHUNK_BYTES_TARGET), with each element's end offset in a Uint32Array.
// A V8 string per element cost about 32 bytes for an 8-byte element; packed,
// it costs its bytes, 4 for its offset, and a share of its chunk's two objects.
//
// Push and pop at either end touch one chunk: O(1) amortized (a push or pop at
// the front moves that chunk's bytes, bounded by its size, as a listpack
// insert does). Reaching element i walks chunks from the nearer end or from
// the chunk last reached, so a run of neighbouring indexes (LRANGE, LPOS, a
// snapshot) costs O(1) each; a lone index costs O(n / chunk size), as LINDEX
// does in Redis. Elements are latin1 strings going in and out (values.ts).

const CHUNK_BYTES_TARGET = 4096
const CHUNK_ITEMS_MAX = 512
/** A fresh chunk starts small, so that a short list costs little, and doubles up to the targets. */
const CHUNK_BYTES_FIRST = 64
const CHUNK_ITEMS_FIRST = 8

class ListChunk {
  /** Element i is bytes [i === 0 ? 0 : ends[i - 1], ends[i]) of data. */
  data: Buffer
  ends: Uint32Array
  count = 0

  constructor(bytes: number, items: number) {
    this.data = Buffer.alloc(Math.max(CHUNK_BYTES_FIRST, bytes))
    this.ends = new Uint32Array(Math.max(CHUNK_ITEMS_FIRST, items))
  }

  get usedBytes(): number {
    return this.count === 0 ? 0 : (this.ends[this.count - 1] as number)
  }

  startOf(i: number): number {
    return i === 0 ? 0 : (this.ends[i - 1] as number)
  }

  get(i: number): string {
    return this.data.toString('latin1', this.startOf(i), this.ends[i])
  }

  /** Room for one more element of `bytes` without passing the targets (an empty chunk always has room). */
  accepts(bytes: number): boolean {
    return this.count === 0 || (this.count < CHUNK_ITEMS_MAX && this.usedBytes + bytes <= CHUNK_BYTES_TARGET)
  }

  append(value: string): void {
    const used = this.usedBytes
    this.reserve(used + value.length, this.count + 1)
    this.data.write(value, used, 'latin1')
    this.ends[this.count++] = used + value.length
  }

  prepend(value: string): void {
    const used = this.usedBytes
    const n = value.length
    this.reserve(used + n, this.count + 1)
    this.data.copy(this.data, n, 0, used)
    this.data.write(value, 0, 'latin1')
    for (let i = this.count; i > 0; i--) this.ends[i] = (this.ends[i - 1] as number) + n
    this.ends[0] = n
    this.count++
  }

  removeFirst(): string {
    const value = this.get(0)
    const n = value.length
    this.data.copy(this.data, 0, n, this.usedBytes)
    for (let i = 1; i < this.count; i++) this.ends[i - 1] = (this.ends[i] as number) - n
    this.count--
    return value
  }

  removeLast(): string {
    const value = this.get(this.count - 1)
    this.count--
    return value
  }

  /** Replaces element i; later elements' bytes move by the difference in length. */
  replaceAt(i: number, value: string): void {
    const start = this.startOf(i)
    const end = this.ends[i] as number
    const used = this.usedBytes
    const delta = value.length - (end - start)
    this.reserve(used + delta, this.count)
    this.data.copy(this.data, end + delta, end, used)
    this.data.write(value, start, 'latin1')
    for (let j = i; j < this.count; j++) this.ends[j] = (this.ends[j] as number) + delta
  }

  private reserve(bytes: number, items: number): void {
    if (bytes > this.data.length) {
      const data = Buffer.alloc(Math.max(bytes, Math.min(2 * this.data.length, CHUNK_BYTES_TARGET)))
      this.data.copy(data, 0, 0, this.usedBytes)
      this.data = data
    }
    if (items > this.ends.length) {
      const ends = new Uint32Array(Math.max(items, Math.min(2 * this.ends.length, CHUNK_ITEMS_MAX)))
      ends.set(this.ends.subarray(0, this.count))
      this.ends = ends
    }
  }
}

export class ListValue {
  readonly type = 'list'
  private chunks: ListChunk[] = []
  /** A chunk reached last and the index of its first element: where the next nearby index starts its walk. */
  private cachedChunk = 0
  private cachedFirst = 0
  size = 0
  itemsBytes = 0
  big = false

  at(index: number): string {
    const [chunk, offset] = this.locate(index)
    return chunk.get(offset)
  }

  setAt(index: number, value: string): void {
    const [chunk, offset] = this.locate(index)
    this.itemsBytes += value.length - (chunk.ends[offset] as number) + chunk.startOf(offset)
    chunk.replaceAt(offset, value)
  }

  pushBack(value: string): void {
    let last = this.chunks[this.chunks.length - 1]
    if (last === undefined || !last.accepts(value.length)) {
      last = new ListChunk(value.length, 1)
      this.chunks.push(last)
    }
    last.append(value)
    this.size++
    this.itemsBytes += 4 + value.length
  }

  pushFront(value: string): void {
    let first = this.chunks[0]
    if (first === undefined || !first.accepts(value.length)) {
      first = new ListChunk(value.length, 1)
      this.chunks.unshift(first)
    }
    first.prepend(value)
    this.size++
    this.itemsBytes += 4 + value.length
    this.forgetCache()
  }

  popFront(): string | undefined {
    const first = this.chunks[0]
    if (first === undefined) return undefined
    const value = first.removeFirst()
    if (first.count === 0) this.chunks.shift()
    this.size--
    this.itemsBytes -= 4 + value.length
    this.forgetCache()
    return value
  }

  popBack(): string | undefined {
    const last = this.chunks[this.chunks.length - 1]
    if (last === undefined) return undefined
    const value = last.removeLast()
    if (last.count === 0) {
      this.chunks.pop()
      if (this.cachedChunk >= this.chunks.length) this.forgetCache()
    }
    this.size--
    this.itemsBytes -= 4 + value.length
    return value
  }

  /**
   * Elements [start, end) as Buffers over one fresh copy of their bytes, for
   * LRANGE's reply: no string per element (each became a string and then a
   * Buffer again), and no view into a chunk that a later write moves.
   */
  bytesRange(start: number, end: number): Buffer[] {
    const out: Buffer[] = []
    if (start >= end) return out
    this.locate(start)
    const firstChunk = this.cachedChunk
    const firstIndex = start - this.cachedFirst
    let bytes = 0
    for (let left = end - start, c = firstChunk, i = firstIndex; left > 0; c++, i = 0) {
      const chunk = this.chunks[c] as ListChunk
      const take = Math.min(left, chunk.count - i)
      bytes += chunk.startOf(i + take) - chunk.startOf(i)
      left -= take
    }
    const copy = Buffer.allocUnsafe(bytes)
    let at = 0
    for (let left = end - start, c = firstChunk, i = firstIndex; left > 0; c++, i = 0) {
      const chunk = this.chunks[c] as ListChunk
      const take = Math.min(left, chunk.count - i)
      chunk.data.copy(copy, at, chunk.startOf(i), chunk.startOf(i + take))
      for (let k = i; k < i + take; k++) {
        const length = (chunk.ends[k] as number) - chunk.startOf(k)
        out.push(copy.subarray(at, at + length))
        at += length
      }
      left -= take
    }
    return out
  }

  toArray(start = 0, end = this.size): string[] {
    const out: string[] = []
    for (let i = start; i < end; i++) out.push(this.at(i))
    return out
  }

  /** Replaces the whole content (LREM, LINSERT, LTRIM: O(n), as in Redis). */
  replace(items: readonly string[]): void {
    this.chunks = []
    this.forgetCache()
    this.size = 0
    this.itemsBytes = 0
    for (const item of items) this.pushBack(item)
  }

  clone(): ListValue {
    const copy = new ListValue()
    copy.replace(this.toArray())
    copy.big = this.big
    return copy
  }

  private forgetCache(): void {
    this.cachedChunk = 0
    this.cachedFirst = 0
  }

  /** The chunk holding element `index` (0 ≤ index < size) and its offset there. */
  private locate(index: number): [ListChunk, number] {
    let c: number
    let first: number
    const fromCache = Math.abs(index - this.cachedFirst)
    if (index <= fromCache) {
      c = 0
      first = 0
    } else if (this.size - index < fromCache) {
      c = this.chunks.length - 1
      first = this.size - (this.chunks[c] as ListChunk).count
    } else {
      c = this.cachedChunk
      first = this.cachedFirst
    }
    while (index < first) {
      c--
      first -= (this.chunks[c] as ListChunk).count
    }
    while (index >= first + (this.chunks[c] as ListChunk).count) {
      first += (this.chunks[c] as ListChunk).count
      c++
    }
    this.cachedChunk = c
    this.cachedFirst = first
    return [this.chunks[c] as ListChunk, index - first]
  }
}
