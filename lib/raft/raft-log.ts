// The in-memory view of one node's Raft log: the entries after the last
// snapshot, the commit and apply positions, and how far the log has been
// handed to storage and confirmed durable. Storage owns the bytes on disk;
// this class owns the positions the algorithm reasons about.
import { assert } from '../util/assert.js'
import type { Config, Entry, SnapshotMeta } from './types.js'

interface ConfigAt {
  readonly index: number
  readonly config: Config
}

export class RaftLog {
  /** The compaction point: entries at or below snapshot.index are gone. */
  private snapshotMeta: SnapshotMeta
  /** entries[i] has index snapshotMeta.index + 1 + i. */
  private entries: Entry[]
  /** Configurations in effect from each index on; configs[0] is the snapshot's. */
  private configs: ConfigAt[]

  commit: number
  /** Last index handed to the application for applying (applied once advanced). */
  applying: number
  applied: number
  /** Last index included in a Ready for persisting. */
  handedOutIndex: number
  /** Last index confirmed durable by advance(). */
  persistedIndex: number
  /** A snapshot received from the leader and not yet handed out for installing. */
  pendingSnapshot: SnapshotMeta | null = null

  constructor(snapshot: SnapshotMeta, entries: readonly Entry[], commit: number) {
    this.snapshotMeta = snapshot
    this.entries = [...entries]
    this.configs = [{ index: snapshot.index, config: snapshot.config }]
    for (const [i, e] of this.entries.entries()) {
      assert(e.index === snapshot.index + 1 + i, `log: entry ${e.index} out of place at offset ${i}`)
      if (e.kind === 'config') this.configs.push({ index: e.index, config: e.config })
    }
    assert(commit >= snapshot.index, `log: commit ${commit} below snapshot ${snapshot.index}`)
    assert(commit <= this.lastIndex(), `log: commit ${commit} beyond last index ${this.lastIndex()}`)
    this.commit = commit
    this.applying = snapshot.index
    this.applied = snapshot.index
    this.handedOutIndex = this.lastIndex()
    this.persistedIndex = this.lastIndex()
  }

  snapshot(): SnapshotMeta {
    return this.snapshotMeta
  }

  firstIndex(): number {
    return this.snapshotMeta.index + 1
  }

  lastIndex(): number {
    return this.snapshotMeta.index + this.entries.length
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1]
    return last === undefined ? this.snapshotMeta.term : last.term
  }

  /** The term at `index`, or undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotMeta.index) return this.snapshotMeta.term
    return this.entry(index)?.term
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotMeta.index) return undefined
    return this.entries[index - this.snapshotMeta.index - 1]
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /** Entries in [lo, hi), bounded by count and bytes (at least one entry when any). */
  slice(lo: number, hi: number, countMax = Infinity, bytesMax = Infinity): Entry[] {
    assert(lo >= this.firstIndex(), `log: slice from ${lo} below first index ${this.firstIndex()}`)
    const end = Math.min(hi, this.lastIndex() + 1, lo + countMax)
    const out: Entry[] = []
    let bytes = 0
    for (let i = lo; i < end; i++) {
      const e = this.entries[i - this.snapshotMeta.index - 1] as Entry
      bytes += entryBytes(e)
      if (out.length > 0 && bytes > bytesMax) break
      out.push(e)
    }
    return out
  }

  config(): Config {
    return (this.configs[this.configs.length - 1] as ConfigAt).config
  }

  configAt(index: number): Config {
    let found: Config | undefined
    for (const c of this.configs) {
      if (c.index <= index) found = c.config
      else break
    }
    assert(found !== undefined, `log: no configuration at index ${index}`)
    return found
  }

  /** Index of the newest config entry that is not yet committed, or 0. */
  uncommittedConfigIndex(): number {
    const last = this.configs[this.configs.length - 1] as ConfigAt
    return last.index > this.commit ? last.index : 0
  }

  /** Leader append: entries must continue the log exactly. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.lastIndex() + 1, `log: append of ${e.index} after ${this.lastIndex()}`)
      this.entries.push(e)
      if (e.kind === 'config') this.configs.push({ index: e.index, config: e.config })
    }
  }

  /**
   * Follower append (§5.3): skips entries we already have, truncates from the
   * first conflict, appends the rest. Never truncates committed entries.
   */
  appendFromLeader(entries: readonly Entry[]): void {
    let i = 0
    while (i < entries.length) {
      const e = entries[i] as Entry
      if (e.index > this.lastIndex()) break
      if (e.index <= this.snapshotMeta.index || this.term(e.index) === e.term) {
        i++
        continue
      }
      assert(e.index > this.commit, `log: conflict at committed index ${e.index} (commit ${this.commit})`)
      this.truncateFrom(e.index)
      break
    }
    this.append(entries.slice(i))
  }

  private truncateFrom(index: number): void {
    this.entries.length = index - this.snapshotMeta.index - 1
    while ((this.configs[this.configs.length - 1] as ConfigAt).index >= index) this.configs.pop()
    assert(this.configs.length > 0, 'log: truncated the snapshot configuration')
    this.handedOutIndex = Math.min(this.handedOutIndex, index - 1)
    this.persistedIndex = Math.min(this.persistedIndex, index - 1)
  }

  commitTo(index: number): boolean {
    if (index <= this.commit) return false
    assert(index <= this.lastIndex(), `log: commit ${index} beyond last index ${this.lastIndex()}`)
    this.commit = index
    return true
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term` — where two logs may
   * agree. Used on both sides of a rejected append for fast backtracking.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex())
    for (; i > this.snapshotMeta.index; i--) {
      if ((this.term(i) as number) <= term) return i
    }
    return i
  }

  /** Entries not yet handed to storage. */
  unpersisted(): Entry[] {
    if (this.handedOutIndex >= this.lastIndex()) return []
    return this.entries.slice(this.handedOutIndex - this.snapshotMeta.index)
  }

  /** After a Ready's entries were made durable: only entries that were not replaced since count. */
  markPersisted(entries: readonly Entry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] as Entry
      if (this.term(e.index) === e.term) {
        this.persistedIndex = Math.max(this.persistedIndex, e.index)
        return
      }
    }
  }

  /** Replaces the whole log with a snapshot from the leader. */
  restore(meta: SnapshotMeta): void {
    assert(meta.index > this.commit, `log: restoring snapshot ${meta.index} at or below commit ${this.commit}`)
    this.snapshotMeta = meta
    this.entries = []
    this.configs = [{ index: meta.index, config: meta.config }]
    this.commit = meta.index
    this.applying = meta.index
    this.applied = meta.index
    this.handedOutIndex = meta.index
    // Not durable until the Ready carrying the snapshot is advanced.
    this.persistedIndex = 0
    this.pendingSnapshot = meta
  }

  /** Drops entries ≤ index after the application saved a snapshot there. */
  compact(index: number): SnapshotMeta {
    assert(index <= this.applied, `log: compact ${index} beyond applied ${this.applied}`)
    assert(index > this.snapshotMeta.index, `log: compact ${index} not beyond snapshot ${this.snapshotMeta.index}`)
    const meta = this.snapshotMetaAt(index)
    this.entries = this.entries.slice(index - this.snapshotMeta.index)
    this.snapshotMeta = meta
    this.configs = [{ index, config: meta.config }, ...this.configs.filter((c) => c.index > index)]
    return meta
  }

  snapshotMetaAt(index: number): SnapshotMeta {
    const term = this.term(index)
    assert(term !== undefined, `log: no term at index ${index}`)
    return { index, term, config: this.configAt(index) }
  }

  /** Committed entries not yet handed out for applying, at most countMax. */
  nextCommitted(countMax: number): Entry[] {
    const hi = Math.min(this.commit, this.lastIndex())
    if (this.applying >= hi) return []
    return this.slice(this.applying + 1, hi + 1, countMax)
  }
}

export function entryBytes(e: Entry): number {
  // An estimate for flow control: payload plus a fixed overhead per entry.
  if (e.kind === 'normal') return e.data.length + 24
  if (e.kind === 'config') return 24 + e.config.members.length * 64
  return 24
}
