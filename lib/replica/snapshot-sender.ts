// A leader's side of snapshot transfer: the core asks for a snapshot to go
// to a follower; the latest saved snapshot is streamed in chunks, resent
// from the last acknowledged offset after silence, abandoned after a long
// one, and reported to the core when it is delivered or given up.
import type { NodeId, SnapshotRequest } from '../raft/types.js'
import type { SnapshotChunkAck } from '../transport/wire-message.js'
import type { ReplicaContext } from './replica-context.js'
import { nextChunks, onChunkAck, rewind, type OutgoingSnapshot } from './snapshot-stream.js'

/** Silence from a snapshot receiver before we resend from the last ack. */
const snapshotResendMs = 3000
/** Give up on a snapshot transfer that made no progress for this long. */
const snapshotAbandonMs = 30_000

type SenderContext = Pick<ReplicaContext, 'id' | 'logger' | 'clock' | 'raft' | 'storage' | 'events' | 'kick' | 'sendTo'>

export class SnapshotSender {
  private readonly outgoing = new Map<NodeId, OutgoingSnapshot>()

  constructor(private readonly ctx: SenderContext) {}

  start(m: SnapshotRequest): void {
    const { ctx } = this
    const { to, term, snapshot: meta } = m
    const existing = this.outgoing.get(to)
    // The same snapshot to the same incarnation is already on its way. One
    // stamped for an earlier incarnation (the member was wiped and re-added
    // meanwhile) is dropped by the receiver chunk by chunk, and would keep
    // the core waiting for its report for good: replace it (runtime seed 197).
    if (existing !== undefined && existing.meta.index === meta.index && existing.term === term && existing.toIncarnation === (m.toIncarnation ?? '')) return
    const latest = ctx.storage.latestSnapshot()
    if (latest === null || latest.meta.index !== meta.index) {
      ctx.raft.reportSnapshot(to, false)
      return
    }
    const nowMs = ctx.clock.nowMs()
    const out: OutgoingSnapshot = {
      to, term, meta, data: latest.data, ackedOffset: 0, sentOffset: 0, lastProgressMs: nowMs, startedMs: nowMs,
      fromIncarnation: m.fromIncarnation ?? '', toIncarnation: m.toIncarnation ?? '',
    }
    this.outgoing.set(to, out)
    ctx.logger.info({ to, index: meta.index, bytes: latest.data.length }, 'sending snapshot')
    this.pump(out)
  }

  onAck(ack: SnapshotChunkAck): void {
    const { ctx } = this
    const out = this.outgoing.get(ack.from)
    if (out === undefined) return
    const verdict = onChunkAck(out, ack, ctx.clock.nowMs())
    if (verdict === 'done') {
      this.outgoing.delete(ack.from)
      const sendMs = ctx.clock.nowMs() - out.startedMs
      ctx.logger.info({ to: ack.from, index: out.meta.index, ms: sendMs }, 'snapshot delivered')
      ctx.events.emit('snapshot', 'sent', sendMs, out.data.length)
      ctx.raft.reportSnapshot(ack.from, true)
      ctx.kick()
    } else if (verdict === 'more') {
      this.pump(out)
    }
  }

  /** On every tick: resend after silence, give up after a long one or when no longer leader. */
  checkTransfers(): void {
    const { ctx } = this
    const nowMs = ctx.clock.nowMs()
    for (const [to, out] of this.outgoing) {
      const silentMs = nowMs - out.lastProgressMs
      if (silentMs >= snapshotAbandonMs || ctx.raft.status().role !== 'leader') {
        this.outgoing.delete(to)
        ctx.raft.reportSnapshot(to, false)
        ctx.logger.warn({ to, index: out.meta.index }, 'snapshot transfer abandoned')
      } else if (silentMs >= snapshotResendMs && out.sentOffset > out.ackedOffset) {
        rewind(out, nowMs)
        this.pump(out)
      }
    }
  }

  private pump(out: OutgoingSnapshot): void {
    for (const c of nextChunks(out, this.ctx.id)) this.ctx.sendTo(out.to, c)
  }
}
