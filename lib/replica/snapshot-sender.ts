// A leader's side of snapshot transfer: the core asks for a snapshot to go
// to a follower; the latest saved snapshot is streamed from its file in
// chunks, resent from the last acknowledged offset after silence, abandoned
// after a long one, and reported to the core when it is delivered or given up.
//
// The bytes are read from the snapshot file as chunks go out, at most a
// window of them at a time: no node holds a whole snapshot in memory to send
// it (issue 16). The file stays open for the whole transfer, so a newer
// snapshot's compaction unlinking it meanwhile changes nothing: every chunk
// of one transfer comes from the one file its meta names.
import type { NodeId, SnapshotRequest } from '../raft/types.js'
import type { SnapshotFileReader } from '../storage/snapshot-file.js'
import type { SnapshotChunkAck } from '../transport/wire-message.js'
import type { ReplicaContext } from './replica-context.js'
import { chunkOf, nextChunkRanges, onChunkAck, rewind, type OutgoingSnapshot } from './snapshot-stream.js'

/** Silence from a snapshot receiver before we resend from the last ack. */
const snapshotResendMs = 3000
/** Give up on a snapshot transfer that made no progress for this long. */
const snapshotAbandonMs = 30_000

type SenderContext = Pick<ReplicaContext, 'id' | 'logger' | 'clock' | 'raft' | 'storage' | 'events' | 'kick' | 'sendTo'>

interface Transfer {
  readonly out: OutgoingSnapshot
  /** Null while the file is being opened. */
  reader: SnapshotFileReader | null
  /** A pump is reading and sending; it takes up window changes itself. */
  pumping: boolean
}

export class SnapshotSender {
  private readonly outgoing = new Map<NodeId, Transfer>()
  private stopped = false

  constructor(private readonly ctx: SenderContext) {}

  start(m: SnapshotRequest): void {
    const { ctx } = this
    const { to, term, snapshot: meta } = m
    if (this.stopped) return
    const existing = this.outgoing.get(to)?.out
    // The same snapshot to the same incarnation is already on its way (or
    // its file is being opened). One stamped for an earlier incarnation (the
    // member was wiped and re-added meanwhile) is dropped by the receiver
    // chunk by chunk, and would keep the core waiting for its report for
    // good: replace it (runtime seed 197).
    if (existing !== undefined && existing.meta.index === meta.index && existing.term === term && existing.toIncarnation === (m.toIncarnation ?? '')) return
    if (ctx.storage.latestSnapshotMeta()?.index !== meta.index) {
      ctx.raft.reportSnapshot(to, false)
      return
    }
    const nowMs = ctx.clock.nowMs()
    const transfer: Transfer = {
      out: {
        to, term, meta, totalBytes: 0, ackedOffset: 0, sentOffset: 0, lastProgressMs: nowMs, startedMs: nowMs,
        fromIncarnation: m.fromIncarnation ?? '', toIncarnation: m.toIncarnation ?? '',
      },
      reader: null,
      pumping: false,
    }
    this.replace(to, transfer)
    void this.open(transfer)
  }

  onAck(ack: SnapshotChunkAck): void {
    const { ctx } = this
    const transfer = this.outgoing.get(ack.from)
    if (transfer === undefined || transfer.reader === null) return
    const { out } = transfer
    const verdict = onChunkAck(out, ack, ctx.clock.nowMs())
    if (verdict === 'done') {
      this.replace(ack.from, null)
      const sendMs = ctx.clock.nowMs() - out.startedMs
      ctx.logger.info({ to: ack.from, index: out.meta.index, ms: sendMs }, 'snapshot delivered')
      ctx.events.emit('snapshot', 'sent', sendMs, out.totalBytes)
      ctx.raft.reportSnapshot(ack.from, true)
      ctx.kick()
    } else if (verdict === 'more') {
      this.pump(transfer)
    }
  }

  /** On every tick: resend after silence, give up after a long one or when no longer leader. */
  checkTransfers(): void {
    const { ctx } = this
    const nowMs = ctx.clock.nowMs()
    for (const [to, transfer] of this.outgoing) {
      const { out } = transfer
      const silentMs = nowMs - out.lastProgressMs
      if (silentMs >= snapshotAbandonMs || ctx.raft.status().role !== 'leader') {
        this.replace(to, null)
        ctx.raft.reportSnapshot(to, false)
        ctx.logger.warn({ to, index: out.meta.index }, 'snapshot transfer abandoned')
      } else if (transfer.reader !== null && silentMs >= snapshotResendMs && out.sentOffset > out.ackedOffset) {
        rewind(out, nowMs)
        this.pump(transfer)
      }
    }
  }

  /** The node stops: every transfer ends and its file is closed; the core is not told (it stops too). */
  stop(): void {
    this.stopped = true
    for (const to of [...this.outgoing.keys()]) this.replace(to, null)
  }

  /** Whether a transfer to `to` is under way (for tests). */
  sending(to: NodeId): boolean {
    return this.outgoing.has(to)
  }

  /** Ends the transfer to `to`, if any (closing its file), and starts `next` in its place. */
  private replace(to: NodeId, next: Transfer | null): void {
    const current = this.outgoing.get(to)
    if (current !== undefined) void current.reader?.close()
    if (next === null) this.outgoing.delete(to)
    else this.outgoing.set(to, next)
  }

  /**
   * Opens the newest snapshot's file. If it is no longer the one the core
   * asked for (a newer snapshot was saved and compacted it away meanwhile),
   * the core hears of the failure and asks again for the newest.
   */
  private async open(transfer: Transfer): Promise<void> {
    const { ctx } = this
    const { out } = transfer
    const reader = await ctx.storage.openSnapshot().catch(() => null)
    // Replaced, abandoned or stopped while the file was opened.
    if (this.outgoing.get(out.to) !== transfer) {
      void reader?.close()
      return
    }
    if (reader === null || reader.meta.index !== out.meta.index) {
      void reader?.close()
      this.outgoing.delete(out.to)
      ctx.logger.info({ to: out.to, index: out.meta.index }, 'snapshot to send is no longer the newest')
      ctx.raft.reportSnapshot(out.to, false)
      ctx.kick()
      return
    }
    transfer.reader = reader
    out.totalBytes = reader.dataBytes
    ctx.logger.info({ to: out.to, index: out.meta.index, bytes: reader.dataBytes }, 'sending snapshot')
    this.pump(transfer)
  }

  /** Reads and sends the chunks the window allows, one read at a time; one pump per transfer. */
  private pump(transfer: Transfer): void {
    if (transfer.pumping || transfer.reader === null) return
    this.pumpChunks(transfer, transfer.reader).catch((error: unknown) => this.failed(transfer, error))
  }

  private async pumpChunks(transfer: Transfer, reader: SnapshotFileReader): Promise<void> {
    const { ctx } = this
    const { out } = transfer
    transfer.pumping = true
    try {
      // Acks that arrive during a read widen the window: asked again after each batch.
      for (let ranges = nextChunkRanges(out); ranges.length > 0; ranges = out.totalBytes === 0 ? [] : nextChunkRanges(out)) {
        for (const range of ranges) {
          const data = await reader.read(range.offset, range.length)
          if (this.outgoing.get(out.to) !== transfer) return
          ctx.sendTo(out.to, chunkOf(out, ctx.id, range.offset, data))
        }
      }
    } finally {
      transfer.pumping = false
    }
  }

  /** A read failed (a damaged file, an I/O error): the transfer is given up and the core told. */
  private failed(transfer: Transfer, error: unknown): void {
    const { out } = transfer
    if (this.outgoing.get(out.to) !== transfer) return
    this.replace(out.to, null)
    this.ctx.logger.error({ to: out.to, index: out.meta.index, err: error }, 'snapshot transfer failed: its file could not be read')
    this.ctx.raft.reportSnapshot(out.to, false)
    this.ctx.kick()
  }
}
