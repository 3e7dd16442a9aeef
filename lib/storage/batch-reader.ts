// A direct reader for the Avro encoding of LogBatch (schema in
// entry-codec.ts, written by avsc). Start-up decodes every entry in the log,
// and avsc's generic decoder builds an intermediate record per entry and
// copies each payload; reading straight into Entry objects, with payloads as
// views of the segment buffer, makes recovery of 1,000,000 entries about
// twice as fast. test/storage/batch-reader.test.ts checks it against avsc.
import type { Config, Entry, HardState, Member } from '../raft/types.js'
import type { LogBatch } from './entry-codec.js'

const entryKinds = ['normal', 'noop', 'config'] as const
const memberRoles = ['voter', 'learner'] as const

class AvroCursor {
  offset: number
  constructor(
    private readonly buf: Buffer,
    offset: number,
  ) {
    this.offset = offset
  }

  /** Avro long: zigzag varint. Exact up to 2^53, the most avsc writes. */
  long(): number {
    let result = 0
    let scale = 1
    for (let shift = 0; shift < 64; shift += 7) {
      const byte = this.byte()
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2
      scale *= 128
    }
    throw new Error(`varint too long at ${this.offset}`)
  }

  /** A view, not a copy: the segment buffer stays alive as long as its entries do. */
  bytes(): Buffer {
    const length = this.long()
    const end = this.offset + length
    if (length < 0 || end > this.buf.length) throw new Error(`bytes of length ${length} overrun the record at ${this.offset}`)
    const view = this.buf.subarray(this.offset, end)
    this.offset = end
    return view
  }

  string(): string {
    const view = this.bytes()
    return view.toString('utf8')
  }

  /** An enum symbol or union branch index, checked against `count`. */
  index(count: number): number {
    const index = this.long()
    if (index < 0 || index >= count) throw new Error(`index ${index} out of range ${count} at ${this.offset}`)
    return index
  }

  /** Reads an Avro array, block by block. */
  array<T>(item: () => T): T[] {
    const items: T[] = []
    for (;;) {
      let count = this.long()
      if (count === 0) return items
      if (count < 0) {
        count = -count
        this.long() // block size in bytes, only useful for skipping
      }
      for (let i = 0; i < count; i++) items.push(item())
    }
  }

  atEnd(): boolean {
    return this.offset === this.buf.length
  }

  private byte(): number {
    const byte = this.buf[this.offset]
    if (byte === undefined) throw new Error('record ends inside a value')
    this.offset++
    return byte
  }
}

function readHardState(cursor: AvroCursor): HardState {
  const term = cursor.long()
  const vote = cursor.string()
  return { term, vote, commit: cursor.long() }
}

/** `withIncarnation`: record type 2 (entry-codec.ts); '' decodes to no incarnation, as avsc's path does. */
function readMember(cursor: AvroCursor, withIncarnation: boolean): Member {
  const id = cursor.string()
  const addr = cursor.string()
  const role = memberRoles[cursor.index(memberRoles.length)] ?? 'voter'
  const incarnation = withIncarnation ? cursor.string() : ''
  return incarnation === '' ? { id, addr, role } : { id, addr, role, incarnation }
}

function readConfig(cursor: AvroCursor, withIncarnation: boolean): Config {
  return { members: cursor.array(() => readMember(cursor, withIncarnation)) }
}

function readEntry(cursor: AvroCursor, withIncarnation: boolean): Entry {
  const index = cursor.long()
  const term = cursor.long()
  const kind = entryKinds[cursor.index(entryKinds.length)]
  const data = cursor.bytes()
  const config = cursor.index(2) === 1 ? readConfig(cursor, withIncarnation) : null
  if (kind === 'normal') return { index, term, kind, data }
  if (kind === 'noop') return { index, term, kind }
  if (config === null) throw new Error(`config entry ${index} has no config`)
  return { index, term, kind: 'config', config }
}

/** Decodes the Avro part of a batch record (after its type byte). Throws on malformed input. */
export function readBatch(buf: Buffer, offset: number, withIncarnation: boolean): LogBatch {
  const cursor = new AvroCursor(buf, offset)
  const hardState = cursor.index(2) === 1 ? readHardState(cursor) : null
  const entries = cursor.array(() => readEntry(cursor, withIncarnation))
  if (!cursor.atEnd()) throw new Error(`${buf.length - cursor.offset} unexpected bytes after the batch`)
  return { hardState, entries }
}
