// This node's own snapshots: taken when the log since the last one grows
// past SNAPSHOT_ENTRIES (and, if set, holds SNAPSHOT_LOG_PERCENT of the
// keyspace's bytes) or past SNAPSHOT_LOG_BYTES (or on an operator's command),
// encoded a few thousand keys per event-loop turn and written to the file
// chunk by chunk as they are encoded, then the log is compacted up to them.
// The Ready loop goes on meanwhile.
import type { SnapshotMeta } from '../raft/types.js'
import type { KvStateMachine } from '../kv/state-machine.js'
import type { SnapshotEncoder } from '../kv/snapshot-codec.js'
import type { SnapshotStaging } from '../storage/node-storage.js'
import { yieldOn, type Timer } from '../util/clock.js'
import type { NodeConfig } from '../config/node-config.js'
import type { ReplicaContext } from './replica-context.js'

/** Keys of a snapshot encoded per event-loop turn: about 2 ms of encoding here. */
const snapshotKeysPerTurn = 4096
/** Work waiting for the core to know the applied index (whenIdle) looks again this often. */
const idleRetryMs = 10
/** Operators' snapshot requests held while a snapshot runs or the core catches up; beyond it they are refused. */
const requestsWaitingMax = 64

type TakerContext = Pick<ReplicaContext, 'config' | 'logger' | 'clock' | 'raft' | 'storage' | 'state' | 'events' | 'isStopped' | 'fail'>

/** A backup's capture, begun: its meta and encoder describe one applied index. */
interface StartedCapture {
  readonly meta: SnapshotMeta
  readonly encoder: SnapshotEncoder
  readonly kv: KvStateMachine
}

export class SnapshotTaker {
  /** A snapshot or a backup's capture is being encoded (one at a time: Keyspace.beginCapture). */
  private taking = false
  /**
   * Work that starts a snapshot or a capture, oldest first (whenIdle). It
   * waits for the one being encoded, and for the core to know the state
   * machine's applied index: the Ready loop applies a batch's entries before
   * the batch's log write and tells the core (advance) after it, and the
   * meta (term, members) comes from the core, which asserts on the index.
   */
  private readonly idleQueue: ((started: boolean) => void)[] = []
  private idleRetry: Timer | null = null
  /** Operators' snapshots among idleQueue (takeRequested). */
  private requestsWaiting = 0
  /** The buffer each snapshot is encoded into, chunk by chunk (storeInSteps); made at the first one, then kept. */
  private chunk: Buffer | null = null

  constructor(private readonly ctx: TakerContext) {}

  /** After a batch: starts a snapshot in the background when the log since the last one is long enough. */
  maybeTake(): void {
    this.runIdleQueue()
    const { state, config } = this.ctx
    if (this.taking) return
    if (snapshotWanted(state.applied - state.snapshotIndex, state.bytesSinceSnapshot, config, state.kv)) {
      // In the background: the loop goes on persisting and applying while the
      // snapshot file is written (storage stages it outside its write queue).
      this.take().catch((err: unknown) => this.ctx.fail(err))
    }
  }

  /**
   * An operator's snapshot (`cluster snapshot`) of everything applied when it
   * was asked: it waits for a snapshot or capture being encoded, then takes
   * its own (or none, if nothing was applied since). It waits for the core
   * too: when it did not, half the requests on a single node under writes
   * failed on the core's assertion.
   */
  takeRequested(): Promise<void> {
    if (this.requestsWaiting >= requestsWaitingMax) return Promise.reject(new Error(`${requestsWaitingMax} snapshot requests are waiting already; try again`))
    this.requestsWaiting++
    return new Promise((resolve, reject) => {
      this.whenIdle((started) => {
        this.requestsWaiting--
        if (started) this.take().then(resolve, reject)
        else reject(new Error('the node stopped'))
      })
    })
  }

  /**
   * Runs `start(true)` once no snapshot or capture is encoded and the core
   * knows the applied index; `start(false)` if the node stops first. Run
   * synchronously from there, `start` sees the meta and the state machine
   * at one index; it must set `taking` if it begins encoding.
   */
  private whenIdle(start: (started: boolean) => void): void {
    this.idleQueue.push(start)
    this.runIdleQueue()
  }

  /**
   * Starts queued work while the node is idle. The loop calls it right after
   * each advance (maybeTake), when the core and the state machine agree even
   * under a steady stream of writes; a timer retries too, and the end of
   * each snapshot or capture.
   */
  private runIdleQueue(): void {
    const { raft, state } = this.ctx
    for (let next = this.idleQueue[0]; next !== undefined && !this.taking; next = this.idleQueue[0]) {
      const stopped = this.ctx.isStopped()
      if (!stopped && raft.status().applied !== state.applied) {
        this.idleRetry ??= this.ctx.clock.after(idleRetryMs, () => {
          this.idleRetry = null
          this.runIdleQueue()
        })
        return
      }
      this.idleQueue.shift()
      next(!stopped)
    }
  }

  /** Takes a snapshot at the applied index now, unless one is running or there is nothing new to take. */
  async take(): Promise<void> {
    const { state, raft, clock } = this.ctx
    const index = state.applied
    if (this.taking || !state.snapshotDue()) return
    this.taking = true
    let saved = false
    try {
      const started = clock.monotonicMs()
      const meta = raft.snapshotMeta(index)
      const bytesCovered = state.bytesSinceSnapshot
      const bytes = await this.storeInSteps(meta)
      // A leader's snapshot may have been accepted by the core, or installed,
      // meanwhile (the loop runs on while this one is encoded and written):
      // it is newer, and neither the core's log nor storage may go back to
      // this one (issue 15, finding 1; runtime seed 932).
      if (bytes === null || this.ctx.isStopped() || state.snapshotIndex >= index || raft.status().snapshotIndex >= index) return
      raft.compact(index)
      state.snapshotSaved(index, bytesCovered)
      saved = true
      const ms = clock.monotonicMs() - started
      this.ctx.logger.info({ index, bytes, ms }, 'snapshot saved; log compacted')
      this.ctx.events.emit('snapshot', 'saved', ms, bytes)
    } finally {
      this.taking = false
      this.runIdleQueue()
      // Entries applied while this one was taken found it running (maybeTake
      // returns then): look again now, or a node that goes quiet keeps that
      // log until its next write. Only when the core knows the applied index
      // (snapshotMeta asserts it does); otherwise an advance is on its way,
      // and maybeTake runs after it. Only after a save: a take that failed
      // before its first await must not start another from here.
      if (saved && !this.ctx.isStopped() && raft.status().applied === state.applied) this.maybeTake()
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
    const started = await new Promise<StartedCapture | null>((resolve) => {
      this.whenIdle((idle) => {
        if (!idle) return resolve(null)
        const { raft, state } = this.ctx
        const meta = raft.snapshotMeta(state.applied)
        const encoder = state.kv.beginSnapshot()
        this.taking = true
        resolve({ meta, encoder, kv: state.kv })
      })
    })
    if (started === null) return null
    try {
      while (!started.encoder.step(snapshotKeysPerTurn)) {
        await yieldOn(this.ctx.clock)
        if (this.ctx.isStopped() || this.ctx.state.kv !== started.kv) return null
      }
      return { meta: started.meta, data: started.encoder.finish() }
    } finally {
      started.encoder.abort() // a no-op after finish()
      this.taking = false
      this.runIdleQueue()
    }
  }

  /**
   * Encodes the state machine's snapshot at `meta.index` (the applied
   * index) and stores it as it goes: a few thousand keys per event-loop
   * turn so that clients and peers are served in between (a 100,000-key
   * snapshot in one go stalled the node for 35–146 ms), each full chunk
   * written to the snapshot's tmp file before the next is encoded, so no
   * buffer of the whole state is made. Its size in bytes once stored;
   * null if it was not (the node stopped, installed another state machine
   * meanwhile, or storage found it moot).
   */
  private async storeInSteps(meta: SnapshotMeta): Promise<number | null> {
    const kv = this.ctx.state.kv
    this.chunk ??= Buffer.allocUnsafe(this.ctx.config.snapshotChunkBytes)
    const encoder = kv.beginSnapshot(this.chunk)
    let staging: SnapshotStaging | null = null
    let committing = false
    try {
      staging = await this.ctx.storage.beginSnapshot(meta, encoder.bytes)
      for (;;) {
        const done = encoder.step(snapshotKeysPerTurn)
        // A write hands the turn over too; otherwise yield before the next step.
        if (encoder.full) await staging.write(encoder.takeChunk())
        else if (!done) await yieldOn(this.ctx.clock)
        if (this.ctx.isStopped() || this.ctx.state.kv !== kv) return null
        if (done) break
      }
      for (const part of encoder.finishChunks()) await staging.write(part)
      committing = true
      return (await staging.commit()) ? encoder.bytes : null
    } finally {
      encoder.abort() // a no-op after finishChunks()
      // Given up before commit (stopped, replaced, or a write failed): its
      // tmp file goes. Commit removes it itself when it stores nothing.
      if (staging !== null && !committing) await staging.discard().catch(() => undefined)
    }
  }
}

/**
 * Whether the log since the last snapshot is long enough for another. A
 * snapshot encodes the whole keyspace, so taking one every SNAPSHOT_ENTRIES
 * writes made its cost per write grow with the keyspace: at ~630,000 keys
 * under SET -P 16 it was about a fifth of the nodes' CPU (bench/README
 * section 31).
 * Waiting also for the log to hold SNAPSHOT_LOG_PERCENT of the keys' bytes
 * keeps that share bounded, as Redis's auto-aof-rewrite-percentage does for
 * its rewrites. 50 by default: the longer log costs at most LOG_CACHE_BYTES
 * of memory, while running and while replayed at restart (bench/README
 * section 33). SNAPSHOT_LOG_BYTES still bounds the log whatever the
 * keyspace holds.
 */
export function snapshotWanted(entriesSince: number, bytesSince: number, config: Pick<NodeConfig, 'snapshotEntries' | 'snapshotLogBytes' | 'snapshotLogPercent'>, kv: Pick<KvStateMachine, 'snapshotKeysBytes'>): boolean {
  if (bytesSince >= config.snapshotLogBytes) return true
  if (entriesSince < config.snapshotEntries) return false
  return bytesSince * 100 >= config.snapshotLogPercent * kv.snapshotKeysBytes()
}
