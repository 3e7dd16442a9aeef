// A follower's side of a snapshot from the leader: chunks are received and
// acknowledged, the completed snapshot is staged and offered to the core,
// and the next Ready installs it (the state machine restored, the file
// written, the indexes moved).
import { KvStateMachine } from '../kv/state-machine.js'
import type { SnapshotMeta } from '../raft/types.js'
import type { SnapshotChunk, WireMessage } from '../transport/wire-message.js'
import { assert } from '../util/assert.js'
import type { ReplicaContext } from './replica-context.js'
import { receiveChunk, type IncomingSnapshot } from './snapshot-stream.js'

/**
 * A snapshot being received that hears no chunk for this long is dropped,
 * with the buffer it fills: the leader gave up on it (after 30 s of silence,
 * snapshot-sender.ts) or is gone, and a new transfer starts over anyway.
 */
const incomingIdleMs = 60_000

type ReceiverContext = Pick<ReplicaContext, 'id' | 'incarnation' | 'logger' | 'clock' | 'raft' | 'storage' | 'state' | 'proposals' | 'events' | 'kick' | 'hearClock' | 'stampClock'>

export class SnapshotReceiver {
  private incoming: IncomingSnapshot | null = null
  /** When `incoming` last took a chunk (monotonic). */
  private incomingChunkMs = 0
  /** The one completed snapshot the core accepted and the next Ready installs. */
  private staged: IncomingSnapshot | null = null

  constructor(private readonly ctx: ReceiverContext) {}

  onChunk(c: SnapshotChunk, reply: (m: WireMessage) => void): void {
    const { ctx } = this
    const verdict = receiveChunk(this.incoming, c, ctx.incarnation)
    const ack = (nextOffset: number, ok: boolean): void => {
      reply({ type: 'SnapshotChunkAck', term: c.term, from: ctx.id, to: c.from, index: c.meta.index, nextOffset, ok })
    }
    if (verdict.t === 'drop') {
      ctx.logger.debug({ from: c.from, reason: verdict.reason }, 'snapshot chunk dropped')
      return
    }
    if (verdict.t === 'refuse') {
      ctx.logger.warn({ from: c.from, reason: verdict.reason }, 'snapshot chunk refused')
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
    ack(c.totalBytes, true)
    // The one staging slot belongs to the snapshot the core accepts: one it
    // drops (an older term, or at or below its commit) must not replace a
    // staged snapshot the next Ready installs (issue 15, finding 2).
    const staged = this.staged
    this.staged = verdict.incoming
    ctx.hearClock(c.clockMs ?? 0)
    ctx.stampClock()
    ctx.raft.step({ type: 'Snapshot', from: c.from, to: ctx.id, term: c.term, snapshot: c.meta, fromIncarnation: c.fromIncarnation, toIncarnation: c.toIncarnation })
    if (!this.coreHolds(c.meta)) this.staged = staged
    ctx.kick()
  }

  /** On every tick: lets go of a snapshot whose sender fell silent long ago (its buffer may be as large as the snapshot). */
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
    const kv = KvStateMachine.restore(staged.data)
    await ctx.storage.installSnapshot(meta, staged.data)
    ctx.events.emit('snapshot', 'installed', ctx.clock.monotonicMs() - started, staged.data.length)
    ctx.state.installed(kv, meta)
    ctx.proposals.lostUpTo(meta.index)
    ctx.logger.info({ index: meta.index, term: meta.term, bytes: staged.data.length, from: staged.from }, 'installed snapshot from the leader')
  }

  /** Whether the core's log now starts at `meta` (it accepted that snapshot). */
  private coreHolds(meta: SnapshotMeta): boolean {
    return this.ctx.raft.status().snapshotIndex === meta.index && this.ctx.raft.termAt(meta.index) === meta.term
  }
}
