// Encodes a WireMessage straight into a frame (header + Avro union) and
// decodes a frame payload back. The union index is written by hand (one byte:
// there are fewer than 64 branches) and the branch's record encoder runs on
// the message object itself, which saves building avsc's `{Type: value}`
// wrapper per message; the bytes are exactly Avro's union encoding.
import type avro from 'avsc'
import { longBytes, stringBytes, writeLong } from '../codec/avro-bytes.js'
import type { AppendRequest } from '../raft/types.js'
import { assert, fail } from '../util/assert.js'
import { AppendCodec, INLINE_BODY_BYTES_MAX } from './append-codec.js'
import { compileFlatRecordCodec, flatFieldsOf, type FlatRecordCodec } from './flat-record-codec.js'
import { FRAME_HEADER_BYTES, writeFrameHeader } from './frame-codec.js'
import type { SnapshotChunk, WireMessage, WireMessageType } from './wire-message.js'
import { branchIndexByName, WIRE_MESSAGE_SCHEMAS, wireBranchTypes } from './wire-schema.js'

export class WireDecodeError extends Error {
  readonly code = 'ERR_WIRE_DECODE'
  constructor(message: string) {
    super(message)
    this.name = 'WireDecodeError'
  }
}

const NO_BYTES = Buffer.alloc(0)

/** Avro writes a union index as a zigzag varint; below 64 that is the single byte `2 * index`. */
const UNION_INDEX_ONE_BYTE_MAX = 63

export class UnionCodec<T extends { type: string }> {
  private readonly branches: readonly avro.Type[]
  protected readonly indexByName: ReadonlyMap<string, number>
  /** Reused across encodes; grown on demand up to scratchBytesMax, beyond that a one-off buffer. */
  private scratch: Buffer = Buffer.allocUnsafe(16 * 1024)
  private static readonly scratchBytesMax = 1024 * 1024

  constructor(branches: readonly avro.Type[]) {
    assert(branches.length <= UNION_INDEX_ONE_BYTE_MAX + 1, 'union index must fit one byte')
    this.branches = branches
    this.indexByName = branchIndexByName(branches)
  }

  /**
   * A complete frame for `msg`. Throws on a message that does not fit its
   * schema (wrong field type, unsafe integer): that is a programmer error.
   */
  encodeFrame(msg: T): Buffer {
    const encoded = this.encodeScratch(msg)
    const frame = Buffer.allocUnsafe(encoded.length)
    encoded.copy(frame)
    writeFrameHeader(frame, frame.length - FRAME_HEADER_BYTES)
    return frame
  }

  /**
   * `msg` encoded after room for the frame header, in a view of the scratch
   * buffer (or of a one-off buffer when it is too large): valid until the
   * next encode.
   */
  protected encodeScratch(msg: T): Buffer {
    const index = this.indexByName.get(msg.type)
    if (index === undefined) fail(`no wire schema for message type '${msg.type}'`)
    const branch = this.branches[index] as avro.Type
    let buf = this.scratch
    buf[FRAME_HEADER_BYTES] = index * 2
    let end = branch.encode(msg, buf, FRAME_HEADER_BYTES + 1)
    if (end < 0) {
      // encode() reports the missing byte count as a negative number.
      buf = Buffer.allocUnsafe(Math.max(buf.length * 2, buf.length - end))
      if (buf.length <= UnionCodec.scratchBytesMax) this.scratch = buf
      buf[FRAME_HEADER_BYTES] = index * 2
      end = branch.encode(msg, buf, FRAME_HEADER_BYTES + 1)
      assert(end >= 0, 'encode into a buffer of the reported size must fit')
    }
    return buf.subarray(0, end)
  }

  /** The message in a frame payload; throws WireDecodeError for anything that is not exactly one valid message. */
  decode(payload: Buffer): T {
    const tag = payload[0]
    if (tag === undefined || (tag & 1) !== 0 || tag > UNION_INDEX_ONE_BYTE_MAX * 2) {
      throw new WireDecodeError(`invalid union index byte ${String(tag)}`)
    }
    const branch = this.branches[tag >> 1]
    if (branch === undefined) throw new WireDecodeError(`unknown message type index ${tag >> 1}`)
    let result: { value: unknown; offset: number }
    try {
      result = branch.decode(payload, 1)
    } catch (error) {
      throw new WireDecodeError(`undecodable ${branch.name ?? 'message'}: ${(error as Error).message}`)
    }
    if (result.offset < 0) throw new WireDecodeError('truncated message')
    if (result.offset !== payload.length) throw new WireDecodeError('trailing bytes after message')
    return result.value as T
  }

  /** Record name of the branch a payload claims to hold, or null; used for log lines. */
  typeNameOf(payload: Buffer): string | null {
    const tag = payload[0]
    if (tag === undefined || (tag & 1) !== 0) return null
    const branch = this.branches[tag >> 1] as { underlyingType?: { name?: string } } | undefined
    return branch?.underlyingType?.name ?? null
  }
}

/**
 * The peer message codec: Append (the bulk of the bytes) by hand
 * (append-codec.ts: one encoding of a batch shared by every follower, the
 * same bytes as avsc's), flat messages (acks, heartbeats, votes, ReadIndex:
 * every field a string, long or boolean) through codecs generated from their
 * schema (flat-record-codec.ts, the same bytes as avsc's), the rest
 * (snapshots, joins, forwarded writes, admin requests) through avsc.
 */
export class WireCodec extends UnionCodec<WireMessage> {
  private readonly appendTag: number
  private readonly append: AppendCodec
  /** By union index; undefined where the branch is not flat. */
  private readonly flatByIndex: (FlatRecordCodec | undefined)[] = []

  constructor() {
    super(wireBranchTypes)
    const index = this.indexByName.get('Append')
    assert(index !== undefined, 'the wire union has an Append branch')
    this.appendTag = index * 2
    this.append = new AppendCodec(this.appendTag)
    for (const schema of WIRE_MESSAGE_SCHEMAS) {
      const name = (schema as { name: string }).name
      const fields = flatFieldsOf(schema)
      const at = this.indexByName.get(name)
      assert(at !== undefined, `the wire union has a ${name} branch`)
      if (fields !== null) this.flatByIndex[at] = compileFlatRecordCodec(name, at, fields)
    }
  }

  override encodeFrame(msg: WireMessage): Buffer {
    if (msg.type === 'Append') return this.append.encodeFrame(msg)
    const index = this.indexByName.get(msg.type)
    const flat = index === undefined ? undefined : this.flatByIndex[index]
    return flat === undefined ? super.encodeFrame(msg) : flat.encodeFrame(msg)
  }

  /**
   * The frame for `msg`, as one buffer or as parts to be written in order: a
   * large Append's shared entries, or a large snapshot chunk's data, go out
   * as the buffers they are, not copied into the frame.
   */
  encodeFrameParts(msg: WireMessage): Buffer | readonly Buffer[] {
    if (msg.type === 'Append') return this.append.encodeParts(msg)
    if (msg.type === 'SnapshotChunk' && msg.data.length > INLINE_BODY_BYTES_MAX) return this.chunkParts(msg)
    return this.encodeFrame(msg)
  }

  /**
   * [head, data, tail] for a snapshot chunk. Each 512 KiB chunk read from
   * the file was copied twice more, into the scratch buffer and then into
   * an exact frame: ~1 MiB of garbage per chunk (without it the leader's
   * scavenges while it sent a 1M-key snapshot fell by a third to a half,
   * bench/README section 35). `data` must not be written to afterwards (the
   * snapshot reader reads each chunk into a new buffer). The record is
   * encoded with empty data, whose length is the one 0 byte before the
   * fields that follow it; the head ends with the real length instead.
   */
  private chunkParts(msg: SnapshotChunk): readonly Buffer[] {
    const encoded = this.encodeScratch({ ...msg, data: NO_BYTES })
    const tailBytes = longBytes(msg.crc) + stringBytes(msg.fromIncarnation) + stringBytes(msg.toIncarnation) + longBytes(msg.clockMs ?? 0)
    const dataAt = encoded.length - tailBytes - 1
    assert(encoded[dataAt] === 0, 'a snapshot chunk encoded with empty data has its 0 length byte before crc and the stamps')
    const lengthBytes = longBytes(msg.data.length)
    const head = Buffer.allocUnsafe(dataAt + lengthBytes)
    encoded.copy(head, 0, 0, dataAt)
    writeLong(head, dataAt, msg.data.length)
    writeFrameHeader(head, head.length + msg.data.length + tailBytes - FRAME_HEADER_BYTES)
    return [head, msg.data, Buffer.from(encoded.subarray(dataAt + 1))]
  }

  override decode(payload: Buffer): WireMessage {
    const tag = payload[0]
    if (tag === this.appendTag) return this.decodeAppend(payload)
    const flat = tag === undefined || (tag & 1) !== 0 ? undefined : this.flatByIndex[tag >> 1]
    if (flat === undefined) return super.decode(payload)
    try {
      return flat.decode(payload) as WireMessage
    } catch (error) {
      throw new WireDecodeError(`undecodable ${this.typeNameOf(payload) ?? 'message'}: ${(error as Error).message}`)
    }
  }

  private decodeAppend(payload: Buffer): AppendRequest {
    try {
      return this.append.decode(payload)
    } catch (error) {
      throw new WireDecodeError(`undecodable Append: ${(error as Error).message}`)
    }
  }
}

export const wireCodec: WireCodec = new WireCodec()

export function encodeWireFrame(msg: WireMessage): Buffer {
  return wireCodec.encodeFrame(msg)
}

/** The frame for `msg` as one buffer or as parts; see WireCodec.encodeFrameParts. */
export function encodeWireFrameParts(msg: WireMessage): Buffer | readonly Buffer[] {
  return wireCodec.encodeFrameParts(msg)
}

export function decodeWireMessage(payload: Buffer): WireMessage {
  return wireCodec.decode(payload)
}

export const WIRE_MESSAGE_TYPES: readonly WireMessageType[] = wireBranchTypes.map(
  (branch) => (branch as unknown as { underlyingType: { name: WireMessageType } }).underlyingType.name,
)
