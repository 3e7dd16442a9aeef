// Micro-benchmark for the log entry codecs on the write path, per entry:
// what the leader does with a batch of new entries (one Append frame for
// each of two followers, then its own log record) and what a follower does
// with the Append it receives (decode, then its log record), plus the pieces
// alone and log recovery's decode. Uses only APIs that existed before the
// shared codec (wireCodec.encodeFrame/decode, encodeBatchInto/decodeBatch),
// so the same file builds in an older checkout for a before/after pair. Not
// a test; run:
//   npx tsc -p tsconfig.json && node dist/bench/codec-bench.js
import type { AppendRequest, Entry } from '../lib/raft/types.js'
import { decodeBatch, encodeBatchInto } from '../lib/storage/entry-codec.js'
import { FRAME_HEADER_BYTES } from '../lib/transport/frame-codec.js'
import { wireCodec } from '../lib/transport/wire-codec.js'

const ENTRY_DATA_BYTES = 100
const ROUNDS = 5
/** Distinct batches cycled through, so that nothing can be reused from one iteration to the next. */
const BATCHES = 64

function makeBatches(count: number, firstIndex: number): Entry[][] {
  return Array.from({ length: BATCHES }, (_, b) => Array.from({ length: count }, (_, i) => ({
    index: firstIndex + b * count + i, term: 7, kind: 'normal' as const, data: Buffer.alloc(ENTRY_DATA_BYTES, i),
  })))
}

function appendTo(to: string, entries: readonly Entry[]): AppendRequest {
  const prevIndex = (entries[0]?.index ?? 1) - 1
  return { type: 'Append', from: 'node-1', to, term: 7, prevIndex, prevTerm: 7, entries, commit: prevIndex, fromIncarnation: 'a1b2', toIncarnation: 'c3d4', clockMs: 1_767_000_000_000 }
}

/**
 * CPU time (user + system, GC threads included) of `iterations` calls, in
 * µs per entry, median of ROUNDS runs: on a shared, loaded machine CPU time
 * moves far less than wall time.
 */
function timeUsPerEntry(label: string, entriesPerCall: number, iterations: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < iterations / 5; i++) fn(i) // warm-up
  const rounds: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage()
    for (let i = 0; i < iterations; i++) fn(i)
    const used = process.cpuUsage(start)
    rounds.push((used.user + used.system) / iterations / entriesPerCall)
  }
  rounds.sort((a, b) => a - b)
  console.log(`${label.padEnd(44)} ${(rounds[ROUNDS >> 1] as number).toFixed(3)} µs/entry`)
}

let sink: unknown = null
const record = Buffer.allocUnsafe(4 * 1024 * 1024)

for (const count of [25, 270]) {
  const iterations = Math.round(200_000 / count)
  const batches = makeBatches(count, 1000)
  const payloads = batches.map((entries) => Buffer.from(wireCodec.encodeFrame(appendTo('node-2', entries)).subarray(FRAME_HEADER_BYTES)))
  console.log(`batches of ${count} normal entries, ${ENTRY_DATA_BYTES}-byte data, frame ${(payloads[0] as Buffer).length + FRAME_HEADER_BYTES} bytes`)
  timeUsPerEntry('leader: Append to 2 followers + log record', count, iterations, (i) => {
    const entries = batches[i % BATCHES] as Entry[]
    sink = wireCodec.encodeFrame(appendTo('node-2', entries.slice()))
    sink = wireCodec.encodeFrame(appendTo('node-3', entries.slice()))
    sink = encodeBatchInto({ hardState: null, entries }, record, 0)
  })
  timeUsPerEntry('follower: decode Append + log record', count, iterations, (i) => {
    const msg = wireCodec.decode(payloads[i % BATCHES] as Buffer) as AppendRequest
    sink = encodeBatchInto({ hardState: null, entries: msg.entries }, record, 0)
  })
  timeUsPerEntry('Append encode, one follower', count, iterations, (i) => {
    sink = wireCodec.encodeFrame(appendTo('node-2', batches[i % BATCHES] as Entry[]))
  })
  timeUsPerEntry('Append decode', count, iterations, (i) => (sink = wireCodec.decode(payloads[i % BATCHES] as Buffer)))
  const local = makeBatches(count, 1000) // never sent nor received: encoded from the entries
  timeUsPerEntry('log record encode (entries not received)', count, iterations, (i) => {
    sink = encodeBatchInto({ hardState: null, entries: local[i % BATCHES] as Entry[] }, record, 0)
  })
  const end = encodeBatchInto({ hardState: { term: 7, vote: 'node-1', commit: 5 }, entries: batches[0] as Entry[] }, record, 0)
  const stored = Buffer.from(record.subarray(0, end))
  timeUsPerEntry('log record decode (recovery)', count, iterations, () => (sink = decodeBatch(stored)))
}
if (sink === undefined) console.log('unreachable')
