// Micro-benchmark for the peer wire codec: encode + decode of an Append with
// 10 normal entries (100-byte payloads), Avro (wire-codec.ts) against JSON
// with base64 payloads. Not a test; run:
//   npx tsc -p tsconfig.json && node dist/bench/codec-bench.js
import type { AppendRequest, Entry } from '../lib/raft/types.js'
import { FRAME_HEADER_BYTES } from '../lib/transport/frame-codec.js'
import { wireCodec } from '../lib/transport/wire-codec.js'
import type { WireMessage } from '../lib/transport/wire-message.js'

const ENTRY_COUNT = 10
const ENTRY_DATA_BYTES = 100
const ITERATIONS = 200_000

function makeAppend(): AppendRequest {
  const entries: Entry[] = []
  for (let i = 0; i < ENTRY_COUNT; i++) {
    entries.push({ index: 1000 + i, term: 7, kind: 'normal', data: Buffer.alloc(ENTRY_DATA_BYTES, i) })
  }
  return { type: 'Append', from: 'node-1', to: 'node-2', term: 7, prevIndex: 999, prevTerm: 7, entries, commit: 998 }
}

function toJson(msg: AppendRequest): string {
  return JSON.stringify({
    ...msg,
    entries: msg.entries.map((e) => (e.kind === 'normal' ? { ...e, data: e.data.toString('base64') } : e)),
  })
}

function fromJson(text: string): AppendRequest {
  const parsed = JSON.parse(text) as Omit<AppendRequest, 'entries'> & { entries: { index: number; term: number; data: string }[] }
  const entries: Entry[] = parsed.entries.map((e) => ({ index: e.index, term: e.term, kind: 'normal', data: Buffer.from(e.data, 'base64') }))
  return { ...parsed, entries }
}

const ROUNDS = 5

/** The best of ROUNDS runs: on a shared machine the minimum is the least disturbed. */
function timeNsPerOp(label: string, fn: () => unknown): number {
  for (let i = 0; i < ITERATIONS / 10; i++) fn() // warm-up
  let best = Infinity
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < ITERATIONS / ROUNDS; i++) fn()
    best = Math.min(best, Number(process.hrtime.bigint() - start) / (ITERATIONS / ROUNDS))
  }
  console.log(`${label.padEnd(28)} ${(best / 1000).toFixed(2)} µs/op (best of ${ROUNDS})`)
  return best
}

const msg = makeAppend()
const frame = wireCodec.encodeFrame(msg)
const payload = frame.subarray(FRAME_HEADER_BYTES)
const json = toJson(msg)
let sink: WireMessage | AppendRequest | Buffer | string = msg

console.log(`Append with ${ENTRY_COUNT} entries of ${ENTRY_DATA_BYTES} bytes, ${ITERATIONS} iterations`)
console.log(`avro frame ${frame.length} bytes, json ${Buffer.byteLength(json)} bytes`)
timeNsPerOp('avro encode (frame)', () => (sink = wireCodec.encodeFrame(msg)))
timeNsPerOp('avro decode', () => (sink = wireCodec.decode(payload)))
timeNsPerOp('json encode (base64)', () => (sink = toJson(msg)))
timeNsPerOp('json decode (base64)', () => (sink = fromJson(json)))
if (sink === null) console.log('unreachable')
