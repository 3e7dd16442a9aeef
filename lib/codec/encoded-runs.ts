// Runs of entries whose encoding (entry-codec.ts) already exists as bytes:
// the entries section of an Append a leader encoded for its followers, or
// the one a follower received. The log's batch encoder looks each batch up
// here and copies those bytes instead of encoding the entries again, so a
// follower writes to its log exactly the bytes it was sent, and a leader
// encodes each entry once for the wire and the disk together.
//
// A run is found by the identity of its first Entry object and used only
// when every entry of the run is the very same object (entries are
// immutable), so a hit can never write bytes of different entries. The
// table is process-wide (several nodes share it in tests and the
// simulator; identity keeps them apart) and bounded: the oldest runs are
// dropped past RUNS_MAX runs or RUN_BYTES_MAX bytes. A miss costs only the
// encoding it would have cost anyway.
import type { Entry } from '../raft/types.js'

export interface EncodedRun {
  /** The entries, in order; `bytes` is their encodings back to back. */
  readonly entries: readonly Entry[]
  readonly bytes: Buffer
}

const RUNS_MAX = 16
/**
 * Runs hold views of frames or Append bodies; this bounds what they keep
 * alive. A follower persists what arrived during one fsync, a few Appends;
 * a run never written (a resend to a lagging follower) waits here until
 * pushed out, so the table is kept small.
 */
const RUN_BYTES_MAX = 16 * 1024 * 1024

const runs = new Map<Entry, EncodedRun>()
let runBytes = 0

/** Remembers that `bytes` is the encoding of `entries` (at least one). */
export function rememberRun(entries: readonly Entry[], bytes: Buffer): void {
  const first = entries[0]
  if (first === undefined || bytes.length > RUN_BYTES_MAX) return
  const replaced = runs.get(first)
  if (replaced !== undefined) {
    runs.delete(first)
    runBytes -= replaced.bytes.length
  }
  runs.set(first, { entries, bytes })
  runBytes += bytes.length
  while (runs.size > RUNS_MAX || runBytes > RUN_BYTES_MAX) {
    const [oldest, run] = runs.entries().next().value as [Entry, EncodedRun]
    runs.delete(oldest)
    runBytes -= run.bytes.length
  }
}

/**
 * The run starting with entries[from] whose every entry is the same object
 * as the entries following it in `entries` (all within `entries`), or null.
 */
export function runAt(entries: readonly Entry[], from: number): EncodedRun | null {
  const run = runs.get(entries[from] as Entry)
  if (run === undefined) return null
  const count = run.entries.length
  if (from + count > entries.length) return null
  for (let i = 1; i < count; i++) if (run.entries[i] !== entries[from + i]) return null
  return run
}

/** Drops a run once its bytes were written: each entry is persisted once. */
export function forgetRun(run: EncodedRun): void {
  const first = run.entries[0] as Entry
  if (runs.get(first) !== run) return
  runs.delete(first)
  runBytes -= run.bytes.length
}

/** For tests: how many runs are remembered. */
export function rememberedRuns(): number {
  return runs.size
}
