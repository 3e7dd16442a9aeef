// The in-memory view of one node's Raft log: the entries after the last
// snapshot, the commit and apply positions, and how far the log has been
// handed to storage and confirmed durable. Storage owns the bytes on disk;
// this class owns the positions the algorithm reasons about. The entries
// themselves live in an EntryRing (typed arrays and byte slabs, see
// entry-ring.ts); the Entry objects this class hands out are made on demand
// and short-lived, and their data are views into the ring's slabs.
//
// The log's memory has its own bound (LOG_CACHE_BYTES), independent of how
// often snapshots compact it (SNAPSHOT_ENTRIES): the snapshot interval is a
// trade between replay time, snapshot cost and how far behind a follower may
// fall before it needs a whole snapshot, while memory is what the machine
// can spare. Tying the two made a long interval cost its whole log in RAM.
// So the ring releases the data of entries that are applied and durable
// here once it holds more than the bound, and entries that a lagging
// follower or a new leader's catch-up still needs are read back through the
// EntrySource storage provides (the log file). Never what is not yet
// applied (the state machine is handed it from here) nor not yet durable
// (the file does not have it yet, and those entries must be the very
// objects appended: see `recent`), with one exception: a long log replayed
// at start-up comes in beyond the bound already released (ReleasedEntries),
// and its unapplied entries are read back to be applied.
import { assert, fail } from '../util/assert.js'
import { EntryRing, KIND_CONFIG, KIND_NOOP, KIND_NORMAL, SLAB_BYTES } from './entry-ring.js'
import type { Config, Entry, EntrySource, ReleasedEntries, SnapshotMeta } from './types.js'

/** Where released entries are read back from, and how many bytes of entry data the log holds before releasing. */
export interface LogCache {
  readonly source: EntrySource
  readonly bytesMax: number
}

/**
 * Slabs of an eighth of the bound, so it holds several and releases a small
 * share at a time; never above SLAB_BYTES, and not so small that an entry
 * rarely fits (a simulator's few-KiB bound).
 */
function slabBytesFor(cache: LogCache | null): number {
  if (cache === null) return SLAB_BYTES
  return Math.min(SLAB_BYTES, Math.max(64, Math.floor(cache.bytesMax / 8)))
}

interface ConfigAt {
  readonly index: number
  readonly config: Config
}

export class RaftLog {
  /** The compaction point: entries at or below snapshot.index are gone. */
  private snapshotMeta: SnapshotMeta
  /** The entries after the snapshot: entries.firstIndex is always snapshotMeta.index + 1. */
  private readonly entries: EntryRing
  /**
   * Configurations in effect from each index on; configs[0] is the
   * snapshot's, every later one is a config entry still in the log (the
   * ring keeps only its kind and term: the config itself lives here).
   */
  private configs: ConfigAt[]

  // Positions, each moved only by the method that checks its rule (see the
  // getters below); nothing outside writes them. Always
  // applied ≤ applying ≤ commit ≤ lastIndex(), and handedOutIndex,
  // persistedIndex ≤ lastIndex().
  private commitIndex: number
  /** Last index handed to the application for applying (applied once advanced). */
  private applyingIndex: number
  private appliedIndex: number
  /** Last index included in a Ready for persisting. */
  private handedOutIndex: number
  /** Last index confirmed durable by advance(). */
  private persistedIndexMax: number
  /**
   * The Entry objects appended for the log's tail not yet both durable and
   * handed out for applying: recent[i] has index recentFirst + i, and the
   * run always ends at lastIndex(). slice() and handOutUnpersisted() return
   * these very objects, because the codecs find encodings by object
   * identity (lib/codec/encoded-runs.ts, AppendCodec): every follower at the
   * same position gets one shared encoding, and the log write copies the
   * bytes a follower received or a leader sent. Kept until applying too, so
   * that the apply takes the same objects instead of a new object and view
   * per entry made from the ring (on a follower, every entry); dropped then,
   * so they stay young: normally what one fsync or one commit round covers,
   * never more than the uncommitted entries a leader accepts
   * (uncommittedEntriesMax) plus one apply batch (a leader that cannot
   * commit holds that many until check-quorum steps it down).
   */
  private recent: Entry[] = []
  private recentFirst: number
  /** A snapshot received from the leader and not yet handed out for installing. */
  private receivedSnapshot: SnapshotMeta | null = null

  /** null: every entry's data stays until compaction. */
  private readonly cache: LogCache | null

  /** `released`: stored entries after the snapshot, before `entries`, whose data only `cache.source` holds. */
  constructor(snapshot: SnapshotMeta, entries: readonly Entry[], commit: number, cache: LogCache | null = null, released: ReleasedEntries | null = null) {
    this.snapshotMeta = snapshot
    this.cache = cache
    this.entries = new EntryRing(snapshot.index + 1, slabBytesFor(cache))
    this.recentFirst = snapshot.index + 1
    this.configs = [{ index: snapshot.index, config: snapshot.config }]
    if (released !== null && released.terms.length > 0) this.pushReleased(released)
    const firstHeld = this.lastIndex() + 1
    for (const [i, e] of entries.entries()) {
      assert(e.index === firstHeld + i, `log: entry ${e.index} out of place at offset ${i}`)
      this.push(e)
    }
    assert(commit >= snapshot.index, `log: commit ${commit} below snapshot ${snapshot.index}`)
    assert(commit <= this.lastIndex(), `log: commit ${commit} beyond last index ${this.lastIndex()}`)
    this.commitIndex = commit
    this.applyingIndex = snapshot.index
    this.appliedIndex = snapshot.index
    this.handedOutIndex = this.lastIndex()
    this.persistedIndexMax = this.lastIndex()
    // Entries given at start are durable already.
    this.recent = []
    this.recentFirst = this.lastIndex() + 1
  }

  get commit(): number {
    return this.commitIndex
  }

  /** Last index handed out for applying (in a Ready or an interim). */
  get applying(): number {
    return this.applyingIndex
  }

  get applied(): number {
    return this.appliedIndex
  }

  /** Last index known durable on this node's disk. */
  get persistedIndex(): number {
    return this.persistedIndexMax
  }

  snapshot(): SnapshotMeta {
    return this.snapshotMeta
  }

  firstIndex(): number {
    return this.snapshotMeta.index + 1
  }

  lastIndex(): number {
    return this.snapshotMeta.index + this.entries.count
  }

  lastTerm(): number {
    return this.entries.count === 0 ? this.snapshotMeta.term : this.entries.termAt(this.lastIndex())
  }

  /** The term at `index`, or undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotMeta.index) return this.snapshotMeta.term
    if (index <= this.snapshotMeta.index || index > this.lastIndex()) return undefined
    return this.entries.termAt(index)
  }

  /** The entry at `index` (a new object each call; its data a view into the log's slabs), or undefined. */
  entry(index: number): Entry | undefined {
    if (index <= this.snapshotMeta.index || index > this.lastIndex()) return undefined
    return this.makeEntry(index)
  }

  private makeEntry(index: number): Entry {
    if (index >= this.recentFirst) {
      const kept = this.recent[index - this.recentFirst]
      if (kept !== undefined) return kept
    }
    const term = this.entries.termAt(index)
    switch (this.entries.kindAt(index)) {
      case KIND_NORMAL:
        return { index, term, kind: 'normal', data: this.entries.dataAt(index) }
      case KIND_NOOP:
        return { index, term, kind: 'noop' }
      case KIND_CONFIG:
        return { index, term, kind: 'config', config: this.configEntryAt(index) }
    }
  }

  /** The config carried by the config entry at `index` (rare: a linear search is fine). */
  private configEntryAt(index: number): Config {
    for (let i = this.configs.length - 1; i > 0; i--) {
      const c = this.configs[i] as ConfigAt
      if (c.index === index) return c.config
    }
    fail(`log: no config entry at index ${index}`)
  }

  /** The flow-control size of the entry at `index` (see entryBytes), without making it. */
  private bytesAt(index: number): number {
    switch (this.entries.kindAt(index)) {
      case KIND_NORMAL:
        return this.entries.dataBytesAt(index) + 24
      case KIND_NOOP:
        return 24
      case KIND_CONFIG:
        return 24 + this.configEntryAt(index).members.length * 64
    }
  }

  private push(e: Entry): void {
    if (this.recentFirst + this.recent.length === e.index) this.recent.push(e)
    if (e.kind === 'normal') this.entries.push(e.term, KIND_NORMAL, e.data)
    else if (e.kind === 'noop') this.entries.push(e.term, KIND_NOOP, null)
    else {
      this.entries.push(e.term, KIND_CONFIG, null)
      this.configs.push({ index: e.index, config: e.config })
    }
  }

  private pushReleased(released: ReleasedEntries): void {
    assert(this.cache !== null, 'log: released entries at start without a source to read them back')
    let configAt = 0
    for (let i = 0; i < released.terms.length; i++) {
      const index = this.snapshotMeta.index + 1 + i
      const kind = released.kinds[i]
      const term = released.terms[i] as number
      if (kind === KIND_NORMAL) this.entries.pushReleased(term, KIND_NORMAL, released.dataBytes[i] as number)
      else if (kind === KIND_NOOP) this.entries.push(term, KIND_NOOP, null)
      else if (kind === KIND_CONFIG) {
        const c = released.configs[configAt++]
        if (c === undefined || c.index !== index) fail(`log: released config entry ${index} has no config`)
        this.entries.push(term, KIND_CONFIG, null)
        this.configs.push({ index, config: c.config })
      } else fail(`log: released entry ${index} of unknown kind ${String(kind)}`)
    }
    assert(configAt === released.configs.length, `log: ${released.configs.length - configAt} released configs beyond their entries`)
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /**
   * Entries in [lo, hi), bounded by count and bytes (at least one entry when
   * any). Entries whose data was released are read back from the cache's
   * source; the slice ends before the first one it cannot supply, so it is
   * empty when the source cannot supply `lo` (the caller sends a snapshot).
   */
  slice(lo: number, hi: number, countMax = Infinity, bytesMax = Infinity): Entry[] {
    // Guarded asserts on the paths every entry takes: an eager message would build
    // (and the number-string cache keep) strings for each call.
    if (lo < this.firstIndex()) fail(`log: slice from ${lo} below first index ${this.firstIndex()}`)
    const end = Math.min(hi, this.lastIndex() + 1, lo + countMax)
    const out: Entry[] = []
    let bytes = 0
    for (let i = lo; i < end; i++) {
      const before = bytes
      bytes += this.bytesAt(i)
      if (out.length > 0 && bytes > bytesMax) break
      if (this.entries.hasDataAt(i)) {
        out.push(this.makeEntry(i))
        continue
      }
      // A run of released entries, within the same bounds: one read.
      let runEnd = i + 1
      while (runEnd < end && !this.entries.hasDataAt(runEnd) && bytes + this.bytesAt(runEnd) <= bytesMax) bytes += this.bytesAt(runEnd++)
      const read = this.readBack(i, runEnd, bytesMax - before)
      for (const e of read) out.push(e)
      if (i + read.length < runEnd) return out
      i = runEnd - 1
    }
    return out
  }

  /** Released entries [lo, hi) from the source, checked against the terms the log holds; fewer when it cannot supply them. */
  private readBack(lo: number, hi: number, bytesMax: number): readonly Entry[] {
    assert(this.cache !== null, `log: entry ${lo} released without a source to read it back`)
    const read = this.cache.source.entries(lo, hi, bytesMax) ?? []
    assert(read.length <= hi - lo, `log: the entry source returned ${read.length} entries for [${lo}, ${hi})`)
    for (const [k, e] of read.entries()) {
      // The source holds what this node stored durably, and the log only releases durable entries: the same ones.
      if (e.index !== lo + k || e.term !== this.entries.termAt(e.index)) fail(`log: the entry source returned ${e.index}/${e.term} for ${lo + k}/${this.entries.termAt(lo + k)}`)
    }
    return read
  }

  /** Lets the slabs released so far be reused: every entry handed out before now is done with (RaftNode.advance). */
  recycleReleasedData(): void {
    this.entries.recycleReleased()
  }

  /** Lets the spare data slabs go (a node at rest gives back what a write burst left: lib/app/idle-collector.ts). */
  dropSpareSlabs(): void {
    this.entries.dropSpareSlabs()
  }

  /** Releases the data of applied, durable entries while the log holds more than its cache bound. */
  private releaseCached(): void {
    if (this.cache === null) return
    this.entries.releaseDataThrough(Math.min(this.appliedIndex, this.persistedIndexMax), this.cache.bytesMax)
  }

  /** Bytes of entry data held in memory (slabs), for tests and status. */
  dataBytesHeld(): number {
    return this.entries.dataBytesHeld()
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
      if (e.index !== this.lastIndex() + 1) fail(`log: append of ${e.index} after ${this.lastIndex()}`)
      this.push(e)
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
    this.entries.truncateFrom(index)
    if (index >= this.recentFirst) this.recent.length = Math.min(this.recent.length, index - this.recentFirst)
    else {
      this.recent = []
      this.recentFirst = index
    }
    while ((this.configs[this.configs.length - 1] as ConfigAt).index >= index) this.configs.pop()
    assert(this.configs.length > 0, 'log: truncated the snapshot configuration')
    this.handedOutIndex = Math.min(this.handedOutIndex, index - 1)
    this.persistedIndexMax = Math.min(this.persistedIndexMax, index - 1)
  }

  commitTo(index: number): boolean {
    if (index <= this.commitIndex) return false
    if (index > this.lastIndex()) fail(`log: commit ${index} beyond last index ${this.lastIndex()}`)
    this.commitIndex = index
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

  /** Whether entries wait to be handed to storage. */
  hasUnhandedEntries(): boolean {
    return this.handedOutIndex < this.lastIndex()
  }

  /** Entries not yet handed to storage, from now on counted as handed out (in a Ready). */
  handOutUnpersisted(): Entry[] {
    if (this.handedOutIndex >= this.lastIndex()) return []
    const out = this.slice(this.handedOutIndex + 1, this.lastIndex() + 1)
    this.handedOutIndex = this.lastIndex()
    return out
  }

  /** After a Ready's entries were made durable: only entries that were not replaced since count. */
  markPersisted(entries: readonly Entry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] as Entry
      if (this.term(e.index) === e.term) {
        this.persistedIndexMax = Math.max(this.persistedIndexMax, e.index)
        this.forgetSettled()
        this.releaseCached()
        return
      }
    }
  }

  /** Stops keeping the appended objects that are durable and handed out for applying. */
  private forgetSettled(): void {
    this.forgetRecentTo(Math.min(this.persistedIndexMax, this.applyingIndex))
  }

  /** Stops keeping the appended objects up to `index` (settled, or compacted away). */
  private forgetRecentTo(index: number): void {
    if (index < this.recentFirst) return
    const n = Math.min(index - this.recentFirst + 1, this.recent.length)
    this.recent.splice(0, n)
    this.recentFirst += n
  }

  /** After a Ready's snapshot was installed and made durable. */
  markSnapshotPersisted(index: number): void {
    assert(index <= this.lastIndex(), `log: snapshot ${index} persisted beyond last index ${this.lastIndex()}`)
    this.persistedIndexMax = Math.max(this.persistedIndexMax, index)
    this.forgetRecentTo(this.persistedIndexMax)
  }

  /** Whether a snapshot from the leader waits to be handed out for installing. */
  hasReceivedSnapshot(): boolean {
    return this.receivedSnapshot !== null
  }

  /** The snapshot from the leader to install, handed out once (null when none). */
  takeReceivedSnapshot(): SnapshotMeta | null {
    const s = this.receivedSnapshot
    this.receivedSnapshot = null
    return s
  }

  /** Replaces the whole log with a snapshot from the leader. */
  restore(meta: SnapshotMeta): void {
    assert(meta.index > this.commit, `log: restoring snapshot ${meta.index} at or below commit ${this.commit}`)
    this.snapshotMeta = meta
    this.entries.reset(meta.index + 1)
    this.recent = []
    this.recentFirst = meta.index + 1
    this.configs = [{ index: meta.index, config: meta.config }]
    this.commitIndex = meta.index
    this.applyingIndex = meta.index
    this.appliedIndex = meta.index
    this.handedOutIndex = meta.index
    // Not durable until the Ready carrying the snapshot is advanced.
    this.persistedIndexMax = 0
    this.receivedSnapshot = meta
  }

  /** Drops entries ≤ index after the application saved a snapshot there. */
  compact(index: number): SnapshotMeta {
    assert(index <= this.appliedIndex, `log: compact ${index} beyond applied ${this.appliedIndex}`)
    assert(index > this.snapshotMeta.index, `log: compact ${index} not beyond snapshot ${this.snapshotMeta.index}`)
    const meta = this.snapshotMetaAt(index)
    this.entries.dropTo(index)
    this.forgetRecentTo(index)
    this.snapshotMeta = meta
    this.configs = [{ index, config: meta.config }, ...this.configs.filter((c) => c.index > index)]
    return meta
  }

  snapshotMetaAt(index: number): SnapshotMeta {
    const term = this.term(index)
    assert(term !== undefined, `log: no term at index ${index}`)
    return { index, term, config: this.configAt(index) }
  }

  /** Whether committed entries wait to be handed out for applying. */
  hasUnhandedCommitted(): boolean {
    return this.applyingIndex < Math.min(this.commitIndex, this.lastIndex())
  }

  /** Committed entries not yet handed out for applying, at most countMax; from now on counted as applying. */
  handOutCommitted(countMax: number): Entry[] {
    const hi = Math.min(this.commitIndex, this.lastIndex())
    if (this.applyingIndex >= hi) return []
    const out = this.slice(this.applyingIndex + 1, hi + 1, countMax)
    // A committed entry this node stored and cannot read back cannot be skipped.
    if (out.length === 0) fail(`log: committed entry ${this.applyingIndex + 1} could not be read back from storage`)
    const last = out[out.length - 1]
    if (last !== undefined) this.applyingIndex = last.index
    this.forgetSettled()
    return out
  }

  /** The application applied every entry up to `index` (etcd's appliedTo): only what was handed out. */
  appliedTo(index: number): void {
    if (index > this.applyingIndex) fail(`log: applied ${index} beyond the ${this.applyingIndex} handed out`)
    if (index > this.appliedIndex) this.appliedIndex = index
    this.releaseCached()
  }
}

export function entryBytes(e: Entry): number {
  // An estimate for flow control: payload plus a fixed overhead per entry.
  if (e.kind === 'normal') return e.data.length + 24
  if (e.kind === 'config') return 24 + e.config.members.length * 64
  return 24
}
