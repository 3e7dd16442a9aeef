// Start-up recovery: read DATA_DIR back into memory. Loads the newest valid
// snapshot, then replays every segment in sequence order: hard state from
// all of them (latest wins), entries only from segments the snapshot did not
// void, keeping in memory the data of the newest only (up to the node's
// LOG_CACHE_BYTES: the older ones are described by columns and read back
// from the log when needed). Zeros after a segment's last record are its clean end (preallocated
// space); a torn tail of the newest segment is cut off (zeroed); any other
// damage stops start-up with a StorageCorruptionError.
import { KIND_CONFIG, KIND_NOOP, KIND_NORMAL, type Config, type Entry, type HardState, type ReleasedEntries } from '../raft/types.js'
import type { Logger } from '../util/logger.js'
import { StorageCorruptionError } from './errors.js'
import { tmpSuffix, type DurableDir } from './durable-dir.js'
import { decodeBatch } from './entry-codec.js'
import { LogReader } from './log-reader.js'
import { parseSegmentFileName, readSegment, segmentFileName } from './log-segment.js'
import { metadataFileName, readMetadataFile } from './metadata-file.js'
import { recordHeaderBytes } from './record-codec.js'
import { parseSnapshotFileName, SnapshotFileReader, type SnapshotHeader } from './snapshot-file.js'

export const initialHardState: HardState = Object.freeze({ term: 0, vote: '', commit: 0 })

/** What compaction needs to know about a segment. */
export interface SegmentInfo {
  readonly seq: number
  readonly name: string
  /**
   * The highest entry index this segment still holds that no later record
   * replaced; 0 when none. The segment may go once a snapshot covers it.
   */
  lastIndex: number
}

/** The newest snapshot whose file checked out; its bytes stay in the file. */
export interface RecoveredSnapshot extends SnapshotHeader {
  readonly name: string
}

export interface Recovery {
  readonly hardState: HardState
  readonly snapshot: RecoveredSnapshot | null
  /** The entries after the snapshot that replay did not keep in memory (null when none): they come first. */
  readonly released: ReleasedEntries | null
  /** The entries after those, with their data. */
  readonly entries: Entry[]
  /** Where each of those entries' batch record is, to read them back later. */
  readonly reader: LogReader
  /** Oldest first, with the newest segment's valid length, file length and record count. */
  readonly segments: SegmentInfo[]
  readonly newestSegmentBytes: number
  readonly newestSegmentFileBytes: number
  readonly newestSegmentRecords: number
  readonly metadata: Map<string, string>
  readonly fresh: boolean
}

/**
 * `heldBytesMax`: how many bytes of entry data replay keeps in memory, the
 * newest ones (the node's LOG_CACHE_BYTES); older entries come back as
 * `released` columns and are read from the log again when needed.
 */
export async function recover(dir: DurableDir, logger: Logger, heldBytesMax = Infinity): Promise<Recovery> {
  const names = await dir.names()
  await removeLeftovers(dir, names, logger)
  const metadata = await loadMetadata(dir)
  const snapshot = await loadNewestSnapshot(dir, names, logger)
  const replay = await replaySegments(dir, names, snapshot, new LogReader(dir, logger), heldBytesMax, logger)
  // Names a killed process created, renamed or removed may not be durable
  // yet; this node is about to act on the directory as it read it.
  await dir.syncDir()
  const fresh = snapshot === null && !replay.sawEntries && metadata === null &&
    replay.hardState.term === 0 && replay.hardState.vote === '' && replay.hardState.commit === 0
  return { ...replay, snapshot, metadata: metadata ?? new Map(), fresh }
}

/** `*.tmp` files are snapshot or metadata writes a crash interrupted before their rename. */
async function removeLeftovers(dir: DurableDir, names: readonly string[], logger: Logger): Promise<void> {
  for (const name of names) {
    if (!name.endsWith(tmpSuffix)) continue
    logger.info({ file: dir.file(name) }, `removing ${name}: an unfinished write interrupted by a crash`)
    await dir.remove(name)
  }
}

async function loadMetadata(dir: DurableDir): Promise<Map<string, string> | null> {
  const path = dir.file(metadataFileName)
  const result = await dir.io('read', metadataFileName, () => readMetadataFile(dir.fs, path))
  // It is only ever replaced by rename after an fsync, so damage is not a crash's doing.
  if (typeof result === 'string') throw new StorageCorruptionError(path, 0, result)
  return result
}

async function loadNewestSnapshot(
  dir: DurableDir,
  names: readonly string[],
  logger: Logger,
): Promise<RecoveredSnapshot | null> {
  const candidates = names
    .map((name) => ({ name, index: parseSnapshotFileName(name) }))
    .filter((c): c is { name: string; index: number } => c.index !== null)
    .sort((a, b) => b.index - a.index)
  // One chunk for every candidate's check: the file is read through, not held.
  const chunk = Buffer.allocUnsafe(snapshotCheckChunkBytes)
  for (const { name, index } of candidates) {
    const checked = await dir.io('read', name, () => checkSnapshotFile(dir, name, chunk))
    const problem = typeof checked === 'string'
      ? checked
      : checked.meta.index === index ? null : `holds index ${checked.meta.index}, not ${index}`
    if (problem === null && typeof checked !== 'string') return { name, ...checked }
    // An older snapshot may still do, if the log reaches back to it; replay checks that.
    logger.error({ file: dir.file(name), problem }, `skipping unusable snapshot ${name}: ${String(problem)}`)
  }
  return null
}

/** Reads of a snapshot file checked at start-up. */
const snapshotCheckChunkBytes = 1024 * 1024

/**
 * Reads a snapshot file through to its checksum; answers its header, or the
 * reason it is unusable. The state machine restores from the file later
 * (NodeStorage.openSnapshot), so the data is never all in memory at once.
 */
async function checkSnapshotFile(dir: DurableDir, name: string, chunk: Buffer): Promise<SnapshotHeader | string> {
  const file = await dir.open(name, 'read')
  let reader: SnapshotFileReader | string | null = null
  try {
    reader = await SnapshotFileReader.open(file)
    if (typeof reader === 'string') return reader
    return await reader.verify(chunk) ?? { meta: reader.meta, logStartSeq: reader.logStartSeq }
  } finally {
    if (reader !== null && typeof reader !== 'string') await reader.close()
    else await file.close()
  }
}

interface Replay {
  hardState: HardState
  released: ReleasedEntries | null
  entries: Entry[]
  reader: LogReader
  segments: SegmentInfo[]
  newestSegmentBytes: number
  newestSegmentFileBytes: number
  newestSegmentRecords: number
  sawEntries: boolean
}

async function replaySegments(
  dir: DurableDir,
  names: readonly string[],
  snapshot: RecoveredSnapshot | null,
  reader: LogReader,
  heldBytesMax: number,
  logger: Logger,
): Promise<Replay> {
  const seqs = names.map(parseSegmentFileName).filter((s): s is number => s !== null).sort((a, b) => a - b)
  const snapshotIndex = snapshot?.meta.index ?? 0
  const logStartSeq = snapshot?.logStartSeq ?? 0
  const replay: Replay = {
    hardState: initialHardState,
    released: null,
    entries: [],
    reader,
    segments: [],
    newestSegmentBytes: 0,
    newestSegmentFileBytes: 0,
    newestSegmentRecords: 0,
    sawEntries: false,
  }
  const log = new ReplayLog(snapshotIndex, heldBytesMax)
  for (const [position, seq] of seqs.entries()) {
    const info: SegmentInfo = { seq, name: segmentFileName(seq), lastIndex: 0 }
    const path = dir.file(info.name)
    const isNewest = position === seqs.length - 1
    const read = await readSegment(dir, info.name, isNewest, logger, (payload, offset) => {
      const batch = decodeBatch(payload)
      if (batch.hardState !== null) replay.hardState = batch.hardState
      if (batch.entries.length === 0) return
      replay.sawEntries = true
      if (seq < logStartSeq) return
      log.apply(batch.entries, path, offset)
      const first = batch.entries[0]?.index ?? 0
      reader.noteRecord(first, batch.entries[batch.entries.length - 1]?.index ?? 0, seq, offset, recordHeaderBytes + payload.length)
      for (const older of replay.segments) older.lastIndex = Math.min(older.lastIndex, first - 1)
      info.lastIndex = batch.entries[batch.entries.length - 1]?.index ?? 0
    })
    replay.segments.push(info)
    if (isNewest) {
      replay.newestSegmentBytes = read.validBytes
      replay.newestSegmentFileBytes = read.fileBytes
      replay.newestSegmentRecords = read.records
    }
  }
  log.finish()
  const replayedLast = log.lastIndex()
  if (snapshot !== null) dropSuperseded(log, snapshot, logger)
  const lastIndex = log.lastIndex()
  const { released, held } = log.take()
  replay.released = released
  replay.entries = held
  reader.forgetThrough(snapshotIndex)
  reader.forgetFrom(lastIndex + 1)
  // Commit is volatile state (the leader tells it again): it points no further than the entries kept.
  if (lastIndex < replayedLast && replay.hardState.commit > lastIndex) replay.hardState = { ...replay.hardState, commit: lastIndex }
  return replay
}

/**
 * Raft terms never decrease along a log, so entries after the snapshot with
 * a lower term than the snapshot's are from a leader that the snapshot's
 * leader superseded: a batch that truncated them never reached the disk
 * before the node crashed, while the snapshot (taken from entries applied
 * before they were stored here) did. None of them can be committed: a
 * committed entry past the snapshot's index follows it in every later
 * leader's log, so its term is at least the snapshot's. They are dropped
 * (issue 15, finding 3).
 */
function dropSuperseded(log: ReplayLog, snapshot: RecoveredSnapshot, logger: Logger): void {
  const cut = log.firstIndexWithTermBelow(snapshot.meta.term)
  if (cut === 0) return
  const dropped = log.lastIndex() - cut + 1
  const droppedTerm = log.termAt(cut)
  logger.warn(
    { snapshotIndex: snapshot.meta.index, snapshotTerm: snapshot.meta.term, droppedFrom: cut, droppedTerm, dropped },
    `dropped ${dropped} log entries from index ${cut} (term ${droppedTerm}): older than the snapshot at ${snapshot.meta.index} (term ${snapshot.meta.term}), so superseded and never committed`,
  )
  log.truncateFrom(cut)
}

const RUN_SLOTS_FIRST = 1024

/**
 * A contiguous run of replayed entries, as columns (term, kind, data length,
 * and the configs), and where its first batch was read.
 */
class ColumnRun {
  count = 0
  terms = new Float64Array(RUN_SLOTS_FIRST)
  kinds = new Uint8Array(RUN_SLOTS_FIRST)
  dataBytes = new Uint32Array(RUN_SLOTS_FIRST)
  configs: { index: number; config: Config }[] = []

  constructor(
    readonly first: number,
    readonly file: string,
    readonly offset: number,
  ) {}

  push(e: Entry): void {
    if (this.count === this.terms.length) this.grow()
    const i = this.count++
    this.terms[i] = e.term
    if (e.kind === 'normal') {
      this.kinds[i] = KIND_NORMAL
      this.dataBytes[i] = e.data.length
    } else if (e.kind === 'noop') {
      this.kinds[i] = KIND_NOOP
      this.dataBytes[i] = 0
    } else {
      this.kinds[i] = KIND_CONFIG
      this.dataBytes[i] = 0
      this.configs.push({ index: e.index, config: e.config })
    }
  }

  /** Keeps the first `count` entries. */
  keep(count: number): void {
    if (count >= this.count) return
    this.count = count
    const end = this.first + count
    while (this.configs.length > 0 && (this.configs[this.configs.length - 1] as { index: number }).index >= end) this.configs.pop()
  }

  private grow(): void {
    const slots = this.terms.length * 2
    const terms = new Float64Array(slots)
    terms.set(this.terms)
    const kinds = new Uint8Array(slots)
    kinds.set(this.kinds)
    const dataBytes = new Uint32Array(slots)
    dataBytes.set(this.dataBytes)
    this.terms = terms
    this.kinds = kinds
    this.dataBytes = dataBytes
  }
}

/**
 * The log being replayed. A batch replaces everything from its first index
 * on, exactly as persist() did when it wrote it. Runs, not one, because a
 * gap may be legitimate for a while: a segment can start with stale entries
 * that a later truncating batch replaces (the older segments they followed
 * were compacted). Only a gap left at the end is corruption.
 *
 * Every entry is kept as columns; only the newest, up to `heldBytesMax` of
 * data, are kept as the Entry objects decoded (`held`), so a long log since
 * the last snapshot does not have to fit in memory at start-up.
 */
class ReplayLog {
  private readonly runs: ColumnRun[] = []
  /** The newest entries with their data, contiguous and ending at the last run's end; live from heldStart on. */
  private held: Entry[] = []
  private heldStart = 0
  private heldBytes = 0

  constructor(
    private readonly snapshotIndex: number,
    private readonly heldBytesMax: number,
  ) {}

  apply(entries: readonly Entry[], file: string, offset: number): void {
    const first = entries[0]
    if (first === undefined) return
    this.truncateFrom(first.index)
    // Entries the snapshot covers are dropped; their truncation above still counts.
    const kept = first.index > this.snapshotIndex ? entries : entries.slice(this.snapshotIndex + 1 - first.index)
    const head = kept[0]
    if (head === undefined) return
    let run = this.runs[this.runs.length - 1]
    if (run === undefined || run.first + run.count !== head.index) {
      run = new ColumnRun(head.index, file, offset)
      this.runs.push(run)
      this.dropHeld()
    }
    for (const entry of kept) {
      run.push(entry)
      this.held.push(entry)
      this.heldBytes += heldBytesOf(entry)
    }
    while (this.heldBytes > this.heldBytesMax && this.heldStart < this.held.length) {
      this.heldBytes -= heldBytesOf(this.held[this.heldStart++] as Entry)
    }
    if (this.heldStart > 1024 && this.heldStart * 2 > this.held.length) {
      this.held = this.held.slice(this.heldStart)
      this.heldStart = 0
    }
  }

  /** Throws StorageCorruptionError if a gap remains. */
  finish(): void {
    let expected = this.snapshotIndex + 1
    for (const run of this.runs) {
      if (run.count === 0) continue
      if (run.first !== expected) {
        throw new StorageCorruptionError(run.file, run.offset,
          `entries from index ${run.first} do not follow the log ending at ${expected - 1} ` +
          `(snapshot index ${this.snapshotIndex}): a gap`)
      }
      expected = run.first + run.count
    }
  }

  /** The last index replayed (the snapshot's when none); after finish(), the log is one run. */
  lastIndex(): number {
    const run = this.runs[0]
    return run === undefined ? this.snapshotIndex : run.first + run.count - 1
  }

  termAt(index: number): number {
    const run = this.runs[0] as ColumnRun
    return run.terms[index - run.first] as number
  }

  /** The first index whose term is below `term`, or 0 when none (after finish()). */
  firstIndexWithTermBelow(term: number): number {
    const run = this.runs[0]
    if (run === undefined) return 0
    for (let i = 0; i < run.count; i++) if ((run.terms[i] as number) < term) return run.first + i
    return 0
  }

  /** After finish(): the entries not held, as columns, and the held ones after them. */
  take(): { released: ReleasedEntries | null; held: Entry[] } {
    const run = this.runs[0]
    const held = this.held.slice(this.heldStart)
    if (run === undefined) return { released: null, held }
    const firstHeld = held[0]?.index ?? run.first + run.count
    const count = firstHeld - run.first
    if (count === 0) return { released: null, held }
    return {
      released: {
        terms: run.terms.subarray(0, count),
        kinds: run.kinds.subarray(0, count),
        dataBytes: run.dataBytes.subarray(0, count),
        configs: run.configs.filter((c) => c.index < firstHeld),
      },
      held,
    }
  }

  truncateFrom(index: number): void {
    for (;;) {
      const run = this.runs[this.runs.length - 1]
      if (run === undefined) break
      if (run.first < index) {
        run.keep(index - run.first)
        break
      }
      this.runs.pop()
    }
    // Held entries end where the last run ends: cut them to the same index.
    let end = this.held.length
    while (end > this.heldStart && (this.held[end - 1] as Entry).index >= index) {
      this.heldBytes -= heldBytesOf(this.held[end - 1] as Entry)
      end--
    }
    this.held.length = end
    if (this.heldStart === end) this.dropHeld()
  }

  private dropHeld(): void {
    this.held = []
    this.heldStart = 0
    this.heldBytes = 0
  }
}

function heldBytesOf(e: Entry): number {
  return e.kind === 'normal' ? e.data.length : 0
}
