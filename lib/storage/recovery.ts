// Start-up recovery: read DATA_DIR back into memory. Loads the newest valid
// snapshot, then replays every segment in sequence order: hard state from
// all of them (latest wins), entries only from segments the snapshot did not
// void. Zeros after a segment's last record are its clean end (preallocated
// space); a torn tail of the newest segment is cut off (zeroed); any other
// damage stops start-up with a StorageCorruptionError.
import type { Entry, HardState } from '../raft/types.js'
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

export async function recover(dir: DurableDir, logger: Logger): Promise<Recovery> {
  const names = await dir.names()
  await removeLeftovers(dir, names, logger)
  const metadata = await loadMetadata(dir)
  const snapshot = await loadNewestSnapshot(dir, names, logger)
  const replay = await replaySegments(dir, names, snapshot, new LogReader(dir, logger), logger)
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
  logger: Logger,
): Promise<Replay> {
  const seqs = names.map(parseSegmentFileName).filter((s): s is number => s !== null).sort((a, b) => a - b)
  const snapshotIndex = snapshot?.meta.index ?? 0
  const logStartSeq = snapshot?.logStartSeq ?? 0
  const replay: Replay = {
    hardState: initialHardState,
    entries: [],
    reader,
    segments: [],
    newestSegmentBytes: 0,
    newestSegmentFileBytes: 0,
    newestSegmentRecords: 0,
    sawEntries: false,
  }
  const log = new ReplayLog(snapshotIndex)
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
  const replayed = log.finish()
  replay.entries = dropSuperseded(replayed, snapshot, logger)
  const lastIndex = snapshotIndex + replay.entries.length
  reader.forgetThrough(snapshotIndex)
  reader.forgetFrom(lastIndex + 1)
  // Commit is volatile state (the leader tells it again): it points no further than the entries kept.
  if (replay.entries.length < replayed.length && replay.hardState.commit > lastIndex) replay.hardState = { ...replay.hardState, commit: lastIndex }
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
function dropSuperseded(entries: Entry[], snapshot: RecoveredSnapshot | null, logger: Logger): Entry[] {
  if (snapshot === null) return entries
  const cut = entries.findIndex((e) => e.term < snapshot.meta.term)
  if (cut < 0) return entries
  const first = entries[cut] as Entry
  logger.warn(
    { snapshotIndex: snapshot.meta.index, snapshotTerm: snapshot.meta.term, droppedFrom: first.index, droppedTerm: first.term, dropped: entries.length - cut },
    `dropped ${entries.length - cut} log entries from index ${first.index} (term ${first.term}): older than the snapshot at ${snapshot.meta.index} (term ${snapshot.meta.term}), so superseded and never committed`,
  )
  return entries.slice(0, cut)
}

/** A contiguous run of replayed entries and where its first batch was read. */
interface Run {
  readonly entries: Entry[]
  readonly file: string
  readonly offset: number
}

/**
 * The log being replayed. A batch replaces everything from its first index
 * on, exactly as persist() did when it wrote it. Runs, not one array, because
 * a gap may be legitimate for a while: a segment can start with stale entries
 * that a later truncating batch replaces (the older segments they followed
 * were compacted). Only a gap left at the end is corruption.
 */
class ReplayLog {
  private readonly runs: Run[] = []

  constructor(private readonly snapshotIndex: number) {}

  apply(entries: readonly Entry[], file: string, offset: number): void {
    const first = entries[0]
    if (first === undefined) return
    this.truncateFrom(first.index)
    // Entries the snapshot covers are dropped; their truncation above still counts.
    const kept = first.index > this.snapshotIndex ? entries : entries.slice(this.snapshotIndex + 1 - first.index)
    const head = kept[0]
    if (head === undefined) return
    const last = this.runs[this.runs.length - 1]
    const lastEntry = last?.entries[last.entries.length - 1]
    if (last !== undefined && lastEntry !== undefined && lastEntry.index === head.index - 1) {
      for (const entry of kept) last.entries.push(entry)
    } else {
      this.runs.push({ entries: kept.slice(), file, offset })
    }
  }

  /** The replayed entries; throws StorageCorruptionError if any gap remains. */
  finish(): Entry[] {
    let expected = this.snapshotIndex + 1
    for (const run of this.runs) {
      const start = run.entries[0]?.index ?? expected
      if (start !== expected) {
        throw new StorageCorruptionError(run.file, run.offset,
          `entries from index ${start} do not follow the log ending at ${expected - 1} ` +
          `(snapshot index ${this.snapshotIndex}): a gap`)
      }
      expected = start + run.entries.length
    }
    return this.runs[0]?.entries ?? []
  }

  private truncateFrom(index: number): void {
    for (;;) {
      const run = this.runs[this.runs.length - 1]
      const runStart = run?.entries[0]?.index
      if (run === undefined || runStart === undefined) return
      if (runStart < index) {
        run.entries.length = Math.min(run.entries.length, index - runStart)
        return
      }
      this.runs.pop()
    }
  }
}
