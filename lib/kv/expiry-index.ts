// A min-heap of (deadline, key) so the leader can find expired keys without
// scanning the keyspace. Entries are never updated in place: a key whose
// deadline changes gets a new heap entry, and the stale one is dropped when it
// surfaces (the caller checks each candidate against the keyspace). Stale
// entries are bounded by a rebuild once they outnumber the live ones.
//
// The index is derived data: it is not part of snapshots and its layout may
// differ between replicas without affecting what they apply.

export interface ExpiryItem {
  readonly atMs: number
  readonly key: string
}

export class ExpiryIndex {
  // heap[0] holds the earliest deadline; children of i are 2i+1 and 2i+2.
  private heap: ExpiryItem[] = []

  get length(): number {
    return this.heap.length
  }

  push(atMs: number, key: string): void {
    const heap = this.heap
    heap.push({ atMs, key })
    let i = heap.length - 1
    const item = heap[i] as ExpiryItem
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent] as ExpiryItem
      if (p.atMs <= item.atMs) break
      heap[i] = p
      i = parent
    }
    heap[i] = item
  }

  peek(): ExpiryItem | undefined {
    return this.heap[0]
  }

  pop(): ExpiryItem | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    heap[0] = last
    this.siftDown(0)
    return top
  }

  /** Replaces the contents with `items` in O(n) (Floyd's heap construction). */
  rebuild(items: ExpiryItem[]): void {
    this.heap = items
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  clear(): void {
    this.heap = []
  }

  private siftDown(start: number): void {
    const heap = this.heap
    const n = heap.length
    let i = start
    const item = heap[i] as ExpiryItem
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      let child = left
      if (right < n && (heap[right] as ExpiryItem).atMs < (heap[left] as ExpiryItem).atMs) child = right
      const c = heap[child] as ExpiryItem
      if (c.atMs >= item.atMs) break
      heap[i] = c
      i = child
    }
    heap[i] = item
  }
}
