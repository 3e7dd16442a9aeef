// Micro-benchmark for lib/server/resp/request-reader.ts alone: CPU per
// command for SETs of 16-byte keys and 100-byte values (the redis-benchmark
// shape), one command per chunk (SET c50) and 16 per chunk (-P 16), each
// command's arguments touched as a command handler would. With
// `--compare-with <checkout, built>` the other checkout's reader runs in the
// same process, interleaved round by round with this one, for a before/after
// pair. Not a test; run:
//   npx tsc -p tsconfig.json && node dist/bench/request-reader-bench.js [--compare-with <checkout>]
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { RequestReader, requestLimitsDefault, type RequestLimits } from '../lib/server/resp/request-reader.js'

type ReaderClass = new (limits: RequestLimits, isAuthenticated: () => boolean, sink: (args: Buffer[]) => void) => {
  feed(chunk: Buffer): unknown
}

const COMMANDS = 200_000
const ROUNDS = 7

function encodeSet(i: number): Buffer {
  const key = `key:${String(i % 100_000).padStart(12, '0')}`
  const value = 'x'.repeat(100)
  return Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`)
}

function chunksOf(perChunk: number): Buffer[] {
  const chunks: Buffer[] = []
  for (let i = 0; i < COMMANDS; i += perChunk) {
    const parts: Buffer[] = []
    for (let k = 0; k < perChunk; k++) parts.push(encodeSet(i + k))
    chunks.push(Buffer.concat(parts))
  }
  return chunks
}

/** CPU ns per command (user + system) of feeding every chunk to a fresh reader. */
function run(Reader: ReaderClass, chunks: readonly Buffer[]): number {
  let sum = 0
  const reader = new Reader(requestLimitsDefault, () => true, (args) => {
    sum += (args[0] as Buffer).length + (args[2] as Buffer).length
  })
  const start = process.cpuUsage()
  for (const chunk of chunks) reader.feed(chunk)
  const used = process.cpuUsage(start)
  if (sum !== COMMANDS * 103) throw new Error(`reader handed out ${sum} bytes`)
  return ((used.user + used.system) * 1000) / COMMANDS
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'compare-with': { type: 'string' } } })
  const targets: { label: string; Reader: ReaderClass }[] = [{ label: 'this checkout', Reader: RequestReader }]
  const other = values['compare-with']
  if (other !== undefined) {
    const url = pathToFileURL(path.resolve(other, 'dist/lib/server/resp/request-reader.js')).href
    const module = (await import(url)) as { RequestReader: ReaderClass }
    targets.push({ label: other, Reader: module.RequestReader })
  }
  for (const perChunk of [1, 16]) {
    const chunks = chunksOf(perChunk)
    const samples = targets.map(() => [] as number[])
    for (const target of targets) run(target.Reader, chunks) // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      targets.forEach((target, t) => samples[t]?.push(run(target.Reader, chunks)))
    }
    targets.forEach((target, t) => {
      const ns = samples[t] as number[]
      console.log(`${perChunk} per chunk, ${target.label}: ${median(ns).toFixed(0)} ns per command (median of ${ROUNDS}; ${ns.map((n) => n.toFixed(0)).join(' ')})`)
    })
  }
}

await main()
