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

/**
 * Oldest first. A short array searched by identity, not a Map keyed by the
 * Entry: a Map must give each new Entry an identity hash first (a call into
 * the runtime), and a node looks up at most RUNS_MAX runs.
 */
const runs: EncodedRun[] = []
let runBytes = 0

/** The index of the run starting with `first`, or -1. Newest first: a batch is written right after it was encoded or received. */
function indexOfRun(first: Entry): number {
  for (let i = runs.length - 1; i >= 0; i--) if ((runs[i] as EncodedRun).entries[0] === first) return i
  return -1
}

function dropAt(at: number): void {
  runBytes -= (runs[at] as EncodedRun).bytes.length
  for (let i = at; i < runs.length - 1; i++) runs[i] = runs[i + 1] as EncodedRun
  runs.pop()
}

/** Remembers that `bytes` is the encoding of `entries` (at least one). */
export function rememberRun(entries: readonly Entry[], bytes: Buffer): void {
  const first = entries[0]
  if (first === undefined || bytes.length > RUN_BYTES_MAX) return
  const replaced = indexOfRun(first)
  if (replaced >= 0) dropAt(replaced)
  runs.push({ entries, bytes })
  runBytes += bytes.length
  while (runs.length > RUNS_MAX || runBytes > RUN_BYTES_MAX) dropAt(0)
}

/**
 * The run starting with entries[from] whose every entry is the same object
 * as the entries following it in `entries` (all within `entries`), or null.
 */
export function runAt(entries: readonly Entry[], from: number): EncodedRun | null {
  const at = indexOfRun(entries[from] as Entry)
  if (at < 0) return null
  const run = runs[at] as EncodedRun
  const count = run.entries.length
  if (from + count > entries.length) return null
  for (let i = 1; i < count; i++) if (run.entries[i] !== entries[from + i]) return null
  return run
}

/** Drops a run once its bytes were written: each entry is persisted once. */
export function forgetRun(run: EncodedRun): void {
  const at = runs.lastIndexOf(run)
  if (at >= 0) dropAt(at)
}

/** For tests: how many runs are remembered. */
export function rememberedRuns(): number {
  return runs.length
}
