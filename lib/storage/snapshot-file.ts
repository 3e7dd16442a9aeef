// Snapshot files: the state machine's bytes plus the SnapshotMeta, behind one
// checksum so a damaged or half-written file is never loaded.
//
// Layout: magic "RKVSNAP2" | metaBytes u32le | dataBytes u48le + 2 zero bytes
//         | crc32c u32le over everything else | meta (Avro) | data
// "RKVSNAP1" files (written before incarnations: members have none) are still read.
import avro from 'avsc'
import type { SnapshotMeta } from '../raft/types.js'
import { crc32c } from '../util/checksum.js'
import type { DurableDir, StagedFile } from './durable-dir.js'
import type { DiskFile } from './file-system.js'
import { fail } from '../util/assert.js'

const magic = Buffer.from('RKVSNAP2', 'latin1')
const magicV1 = Buffer.from('RKVSNAP1', 'latin1')
const headerBytes = 24
const crcOffset = 20

/** What a snapshot file holds besides the state machine's bytes. */
export interface SnapshotHeader {
  readonly meta: SnapshotMeta
  /**
   * Log segments with a lower sequence number hold no entries for this
   * snapshot: it replaced the log (a snapshot installed from the leader).
   * Recovery still reads hard state from them. 0 when nothing was replaced.
   */
  readonly logStartSeq: number
}

export interface LoadedSnapshot extends SnapshotHeader {
  readonly data: Buffer
}

const memberFieldsV1 = [
  { name: 'id', type: 'string' },
  { name: 'addr', type: 'string' },
  { name: 'role', type: { type: 'enum', name: 'MemberRole', symbols: ['voter', 'learner'] } },
]
const headerTypeV1 = headerTypeWith(memberFieldsV1)
const headerType = headerTypeWith([...memberFieldsV1, { name: 'incarnation', type: 'string', default: '' }])

function headerTypeWith(memberFields: readonly object[]): avro.Type {
  return avro.Type.forSchema({
  type: 'record',
  name: 'SnapshotHeader',
  fields: [
    { name: 'index', type: 'long' },
    { name: 'term', type: 'long' },
    {
      name: 'config',
      type: {
        type: 'record',
        name: 'Config',
        fields: [{
          name: 'members',
          type: {
            type: 'array',
            items: {
              type: 'record',
              name: 'Member',
              fields: memberFields,
            },
          },
        }],
      },
    },
    { name: 'logStartSeq', type: 'long' },
  ],
  } as avro.Schema)
}

interface AvroHeader {
  index: number
  term: number
  config: SnapshotMeta['config']
  logStartSeq: number
}

const namePattern = /^snapshot-(\d{20})\.snap$/

export function snapshotFileName(index: number): string {
  return `snapshot-${String(index).padStart(20, '0')}.snap`
}

/** The snapshot index a file name stands for, or null for other files. */
export function parseSnapshotFileName(name: string): number | null {
  const match = namePattern.exec(name)
  return match?.[1] === undefined ? null : Number(match[1])
}

/** The file's bytes as parts (header+meta, data) so the data is not copied. */
export function encodeSnapshotFile(header: SnapshotHeader, data: Buffer): Buffer[] {
  const { head, crc } = snapshotFileHead(header, data.length)
  head.writeUInt32LE(crc32c(data, crc), crcOffset)
  return [head, data]
}

/**
 * The file's header and meta for `dataBytes` of data, and the checksum of
 * the bytes it covers so far: the data's bytes are added to it, then it
 * goes at crcOffset (left zero here).
 */
function snapshotFileHead(header: SnapshotHeader, dataBytes: number): { head: Buffer; crc: number } {
  const members = header.meta.config.members.map((m) => ({ id: m.id, addr: m.addr, role: m.role, incarnation: m.incarnation ?? '' }))
  const avroHeader: AvroHeader = { ...header.meta, config: { members }, logStartSeq: header.logStartSeq }
  const metaBuf = headerType.toBuffer(avroHeader)
  const head = Buffer.alloc(headerBytes + metaBuf.length)
  magic.copy(head, 0)
  head.writeUInt32LE(metaBuf.length, 8)
  head.writeUIntLE(dataBytes, 12, 6)
  metaBuf.copy(head, headerBytes)
  return { head, crc: crc32c(metaBuf, crc32c(head.subarray(0, crcOffset))) }
}

/**
 * A snapshot file written while its data is still being encoded (a node's
 * own snapshot, streamed in chunks: no buffer of the whole state). The
 * data's length is known up front and goes in the header; the checksum is
 * written into the header last, before the fsync. Until `finish` the file
 * is a tmp file that recovery removes.
 */
export class SnapshotFileWriter {
  private position: number
  private readonly end: number

  private constructor(
    private readonly file: StagedFile,
    private crc: number,
    headBytes: number,
    dataBytes: number,
  ) {
    this.position = headBytes
    this.end = headBytes + dataBytes
  }

  /** Creates the tmp file for `name` and writes the header. */
  static async open(dir: DurableDir, name: string, header: SnapshotHeader, dataBytes: number): Promise<SnapshotFileWriter> {
    const { head, crc } = snapshotFileHead(header, dataBytes)
    const file = await dir.openStaged(name)
    try {
      await file.write(head, 0)
    } catch (error) {
      await file.close()
      throw error
    }
    return new SnapshotFileWriter(file, crc, head.length, dataBytes)
  }

  /** Appends the next bytes of the data; `chunk` may be reused once this resolves. */
  async write(chunk: Buffer): Promise<void> {
    if (this.position + chunk.length > this.end) fail(`snapshot file: ${this.position + chunk.length - this.end} bytes past the announced length`)
    this.crc = crc32c(chunk, this.crc)
    const at = this.position
    this.position += chunk.length
    await this.file.write(chunk, at)
  }

  /** Seals the header's checksum, fsyncs and closes; the tmp file's name, for DurableDir.commitStaged. */
  async finish(): Promise<string> {
    if (this.position !== this.end) fail(`snapshot file: ${this.end - this.position} bytes of data missing`)
    const crc = Buffer.allocUnsafe(4)
    crc.writeUInt32LE(this.crc, 0)
    await this.file.write(crc, crcOffset)
    return this.file.finish()
  }

  /** Gives the file up: closed and removed. */
  discard(): Promise<void> {
    return this.file.discard()
  }

  /** Closes the file, leaving it for recovery to remove (after a write failed). */
  close(): Promise<void> {
    return this.file.close()
  }
}

/**
 * Checks and decodes a snapshot file's bytes (also a backup's: lib/backup).
 * Returns the reason they are unusable as a string: truncated, longer than
 * the header says, not a snapshot file, or a checksum mismatch.
 */
export function decodeSnapshotFile(buf: Buffer): LoadedSnapshot | string {
  const v1 = buf.length >= 8 && buf.subarray(0, 8).equals(magicV1)
  if (buf.length >= 8 && !(v1 || buf.subarray(0, 8).equals(magic))) return 'not a raftkv snapshot file (bad magic)'
  if (buf.length < headerBytes) return `truncated: ${buf.length} bytes, shorter than the ${headerBytes}-byte header`
  const metaBytes = buf.readUInt32LE(8)
  const dataBytes = buf.readUIntLE(12, 6)
  const expectedBytes = headerBytes + metaBytes + dataBytes
  if (buf.length < expectedBytes) return `truncated: ${buf.length} bytes of the ${expectedBytes} its header announces`
  if (buf.length > expectedBytes) return `${buf.length} bytes, longer than the ${expectedBytes} its header announces`
  let crc = crc32c(buf.subarray(0, crcOffset))
  crc = crc32c(buf.subarray(headerBytes), crc)
  if (crc !== buf.readUInt32LE(crcOffset)) return 'checksum mismatch'
  const metaEnd = headerBytes + metaBytes
  let raw: AvroHeader
  try {
    raw = (v1 ? headerTypeV1 : headerType).fromBuffer(buf.subarray(headerBytes, metaEnd)) as AvroHeader
  } catch (error) {
    return `undecodable header: ${String(error)}`
  }
  return {
    meta: metaOf(raw),
    logStartSeq: raw.logStartSeq,
    data: buf.subarray(metaEnd),
  }
}

/** What a snapshot file reader finds wrong with the file's content (not an I/O error). */
export class SnapshotFileDamagedError extends Error {
  override readonly name = 'SnapshotFileDamagedError'
}

/**
 * A snapshot file opened to stream its data section (to a follower) without
 * loading it: the header and meta are read and checked on open, the data is
 * read in chunks at positions. The whole file's checksum is computed as the
 * data is first read in order, and the read that reaches the end rejects on
 * a mismatch, so a damaged file's last bytes are never handed out.
 * The open handle keeps the file readable if compaction unlinks it meanwhile.
 */
export class SnapshotFileReader {
  /** The data section's first byte in the file. */
  private readonly dataStart: number
  /** Data below this offset went into `crc`. */
  private crcOffset = 0
  private crc: number
  private closed = false
  /** Settles when the last read issued has. */
  private queue: Promise<void> = Promise.resolve()

  private constructor(
    private readonly file: DiskFile,
    readonly meta: SnapshotMeta,
    /** As in SnapshotHeader. */
    readonly logStartSeq: number,
    readonly dataBytes: number,
    metaBytes: number,
    crcSeed: number,
    private readonly expectedCrc: number,
    private readonly onClose: (reader: SnapshotFileReader) => void,
  ) {
    this.dataStart = headerBytes + metaBytes
    this.crc = crcSeed
  }

  /**
   * Reads and checks the header of an open snapshot file. Returns the reason
   * it is unusable as a string; the caller then closes `file`. `onClose`
   * runs when the reader is closed.
   */
  static async open(file: DiskFile, onClose: (reader: SnapshotFileReader) => void = () => {}): Promise<SnapshotFileReader | string> {
    const head = Buffer.alloc(headerBytes)
    if (await readFully(file, head, 0) < headerBytes) return 'truncated header'
    const v1 = head.subarray(0, 8).equals(magicV1)
    if (!v1 && !head.subarray(0, 8).equals(magic)) return 'not a raftkv snapshot file (bad magic)'
    const metaBytes = head.readUInt32LE(8)
    const dataBytes = head.readUIntLE(12, 6)
    const metaBuf = Buffer.alloc(metaBytes)
    if (await readFully(file, metaBuf, headerBytes) < metaBytes) return 'truncated meta'
    let raw: AvroHeader
    try {
      raw = (v1 ? headerTypeV1 : headerType).fromBuffer(metaBuf) as AvroHeader
    } catch (error) {
      return `undecodable header: ${String(error)}`
    }
    const crcSeed = crc32c(metaBuf, crc32c(head.subarray(0, crcOffset)))
    return new SnapshotFileReader(file, metaOf(raw), raw.logStartSeq, dataBytes, metaBytes, crcSeed, head.readUInt32LE(crcOffset), onClose)
  }

  /**
   * `length` bytes of the data section from `offset` (a new buffer). Rejects
   * when the file ends early, when the reader is closed, or when this read
   * completes the checksum and it does not match. Reads run one at a time.
   */
  read(offset: number, length: number): Promise<Buffer> {
    return this.queued(() => this.readNow(offset, Buffer.allocUnsafe(Math.max(0, Math.min(length, this.dataBytes - offset)))))
  }

  /**
   * The same as `read`, into `into` (a reused buffer) rather than a new one:
   * answers the part of it filled, as many bytes as it holds unless the data
   * ends first.
   */
  readInto(offset: number, into: Buffer): Promise<Buffer> {
    return this.queued(() => this.readNow(offset, into.subarray(0, Math.max(0, Math.min(into.length, this.dataBytes - offset)))))
  }

  /**
   * Reads the whole data section in order through `into`, to check the
   * checksum without holding the data. Answers what is wrong with the file
   * (it ends early, or the checksum does not match), or null; an I/O error
   * rejects.
   */
  async verify(into: Buffer): Promise<string | null> {
    try {
      for (let offset = 0; offset < this.dataBytes;) offset += (await this.readInto(offset, into)).length
    } catch (error) {
      if (error instanceof SnapshotFileDamagedError) return error.message
      throw error
    }
    return this.dataBytes === 0 && this.crc !== this.expectedCrc ? 'checksum mismatch' : null
  }

  /**
   * Idempotent. Waits for a read in flight first: the descriptor must not
   * be closed (and its number reused) under a read the thread pool runs.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.onClose(this)
    await this.queue
    await this.file.close()
  }

  private queued(read: () => Promise<Buffer>): Promise<Buffer> {
    const result = this.queue.then(read)
    this.queue = result.then(() => undefined, () => undefined)
    return result
  }

  /** Fills `data` from the data section's `offset`; `data` ends at or before the data's end. */
  private async readNow(offset: number, data: Buffer): Promise<Buffer> {
    if (this.closed) throw new Error('snapshot file reader is closed')
    const end = offset + data.length
    if (await readFully(this.file, data, this.dataStart + offset) < data.length) throw new SnapshotFileDamagedError(`snapshot file ends before its data's byte ${end}`)
    if (offset === this.crcOffset && data.length > 0) {
      this.crc = crc32c(data, this.crc)
      this.crcOffset = end
      if (end === this.dataBytes && this.crc !== this.expectedCrc) throw new SnapshotFileDamagedError('snapshot file checksum mismatch')
    }
    return data
  }
}

/** Fills `into` from `position` unless the file ends first; resolves with the bytes read. */
async function readFully(file: DiskFile, into: Buffer, position: number): Promise<number> {
  let done = 0
  while (done < into.length) {
    const n = await file.read(into, done, into.length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

function metaOf(raw: AvroHeader): SnapshotMeta {
  // '' (or a v1 file, which has none) decodes to no incarnation, as the core writes it.
  const members = raw.config.members.map((m) => (m.incarnation === undefined || m.incarnation === '' ? { id: m.id, addr: m.addr, role: m.role } : { id: m.id, addr: m.addr, role: m.role, incarnation: m.incarnation }))
  return { index: raw.index, term: raw.term, config: { members } }
}
