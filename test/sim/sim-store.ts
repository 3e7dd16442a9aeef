// What one simulated node has made durable: hard state, the latest snapshot
// (meta and state-machine bytes) and the log after it. "Persist" in the
// simulator is a copy into this object; a crash keeps exactly this and loses
// everything else, so a restart rebuilds the RaftNode from here.
import { assert, fail } from '../../lib/util/assert.js'
import type { Entry, HardState, InitialState, SnapshotMeta } from '../../lib/raft/types.js'
import { KvModel } from './sim-kv.js'

export interface StoredSnapshot {
  readonly meta: SnapshotMeta
  readonly bytes: Buffer
}

const emptySnapshot: StoredSnapshot = Object.freeze({
  meta: { index: 0, term: 0, config: { members: [] } },
  bytes: new KvModel().serialize(),
})

/**
 * The entry with bytes of its own, as a disk or a wire gives them back: the
 * core's log reuses a slab's bytes once it is released (lib/raft/entry-ring.ts),
 * so what outlives a Ready must not be a view into it.
 */
export function ownEntry(e: Entry): Entry {
  return e.kind === 'normal' ? { ...e, data: Buffer.from(e.data) } : e
}

export class DurableStore {
  hardState: HardState = { term: 0, vote: '', commit: 0 }
  snapshot: StoredSnapshot = emptySnapshot
  /** entries[i] has index snapshot.meta.index + 1 + i. */
  entries: Entry[] = []

  static fromInitial(initial: InitialState): DurableStore {
    const s = new DurableStore()
    assert(initial.snapshot.index === 0, 'sim-store: initial states with a snapshot need its bytes')
    s.hardState = initial.hardState
    s.entries = [...initial.entries]
    s.checkContiguous()
    return s
  }

  firstIndex(): number {
    return this.snapshot.meta.index + 1
  }

  lastIndex(): number {
    return this.snapshot.meta.index + this.entries.length
  }

  /** The term at `index`: the snapshot's at its index, undefined when compacted or beyond the end. */
  termAt(index: number): number | undefined {
    if (index === this.snapshot.meta.index) return this.snapshot.meta.term
    return this.entryAt(index)?.term
  }

  entryAt(index: number): Entry | undefined {
    if (index <= this.snapshot.meta.index) return undefined
    return this.entries[index - this.snapshot.meta.index - 1]
  }

  /** Entries [lo, hi) as stored, for the core's entry source (LOG_CACHE_BYTES); null when it holds none from lo. */
  durableRange(lo: number, hi: number): Entry[] | null {
    if (lo <= this.snapshot.meta.index || lo > this.lastIndex()) return null
    const base = this.snapshot.meta.index + 1
    return this.entries.slice(lo - base, Math.min(hi, this.lastIndex() + 1) - base)
  }

  /** Appends, first truncating any suffix from entries[0].index on (a conflict the core resolved). */
  append(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    assert(first.index > this.snapshot.meta.index, `sim-store: append at ${first.index} at or below snapshot ${this.snapshot.meta.index}`)
    assert(first.index <= this.lastIndex() + 1, `sim-store: append at ${first.index} leaves a gap after ${this.lastIndex()}`)
    this.entries.length = first.index - this.snapshot.meta.index - 1
    let expected = first.index
    for (const e of entries) {
      if (e.index !== expected) fail(`sim-store: entry ${e.index} appended where ${expected} belongs`)
      this.entries.push(ownEntry(e))
      expected++
    }
  }

  /** A snapshot from the leader replaces the whole log (the core's restore does the same). */
  installSnapshot(snap: StoredSnapshot): void {
    this.snapshot = snap
    this.entries = []
  }

  /** The node saved a snapshot of its own state machine at snap.meta.index and compacts up to it. */
  saveSnapshotAndCompact(snap: StoredSnapshot): void {
    const index = snap.meta.index
    assert(index > this.snapshot.meta.index, `sim-store: snapshot ${index} not beyond ${this.snapshot.meta.index}`)
    assert(index <= this.lastIndex(), `sim-store: snapshot ${index} beyond last index ${this.lastIndex()}`)
    assert(this.termAt(index) === snap.meta.term, `sim-store: snapshot term ${snap.meta.term} differs from the log's at ${index}`)
    this.entries = this.entries.slice(index - this.snapshot.meta.index)
    this.snapshot = snap
  }

  initialState(): InitialState {
    return { hardState: this.hardState, snapshot: this.snapshot.meta, entries: [...this.entries] }
  }

  private checkContiguous(): void {
    const base = this.snapshot.meta.index
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i] as Entry
      assert(e.index === base + 1 + i, `sim-store: entry ${e.index} stored at offset ${i} after ${base}`)
    }
  }
}
