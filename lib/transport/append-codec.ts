// Append frames, encoded and decoded by hand instead of through avsc. The
// bytes are exactly the Avro union encoding of the Append record in
// wire-schema.ts (tests compare them with avsc's), so the protocol is
// unchanged; what changes is how often they are produced:
//
// - The entries section (array count, the entries in the shared layout of
//   lib/codec/entry-codec.ts, end marker) depends only on the entries. A
//   leader sends the same slice to every follower at the same position in
//   one Ready, so the section is encoded once and reused for each of them;
//   only the few bytes around it (to, incarnations, commit) are per follower.
//   A large section is not copied into each frame: the frame goes out as
//   parts (head, shared body, tail) that the socket writes as they are.
// - The encoded entries are remembered (lib/codec/encoded-runs.ts) so that
//   the leader's log write copies them, and a follower remembers the entries
//   section it received, so that its log write copies the bytes it was sent
//   instead of encoding the decoded entries again.
import { AvroCursor, longBytes, stringBytes, writeLong, writeString } from '../codec/avro-bytes.js'
import { rememberRun } from '../codec/encoded-runs.js'
import { entryBytes, readEntry, writeEntry } from '../codec/entry-codec.js'
import { RecentStrings } from '../codec/recent-strings.js'
import type { AppendRequest, Entry } from '../raft/types.js'
import { FRAME_HEADER_BYTES, writeFrameHeader } from './frame-codec.js'

/** Bodies up to this size are copied into one frame buffer per follower; larger ones go out as a separate part (a snapshot chunk's data too: wire-codec.ts). */
export const INLINE_BODY_BYTES_MAX = 16 * 1024

/** The encoded entries section of an Append, and where its entries' bytes lie in it. */
interface AppendBody {
  readonly entries: readonly Entry[]
  readonly bytes: Buffer
}

/** Bytes of the entries section: count, entries, end marker (one 0 byte for no entries). */
function sectionBytes(entries: readonly Entry[]): number {
  if (entries.length === 0) return 1
  let bytes = longBytes(entries.length) + 1
  for (const entry of entries) bytes += entryBytes(entry)
  return bytes
}

/** Writes the entries section at buf[offset] and returns a view of it. */
function encodeSection(entries: readonly Entry[], buf: Buffer, offset: number): Buffer {
  let at = writeLong(buf, offset, entries.length)
  for (const entry of entries) at = writeEntry(buf, at, entry)
  buf[at] = 0
  return buf.subarray(offset, at + 1)
}

function headBytes(msg: AppendRequest): number {
  return FRAME_HEADER_BYTES + 1 + stringBytes(msg.from) + stringBytes(msg.to) +
    longBytes(msg.term) + longBytes(msg.prevIndex) + longBytes(msg.prevTerm)
}

function writeHead(buf: Buffer, msg: AppendRequest, branchTag: number): number {
  buf[FRAME_HEADER_BYTES] = branchTag
  let at = writeString(buf, FRAME_HEADER_BYTES + 1, msg.from)
  at = writeString(buf, at, msg.to)
  at = writeLong(buf, at, msg.term)
  at = writeLong(buf, at, msg.prevIndex)
  return writeLong(buf, at, msg.prevTerm)
}

function tailBytes(msg: AppendRequest): number {
  return longBytes(msg.commit) + stringBytes(msg.fromIncarnation ?? '') + stringBytes(msg.toIncarnation ?? '') + longBytes(msg.clockMs ?? 0)
}

function writeTail(buf: Buffer, offset: number, msg: AppendRequest): number {
  let at = writeLong(buf, offset, msg.commit)
  at = writeString(buf, at, msg.fromIncarnation ?? '')
  at = writeString(buf, at, msg.toIncarnation ?? '')
  return writeLong(buf, at, msg.clockMs ?? 0)
}

export class AppendCodec {
  /** The last entries section encoded: reused while the next Append carries the very same entries. */
  private last: AppendBody | null = null
  // The Append's four strings (ids and incarnations) repeat from one Append to the next.
  private readonly recentFrom = new RecentStrings()
  private readonly recentTo = new RecentStrings()
  private readonly recentFromIncarnation = new RecentStrings()
  private readonly recentToIncarnation = new RecentStrings()

  /** `branchTag`: the union index byte of the Append branch (2 × its index). */
  constructor(private readonly branchTag: number) {}

  /**
   * The frame for `msg`: one buffer, or [head, body, tail] when the entries
   * section is large (the body is shared with other followers' frames and
   * must not be written to). Throws on a field that does not fit the schema.
   */
  encodeParts(msg: AppendRequest): Buffer | readonly Buffer[] {
    const cached = this.cachedBody(msg.entries)
    const bodyBytes = cached?.length ?? sectionBytes(msg.entries)
    if (bodyBytes <= INLINE_BODY_BYTES_MAX) return this.inline(msg, cached, bodyBytes)
    const body = cached ?? this.remember(msg.entries, encodeSection(msg.entries, Buffer.allocUnsafe(bodyBytes), 0))
    const head = headBytes(msg)
    const tail = tailBytes(msg)
    const headBuf = Buffer.allocUnsafe(head)
    writeFrameHeader(headBuf, head + body.length + tail - FRAME_HEADER_BYTES)
    writeHead(headBuf, msg, this.branchTag)
    const tailBuf = Buffer.allocUnsafe(tail)
    writeTail(tailBuf, 0, msg)
    return [headBuf, body, tailBuf]
  }

  /** The frame for `msg` as one exactly-sized buffer. */
  encodeFrame(msg: AppendRequest): Buffer {
    const cached = this.cachedBody(msg.entries)
    return this.inline(msg, cached, cached?.length ?? sectionBytes(msg.entries))
  }

  /** One buffer; a section not encoded yet is encoded straight into it (and that part of it reused for the next follower). */
  private inline(msg: AppendRequest, cached: Buffer | null, bodyBytes: number): Buffer {
    const head = headBytes(msg)
    const frame = Buffer.allocUnsafe(head + bodyBytes + tailBytes(msg))
    writeFrameHeader(frame, frame.length - FRAME_HEADER_BYTES)
    writeHead(frame, msg, this.branchTag)
    if (cached !== null) frame.set(cached, head)
    else if (msg.entries.length === 0) frame[head] = 0
    else this.remember(msg.entries, encodeSection(msg.entries, frame, head))
    writeTail(frame, head + bodyBytes, msg)
    return frame
  }

  private cachedBody(entries: readonly Entry[]): Buffer | null {
    const last = this.last
    return entries.length > 0 && last !== null && sameEntries(last.entries, entries) ? last.bytes : null
  }

  /** `section` holds the encoded entries section of `entries`; it is never written to again. */
  private remember(entries: readonly Entry[], section: Buffer): Buffer {
    this.last = { entries, bytes: section }
    rememberRun(entries, section.subarray(longBytes(entries.length), section.length - 1))
    return section
  }

  /**
   * The Append in a frame payload (after its union index byte). Throws a
   * plain Error on malformed input; the caller turns it into a WireDecodeError.
   */
  decode(payload: Buffer): AppendRequest {
    const cursor = new AvroCursor(payload, 1)
    const from = this.recentFrom.read(cursor)
    const to = this.recentTo.read(cursor)
    const term = cursor.long()
    const prevIndex = cursor.long()
    const prevTerm = cursor.long()
    const entries: Entry[] = []
    let blocks = 0
    let itemsStart = 0
    let itemsEnd = 0
    for (let count = cursor.blockCount(); count !== 0; count = cursor.blockCount()) {
      if (blocks++ === 0) itemsStart = cursor.offset
      for (let i = 0; i < count; i++) entries.push(readEntry(cursor))
      itemsEnd = cursor.offset
    }
    const commit = cursor.long()
    const fromIncarnation = this.recentFromIncarnation.read(cursor)
    const toIncarnation = this.recentToIncarnation.read(cursor)
    const clockMs = cursor.long()
    if (!cursor.atEnd()) throw new Error('trailing bytes after message')
    // One block (what every encoder writes): its items are exactly the entries' bytes.
    if (blocks === 1) rememberRun(entries, payload.subarray(itemsStart, itemsEnd))
    // The shape avsc's decoder gave: clockMs 0 (unknown) is left out.
    return clockMs === 0
      ? { type: 'Append', from, to, term, prevIndex, prevTerm, entries, commit, fromIncarnation, toIncarnation }
      : { type: 'Append', from, to, term, prevIndex, prevTerm, entries, commit, fromIncarnation, toIncarnation, clockMs }
  }
}

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
