// Ships a snapshot's bytes to one follower in bounded, checksummed chunks
// with a window of unacknowledged chunks (flow control), and hands them, in
// order, to the receiving side's sink. A dropped connection loses chunks;
// the sender notices the silence and resumes from the last acknowledged
// offset. Chunks travel on the same peer connection as raft traffic, so
// what the window lets out is what a heartbeat to that follower may wait
// behind: 8 MiB, ~70 ms on a 1 Gbit/s link.
import { crc32c } from '../util/checksum.js'
import { sameIncarnation, type Incarnation, type NodeId, type SnapshotMeta } from '../raft/types.js'
import type { SnapshotChunk, SnapshotChunkAck } from '../transport/wire-message.js'

export const snapshotChunkBytes = 512 * 1024
/**
 * The receiver decodes each chunk before it acknowledges it, so the window
 * must cover that time as well as the round trip: with 4 chunks (2 MiB) an
 * empty follower took ~1.5–2 s longer to take 1M keys than when it only
 * copied the bytes; with 16 it is within this machine's swing of that
 * (bench/README section 30).
 */
export const snapshotWindowChunks = 16
/** A peer may not make us hold more than this for one incoming snapshot. */
export const snapshotBytesMax = 2 * 1024 * 1024 * 1024 - 1

export interface OutgoingSnapshot {
  readonly to: NodeId
  readonly term: number
  readonly meta: SnapshotMeta
  /** The snapshot's data bytes (its file's data section, read from there); 0 until the file is open. */
  totalBytes: number
  /** The Snapshot message's incarnation stamps, repeated on every chunk (see raft/types.ts). */
  readonly fromIncarnation: Incarnation
  readonly toIncarnation: Incarnation
  /** Everything below this offset was acknowledged. */
  ackedOffset: number
  /** Everything below this offset was sent at least once. */
  sentOffset: number
  lastProgressMs: number
  startedMs: number
}

/** A chunk's place in the snapshot's data. */
export interface ChunkRange {
  readonly offset: number
  readonly length: number
}

/**
 * The chunks the window allows now, in order, marked as sent. At most
 * snapshotWindowChunks of them: what a sender reads and holds at a time.
 */
export function nextChunkRanges(out: OutgoingSnapshot): ChunkRange[] {
  // An empty snapshot still needs one (empty) chunk to complete.
  if (out.totalBytes === 0) return out.sentOffset === 0 ? [{ offset: 0, length: 0 }] : []
  const ranges: ChunkRange[] = []
  const windowEnd = Math.min(out.totalBytes, out.ackedOffset + snapshotWindowChunks * snapshotChunkBytes)
  while (out.sentOffset < windowEnd) {
    const end = Math.min(out.sentOffset + snapshotChunkBytes, out.totalBytes)
    ranges.push({ offset: out.sentOffset, length: end - out.sentOffset })
    out.sentOffset = end
  }
  return ranges
}

/** The chunk carrying `data`, the snapshot's bytes at `offset`. */
export function chunkOf(out: OutgoingSnapshot, from: NodeId, offset: number, data: Buffer): SnapshotChunk {
  return {
    type: 'SnapshotChunk', term: out.term, from, to: out.to, meta: out.meta, offset, totalBytes: out.totalBytes, data, crc: crc32c(data),
    fromIncarnation: out.fromIncarnation, toIncarnation: out.toIncarnation,
  }
}

/** Applies an ack; returns 'done' when the follower holds the whole snapshot. */
export function onChunkAck(out: OutgoingSnapshot, ack: SnapshotChunkAck, nowMs: number): 'done' | 'more' | 'ignored' {
  if (ack.index !== out.meta.index) return 'ignored'
  if (!ack.ok) {
    out.ackedOffset = 0
    out.sentOffset = 0
    out.lastProgressMs = nowMs
    return 'more'
  }
  if (ack.nextOffset > out.ackedOffset) {
    out.ackedOffset = Math.min(ack.nextOffset, out.totalBytes)
    out.lastProgressMs = nowMs
  }
  // The receiver wants to continue from an earlier point (it lost chunks).
  if (ack.nextOffset < out.sentOffset) out.sentOffset = Math.max(ack.nextOffset, out.ackedOffset)
  return out.ackedOffset >= out.totalBytes && ack.nextOffset >= out.totalBytes ? 'done' : 'more'
}

/** Resumes from the last acknowledged offset after silence. */
export function rewind(out: OutgoingSnapshot, nowMs: number): void {
  out.sentOffset = out.ackedOffset
  out.lastProgressMs = nowMs
}

/**
 * Where an incoming snapshot's bytes go, in order, as they come: decoded
 * into the state machine they describe (snapshot-receiver.ts), so that no
 * buffer of the whole snapshot is held. `push` throws on bytes it refuses.
 */
export interface SnapshotSink {
  push(bytes: Buffer): void
}

export interface IncomingSnapshot<S extends SnapshotSink = SnapshotSink> {
  readonly from: NodeId
  readonly meta: SnapshotMeta
  readonly term: number
  readonly totalBytes: number
  readonly sink: S
  receivedBytes: number
}

/** Which snapshot a receiver took in whole last: a chunk of it that comes after is late, not unknown. */
export interface CompletedSnapshot {
  readonly from: NodeId
  readonly meta: SnapshotMeta
  readonly totalBytes: number
}

export type ChunkVerdict<S extends SnapshotSink = SnapshotSink> =
  | { readonly t: 'ack'; readonly incoming: IncomingSnapshot<S>; readonly nextOffset: number }
  /**
   * A chunk of the snapshot completed last (sent before its last ack reached
   * the sender, or resent after a silence): acknowledged as whole again, so a
   * sender that missed the last ack finishes instead of waiting to give up.
   */
  | { readonly t: 'late'; readonly nextOffset: number }
  | { readonly t: 'complete'; readonly incoming: IncomingSnapshot<S> }
  | { readonly t: 'refuse'; readonly reason: string }
  /** The sink refused the bytes: this transfer is over, the sender starts again from the beginning. */
  | { readonly t: 'corrupt'; readonly reason: string }
  /** Not for this node: no answer, as the raft core gives none to a message stamped for another incarnation. */
  | { readonly t: 'drop'; readonly reason: string }

/**
 * Takes one chunk into `current` (or starts a new incoming snapshot, its
 * sink made by `newSink`); `self` is this node's incarnation.
 */
export function receiveChunk<S extends SnapshotSink>(
  current: IncomingSnapshot<S> | null,
  c: SnapshotChunk,
  self: Incarnation,
  newSink: (totalBytes: number) => S,
  completed: CompletedSnapshot | null = null,
): ChunkVerdict<S> {
  // Checked on every chunk, before any bytes are held: a snapshot meant for
  // the member this node was before its directory was wiped is never
  // assembled (the core would drop it once complete). No refusal either: a
  // refused sender starts over at offset 0 at once; silence makes it resend
  // after snapshotResendMs and give up after snapshotAbandonMs.
  if (!sameIncarnation(c.toIncarnation, self)) return { t: 'drop', reason: `snapshot stamped for incarnation ${c.toIncarnation}, this node is ${self}` }
  if (c.totalBytes < 0 || c.totalBytes > snapshotBytesMax) return { t: 'refuse', reason: `snapshot of ${c.totalBytes} bytes exceeds the limit` }
  let target = current
  const same = target !== null && sameSnapshot(target, c)
  if (target === null || !same) {
    // Offset 0 always starts anew: a sender that sends the same snapshot
    // again from its start is taken at its word.
    if (c.offset !== 0 && completed !== null && sameSnapshot(completed, c)) return { t: 'late', nextOffset: c.totalBytes }
    if (c.offset !== 0) return { t: 'refuse', reason: 'chunk for an unknown snapshot (not at offset 0)' }
    let sink: S
    try {
      sink = newSink(c.totalBytes)
    } catch (error) {
      return { t: 'corrupt', reason: error instanceof Error ? error.message : String(error) }
    }
    target = { from: c.from, meta: c.meta, term: c.term, totalBytes: c.totalBytes, sink, receivedBytes: 0 }
  }
  if (c.offset === target.receivedBytes && c.offset + c.data.length <= target.totalBytes) {
    if (crc32c(c.data) !== c.crc) return { t: 'ack', incoming: target, nextOffset: target.receivedBytes }
    try {
      target.sink.push(c.data)
    } catch (error) {
      return { t: 'corrupt', reason: error instanceof Error ? error.message : String(error) }
    }
    target.receivedBytes += c.data.length
  }
  if (target.receivedBytes === target.totalBytes) return { t: 'complete', incoming: target }
  return { t: 'ack', incoming: target, nextOffset: target.receivedBytes }
}

function sameSnapshot(s: CompletedSnapshot, c: SnapshotChunk): boolean {
  return s.from === c.from && s.meta.index === c.meta.index && s.meta.term === c.meta.term && s.totalBytes === c.totalBytes
}
