// This node's own snapshots: taken when the log since the last one grows
// past SNAPSHOT_ENTRIES or SNAPSHOT_LOG_BYTES (or on an operator's command),
// encoded a few thousand keys per event-loop turn, saved, and then the log
// is compacted up to them. The Ready loop goes on meanwhile.
import type { SnapshotMeta } from '../raft/types.js'
import { sleepOn, yieldOn } from '../util/clock.js'
import type { ReplicaContext } from './replica-context.js'

/** Keys of a snapshot encoded per event-loop turn: about 2 ms of encoding here. */
const snapshotKeysPerTurn = 4096
/** A backup's capture polls this often while the node's own snapshot is being encoded. */
const captureWaitMs = 10

type TakerContext = Pick<ReplicaContext, 'config' | 'logger' | 'clock' | 'raft' | 'storage' | 'state' | 'events' | 'isStopped' | 'fail'>

export class SnapshotTaker {
  private taking = false

  constructor(private readonly ctx: TakerContext) {}

  /** After a batch: starts a snapshot in the background when the log since the last one is long enough. */
  maybeTake(): void {
    const { state, config } = this.ctx
    if (this.taking) return
    if (state.applied - state.snapshotIndex >= config.snapshotEntries || state.bytesSinceSnapshot >= config.snapshotLogBytes) {
      // In the background: the loop goes on persisting and applying while the
      // snapshot file is written (storage stages it outside its write queue).
      this.take().catch((err: unknown) => this.ctx.fail(err))
    }
  }

  /** Takes a snapshot at the applied index now, unless one is running or there is nothing new to take. */
  async take(): Promise<void> {
    const { state, raft, clock } = this.ctx
    const index = state.applied
    if (this.taking || !state.snapshotDue()) return
    this.taking = true
    try {
      const started = clock.monotonicMs()
      const meta = raft.snapshotMeta(index)
      const bytesCovered = state.bytesSinceSnapshot
      const data = await this.encodeInSteps()
      if (data === null) return
      const saved = await this.ctx.storage.saveSnapshot(meta, data)
      // A leader's snapshot may have been accepted by the core, or installed,
      // meanwhile (the loop runs on while this one is encoded and written):
      // it is newer, and neither the core's log nor storage may go back to
      // this one (issue 15, finding 1; runtime seed 932).
      if (!saved || this.ctx.isStopped() || state.snapshotIndex >= index || raft.status().snapshotIndex >= index) return
      raft.compact(index)
      state.snapshotSaved(index, bytesCovered)
      const ms = clock.monotonicMs() - started
      this.ctx.logger.info({ index, bytes: data.length, ms }, 'snapshot saved; log compacted')
      this.ctx.events.emit('snapshot', 'saved', ms, data.length)
    } finally {
      this.taking = false
    }
  }

  /**
   * The state machine's snapshot at the applied index, with its meta, for a
   * backup (lib/backup): kept in memory only, the log is not compacted. One
   * capture runs at a time (Keyspace.beginCapture), so this waits while the
   * node's own snapshot is taken. Null when the node stopped or installed a
   * snapshot from the leader meanwhile (the caller may try again).
   */
  async capture(): Promise<{ meta: SnapshotMeta; data: Buffer } | null> {
    while (this.taking) {
      if (this.ctx.isStopped()) return null
      await sleepOn(this.ctx.clock, captureWaitMs)
    }
    if (this.ctx.isStopped()) return null
    this.taking = true
    try {
      // Taken in the same turn as the encoder's start: both describe `applied`.
      const meta = this.ctx.raft.snapshotMeta(this.ctx.state.applied)
      const data = await this.encodeInSteps()
      return data === null ? null : { meta, data }
    } finally {
      this.taking = false
    }
  }

  /**
   * The state machine's snapshot at `applied`, a few thousand keys per
   * event-loop turn so that clients and peers are served in between (a
   * 100,000-key snapshot in one go stalled the node for 35–146 ms). Null if
   * the node stopped or installed another state machine meanwhile.
   */
  private async encodeInSteps(): Promise<Buffer | null> {
    const kv = this.ctx.state.kv
    const encoder = kv.beginSnapshot()
    try {
      while (!encoder.step(snapshotKeysPerTurn)) {
        await yieldOn(this.ctx.clock)
        if (this.ctx.isStopped() || this.ctx.state.kv !== kv) return null
      }
      return encoder.finish()
    } finally {
      encoder.abort() // a no-op after finish()
    }
  }
}
