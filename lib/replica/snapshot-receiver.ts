// A follower's side of a snapshot from the leader: chunks are received,
// decoded into a new state machine as they come and acknowledged; the
// completed one is staged and offered to the core, and the next Ready
// installs it (the file written from the restored state, the indexes moved).
// No buffer of the whole snapshot is held: at 1M keys that was 121 MiB on
// top of the old state machine and the new one.
import { SnapshotDecoder } from '../kv/snapshot-codec.js'
import { KvStateMachine } from '../kv/state-machine.js'
import type { SnapshotMeta } from '../raft/types.js'
import type { SnapshotChunk, WireMessage } from '../transport/wire-message.js'
import { assert } from '../util/assert.js'
import type { ReplicaContext } from './replica-context.js'
import { receiveChunk, type CompletedSnapshot, type IncomingSnapshot } from './snapshot-stream.js'

/**
 * A snapshot being received that hears no chunk for this long is dropped,
 * with the state decoded so far: the leader gave up on it (after 30 s of silence,
 * snapshot-sender.ts) or is gone, and a new transfer starts over anyway.
 */
const incomingIdleMs = 60_000

type ReceiverContext = Pick<ReplicaContext, 'config' | 'id' | 'incarnation' | 'logger' | 'clock' | 'raft' | 'storage' | 'state' | 'proposals' | 'events' | 'kick' | 'hearClock' | 'stampClock'>

const newDecoder = (totalBytes: number): SnapshotDecoder => new SnapshotDecoder(totalBytes)

/** A completed snapshot, restored. */
interface StagedSnapshot {
  readonly from: string
  readonly meta: SnapshotMeta
  readonly bytes: number
  readonly kv: KvStateMachine
}

export class SnapshotReceiver {
  private incoming: IncomingSnapshot<SnapshotDecoder> | null = null
  /** When `incoming` last took a chunk (monotonic). */
  private incomingChunkMs = 0
  /** The snapshot taken in whole last: its late chunks are acknowledged, not refused. */
  private completed: CompletedSnapshot | null = null
  /** The one completed snapshot the core accepted and the next Ready installs. */
  private staged: StagedSnapshot | null = null

  constructor(private readonly ctx: ReceiverContext) {}

  onChunk(c: SnapshotChunk, reply: (m: WireMessage) => void): void {
    const { ctx } = this
    const verdict = receiveChunk(this.incoming, c, ctx.incarnation, newDecoder, this.completed)
    const ack = (nextOffset: number, ok: boolean): void => {
      reply({ type: 'SnapshotChunkAck', term: c.term, from: ctx.id, to: c.from, index: c.meta.index, nextOffset, ok })
    }
    if (verdict.t === 'drop') {
      ctx.logger.debug({ from: c.from, reason: verdict.reason }, 'snapshot chunk dropped')
      return
    }
    if (verdict.t === 'late') {
      ctx.logger.debug({ from: c.from, index: c.meta.index, offset: c.offset }, 'late chunk of a completed snapshot acknowledged')
      ack(verdict.nextOffset, true)
      return
    }
    if (verdict.t === 'refuse') {
      ctx.logger.warn({ from: c.from, reason: verdict.reason }, 'snapshot chunk refused')
      ack(0, false)
      return
    }
    if (verdict.t === 'corrupt') {
      this.refuseCorrupt(c, verdict.reason)
      ack(0, false)
      return
    }
    if (verdict.t === 'ack') {
      this.incoming = verdict.incoming
      this.incomingChunkMs = ctx.clock.monotonicMs()
      ack(verdict.nextOffset, true)
      return
    }
    this.incoming = null
    let kv: KvStateMachine
    try {
      kv = KvStateMachine.restored(verdict.incoming.sink)
    } catch (error) {
      this.refuseCorrupt(c, error instanceof Error ? error.message : String(error))
      ack(0, false)
      return
    }
    this.completed = { from: c.from, meta: c.meta, totalBytes: c.totalBytes }
    ack(c.totalBytes, true)
    // The one staging slot belongs to the snapshot the core accepts: one it
    // drops (an older term, or at or below its commit) must not replace a
    // staged snapshot the next Ready installs (issue 15, finding 2).
    const staged = this.staged
    this.staged = { from: c.from, meta: c.meta, bytes: c.totalBytes, kv }
    ctx.hearClock(c.clockMs ?? 0)
    ctx.stampClock()
    ctx.raft.step({ type: 'Snapshot', from: c.from, to: ctx.id, term: c.term, snapshot: c.meta, fromIncarnation: c.fromIncarnation, toIncarnation: c.toIncarnation })
    if (!this.coreHolds(c.meta)) this.staged = staged
    ctx.kick()
  }

  /** On every tick: lets go of a snapshot whose sender fell silent long ago (what it decoded may be as large as the state). */
  checkIdle(): void {
    const { ctx } = this
    if (this.incoming === null || ctx.clock.monotonicMs() - this.incomingChunkMs < incomingIdleMs) return
    ctx.logger.info({ from: this.incoming.from, index: this.incoming.meta.index, receivedBytes: this.incoming.receivedBytes }, 'incomplete snapshot dropped: its sender fell silent')
    this.incoming = null
  }

  /** Installs the staged snapshot that a Ready carries. */
  async install(meta: SnapshotMeta): Promise<void> {
    const { ctx } = this
    const staged = this.staged
    assert(staged !== null && staged.meta.index === meta.index && staged.meta.term === meta.term, `install: no staged snapshot for index ${meta.index}`)
    this.staged = null
    const started = ctx.clock.monotonicMs()
    await ctx.storage.installSnapshot(meta, staged.kv.encodedParts(ctx.config.snapshotChunkBytes))
    const ms = ctx.clock.monotonicMs() - started
    ctx.events.emit('snapshot', 'installed', ms, staged.bytes)
    ctx.state.installed(staged.kv, meta)
    ctx.proposals.lostUpTo(meta.index)
    ctx.logger.info({ index: meta.index, term: meta.term, bytes: staged.bytes, from: staged.from, ms: Math.round(ms) }, 'installed snapshot from the leader')
  }

  /**
   * The leader's bytes do not decode, though every chunk's checksum held:
   * the transfer is dropped and the sender starts over (a node never stops
   * on a peer's bad input). It would take a bug on the sender's side.
   */
  private refuseCorrupt(c: SnapshotChunk, reason: string): void {
    this.incoming = null
    this.ctx.logger.error({ from: c.from, index: c.meta.index, reason }, 'snapshot from the leader refused: its bytes do not decode')
  }

  /** Whether the core's log now starts at `meta` (it accepted that snapshot). */
  private coreHolds(meta: SnapshotMeta): boolean {
    return this.ctx.raft.status().snapshotIndex === meta.index && this.ctx.raft.termAt(meta.index) === meta.term
  }
}
