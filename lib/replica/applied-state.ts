// The state machine and where it stands against the log: the last entry
// applied, the last snapshot taken or installed, and the last entry this
// node's own storage holds durably. The Ready loop, snapshot taking and
// snapshot installing all move these; the rules that tie them together are
// kept here, next to the fields.
import type { KvApplyResult } from '../kv/command.js'
import type { KvStateMachine } from '../kv/state-machine.js'
import { initialLastIndex, type Entry, type InitialState, type SnapshotMeta } from '../raft/types.js'
import { fail } from '../util/assert.js'

export class AppliedState {
  private kvNow: KvStateMachine
  /** The last entry applied to kvNow: entries are applied one by one, in index order. */
  private appliedIndexNow: number
  private snapshotIndexNow: number
  /**
   * The last log index this node's own storage holds durably. Entries may be
   * applied before they are stored here (they are durable on a quorum), but a
   * snapshot must not get ahead of the local log: recovery and compaction
   * both assume the snapshot's index is in the stored log.
   */
  private storedIndexNow: number
  /** Bytes of entry data applied since the last snapshot: the second snapshot trigger (SNAPSHOT_LOG_BYTES). */
  private bytesSinceSnapshotNow = 0
  /** Sees every entry this node applies, in order (the simulator's state-machine-safety check); null in production. */
  observer: ((e: Entry) => void) | null = null

  constructor(kv: KvStateMachine, initial: InitialState) {
    this.kvNow = kv
    this.appliedIndexNow = initial.snapshot.index
    this.snapshotIndexNow = initial.snapshot.index
    this.storedIndexNow = initialLastIndex(initial)
  }

  get kv(): KvStateMachine {
    return this.kvNow
  }

  get applied(): number {
    return this.appliedIndexNow
  }

  get snapshotIndex(): number {
    return this.snapshotIndexNow
  }

  get bytesSinceSnapshot(): number {
    return this.bytesSinceSnapshotNow
  }

  /** Applies the next committed entry; the state machine's result for a normal entry, else null. */
  apply(e: Entry): KvApplyResult | null {
    if (e.index !== this.appliedIndexNow + 1) fail(`apply: entry ${e.index} after applied ${this.appliedIndexNow}`)
    let result: KvApplyResult | null = null
    if (e.kind === 'normal') {
      result = this.kvNow.apply(e.index, e.data)
      this.bytesSinceSnapshotNow += e.data.length
    } else {
      this.kvNow.skip(e.index)
    }
    this.appliedIndexNow = e.index
    this.observer?.(e)
    return result
  }

  /**
   * A batch is about to be written. One that replaces a conflicting suffix
   * makes that suffix no longer this node's log at once: until the batch is
   * durable, a snapshot must not count on it (issue 15, finding 3: a
   * snapshot of entries applied from the new leader, over stored entries of
   * the old one).
   */
  batchWriting(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first !== undefined && first.index <= this.storedIndexNow) this.storedIndexNow = first.index - 1
  }

  /** The batch's entries are durable in local storage. */
  batchStored(entries: readonly Entry[]): void {
    if (entries.length > 0) this.storedIndexNow = (entries[entries.length - 1] as Entry).index
  }

  /**
   * Whether the state machine, which can only be captured at `applied`, may
   * be snapshotted now: it is past the last snapshot, and the local log holds
   * that index too (else wait for the next batch's fsync).
   */
  snapshotDue(): boolean {
    return this.appliedIndexNow > this.snapshotIndexNow && this.appliedIndexNow <= this.storedIndexNow
  }

  /** A snapshot at `index` was saved; `bytesCovered` of the applied bytes are in it. */
  snapshotSaved(index: number, bytesCovered: number): void {
    this.snapshotIndexNow = index
    this.bytesSinceSnapshotNow = Math.max(0, this.bytesSinceSnapshotNow - bytesCovered)
  }

  /**
   * The leader's snapshot `meta` is installed as `kv`, durably. The change
   * feeds follow the new state machine, told that they missed what the
   * snapshot covers.
   */
  installed(kv: KvStateMachine, meta: SnapshotMeta): void {
    const sink = this.kvNow.eventSink()
    kv.setEventSink(sink)
    this.kvNow = kv
    sink?.reset(meta.index)
    this.appliedIndexNow = meta.index
    this.snapshotIndexNow = meta.index
    this.bytesSinceSnapshotNow = 0
    this.storedIndexNow = meta.index
  }
}
