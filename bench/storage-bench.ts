// Storage benchmark (not a test): the cost and latency of NodeStorage.persist
// at batch sizes 1, 16 and 64 (100-byte entries): persists/s, p50/p99 latency
// per persist, CPU per persist and the event loop's delay (p99, max) while it ran,
// next to a bare write+fdatasync loop writing the same bytes in the same
// directory, so the storage's overhead over the disk's own limit is a number.
// Then the write paths one append could take, on a bare file, interleaved
// call by call (--write-paths N calls each; 0 skips), and start-up time with
// 1,000,000 entries (--entries; 0 skips).
//
//   npx tsc -p tsconfig.json && node dist/bench/storage-bench.js [--dir /path] [--entries N] [--batches 1,16,64] [--slices 6] [--write-paths N]
import { constants as fsConstants, fdatasync, fdatasyncSync, write, writeSync } from 'node:fs'
import { mkdtemp, open, readdir, rm, type FileHandle } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Entry } from '../lib/raft/types.js'
import { NodeStorage } from '../lib/storage/node-storage.js'

const entryDataBytes = 100

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    entries: { type: 'string', default: '1000000' },
    batches: { type: 'string', default: '1,16,64' },
    slices: { type: 'string', default: '6' },
    'write-paths': { type: 'string', default: '1000' },
  },
})
const base = await mkdtemp(join(values.dir ?? tmpdir(), 'raftkv-storage-bench-'))

function entries(first: number, count: number): Entry[] {
  const data = Buffer.alloc(entryDataBytes, 0x61)
  return Array.from({ length: count }, (_, i) => ({ index: first + i, term: 1, kind: 'normal' as const, data }))
}

/** One side's numbers: latencies of each call in ms, and CPU time used meanwhile. */
interface Side { latenciesMs: number[]; ms: number; cpuUs: number; loopDelayP99Ms: number; loopDelayMaxMs: number }
const newSide = (): Side => ({ latenciesMs: [], ms: 0, cpuUs: 0, loopDelayP99Ms: 0, loopDelayMaxMs: 0 })
const sliceMs = 500
const slices = Number(values.slices)

/**
 * Runs `call` back to back for one slice, adding latencies, wall time, CPU
 * time and the event loop's delay to `side`. The delay is measured as the
 * gaps between runs of a 1 ms timer, up to the slice's end: a call that
 * keeps the loop (a synchronous fdatasync, or promises that never wait for
 * I/O) shows up there, even when it holds the loop for the whole slice.
 */
async function slice(side: Side, call: () => Promise<void>): Promise<void> {
  const gapsMs: number[] = []
  let lastTick = performance.now()
  const ticker = setInterval(() => {
    const now = performance.now()
    gapsMs.push(now - lastTick)
    lastTick = now
  }, 1)
  const cpuStarted = process.cpuUsage()
  const started = performance.now()
  while (performance.now() - started < sliceMs) {
    const callStarted = performance.now()
    await call()
    side.latenciesMs.push(performance.now() - callStarted)
  }
  side.ms += performance.now() - started
  const cpu = process.cpuUsage(cpuStarted)
  side.cpuUs += cpu.user + cpu.system
  clearInterval(ticker)
  gapsMs.push(performance.now() - lastTick)
  gapsMs.sort((a, b) => a - b)
  side.loopDelayP99Ms = Math.max(side.loopDelayP99Ms, gapsMs[Math.floor(gapsMs.length * 0.99)] ?? 0)
  side.loopDelayMaxMs = Math.max(side.loopDelayMaxMs, gapsMs[gapsMs.length - 1] ?? 0)
}

/**
 * Storage persist() and the bare loop, interleaved in 500 ms slices, so
 * that load from other processes on this shared machine hits both alike.
 */
async function interleaved(batchSize: number, recordBytes: number): Promise<{ storage: Side; bare: Side }> {
  const dir = join(base, `persist-${batchSize}`)
  const { storage } = await NodeStorage.open({ dir, fsync: 'always' })
  await steadyState(storage)
  const barePath = join(base, `bare-${batchSize}`)
  const handle = await open(barePath, 'w')
  const buf = Buffer.alloc(recordBytes, 0x62)
  const storageSide = newSide()
  const bareSide = newSide()
  let next = 1
  let position = 0
  for (let i = 0; i < slices; i++) {
    await slice(storageSide, async () => {
      await storage.persist({ term: 1, vote: 'n1', commit: next - 1 }, entries(next, batchSize))
      next += batchSize
    })
    // The disk's own limit: append the same bytes and fdatasync, through the same fs/promises API.
    await slice(bareSide, async () => {
      await handle.write(buf, 0, recordBytes, position)
      await handle.datasync()
      position += recordBytes
    })
  }
  await storage.close()
  await handle.close()
  await rm(dir, { recursive: true })
  await rm(barePath)
  return { storage: storageSide, bare: bareSide }
}

/**
 * Measures a running node, not a fresh one: lets the first spare segment be
 * preallocated and adopted before timing (a no-op for storage code without
 * preallocation, so the same script measures the code before it).
 */
async function steadyState(storage: NodeStorage): Promise<void> {
  const preallocating = storage as unknown as { awaitPreallocation?: () => Promise<void> }
  await preallocating.awaitPreallocation?.()
  await storage.persist({ term: 1, vote: 'n1', commit: 0 }, [])
  await preallocating.awaitPreallocation?.()
}

/** CPU cost without the disk: fsync 'never' (unsafe, benchmarks only). */
async function withoutFsync(batchSize: number): Promise<Side> {
  const dir = join(base, `never-${batchSize}`)
  const { storage } = await NodeStorage.open({ dir, fsync: 'never' })
  await steadyState(storage)
  let next = 1
  const side = newSide()
  for (let i = 0; i < 3; i++) {
    await slice(side, async () => {
      await storage.persist({ term: 1, vote: 'n1', commit: next - 1 }, entries(next, batchSize))
      next += batchSize
    })
  }
  await storage.close()
  await rm(dir, { recursive: true })
  return side
}

/** Bytes one batch record takes on disk: measured through an fsync 'never' storage, not guessed. */
async function recordBytes(batchSize: number): Promise<number> {
  const dir = join(base, `size-${batchSize}`)
  const { storage } = await NodeStorage.open({ dir, fsync: 'never' })
  const sizes: number[] = []
  // Encoded size of a record, from the file: the log's data ends where the zero tail (if any) starts.
  for (let i = 0; i < 3; i++) {
    await storage.persist({ term: 1, vote: 'n1', commit: 0 }, entries(1 + i * batchSize, batchSize))
    sizes.push(await dataBytes(dir))
  }
  await storage.close()
  await rm(dir, { recursive: true })
  return (sizes[2] ?? 0) - (sizes[1] ?? 0)
}

/** Bytes up to the last non-zero byte of the newest segment. */
async function dataBytes(dir: string): Promise<number> {
  const names = (await readdir(dir)).filter((n) => /^segment-\d+\.log$/.test(n)).sort()
  const handle = await open(join(dir, names[names.length - 1] ?? ''), 'r')
  const buf = (await handle.readFile()) as Buffer
  await handle.close()
  let end = buf.length
  while (end > 0 && buf[end - 1] === 0) end--
  return end
}

const perSecond = (n: number, ms: number) => Math.round((n * 1000) / ms)
function percentileMs(sorted: readonly number[], q: number): string {
  const value = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0
  return value < 1 ? `${Math.round(value * 1000)} µs` : `${value.toFixed(2)} ms`
}
function describeSide(side: Side, itemsPerCall: number): { rate: number; p50: string; p99: string; cpuUs: number; loop: string } {
  const sorted = [...side.latenciesMs].sort((a, b) => a - b)
  return {
    rate: perSecond(sorted.length * itemsPerCall, side.ms),
    p50: percentileMs(sorted, 0.5),
    p99: percentileMs(sorted, 0.99),
    cpuUs: Math.round(side.cpuUs / Math.max(1, sorted.length)),
    loop: `${side.loopDelayP99Ms.toFixed(1)} / ${side.loopDelayMaxMs.toFixed(1)} ms`,
  }
}

console.log(`node ${process.version}, dir ${base}, entry data ${entryDataBytes} bytes, ` +
  `${slices}x${sliceMs} ms per side, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
console.log('| batch | record | storage persists/s | p50 | p99 | CPU/persist | timer gap p99 / max | bare write+fdatasync/s | bare p50 | bare p99 | storage/bare | fsync never: persists/s | never: CPU/persist |')
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const batchSize of values.batches.split(',').filter((b) => b !== '').map(Number)) {
  const bytes = await recordBytes(batchSize)
  const { storage: always, bare } = await interleaved(batchSize, bytes)
  const never = describeSide(await withoutFsync(batchSize), 1)
  const s = describeSide(always, 1)
  const b = describeSide(bare, 1)
  console.log(`| ${batchSize} | ${bytes} B | ${s.rate} | ${s.p50} | ${s.p99} | ${s.cpuUs} µs | ${s.loop} | ` +
    `${b.rate} | ${b.p50} | ${b.p99} | ${(s.rate / b.rate).toFixed(2)} | ${never.rate} | ${never.cpuUs} µs |`)
}

/** One way to write a record at `position` and make it durable. */
interface WritePath {
  readonly name: string
  readonly preallocated: boolean
  readonly dsync: boolean
  readonly run: (handle: FileHandle, record: Buffer, position: number) => Promise<void>
}

const onPool = (start: (done: (error: NodeJS.ErrnoException | null) => void) => void) =>
  new Promise<void>((resolve, reject) => start((error) => { if (error === null) resolve(); else reject(error) }))

const writePaths: readonly WritePath[] = [
  { name: 'FileHandle write + datasync (2 pool trips), growing file', preallocated: false, dsync: false,
    run: async (h, r, p) => { await h.write(r, 0, r.length, p); await h.datasync() } },
  { name: 'FileHandle write + datasync (2 pool trips), preallocated', preallocated: true, dsync: false,
    run: async (h, r, p) => { await h.write(r, 0, r.length, p); await h.datasync() } },
  { name: 'writeSync + fdatasync on the pool, preallocated', preallocated: true, dsync: false,
    run: async (h, r, p) => { writeSync(h.fd, r, 0, r.length, p); await onPool((done) => fdatasync(h.fd, done)) } },
  { name: 'writeSync + fdatasyncSync (all on the loop), preallocated', preallocated: true, dsync: false,
    run: async (h, r, p) => { writeSync(h.fd, r, 0, r.length, p); fdatasyncSync(h.fd) } },
  { name: 'O_DSYNC write on the pool (1 pool trip; chosen), preallocated', preallocated: true, dsync: true,
    run: async (h, r, p) => { await onPool((done) => write(h.fd, r, 0, r.length, p, (error) => done(error))) } },
]

/**
 * Every write path on its own file, called in turn one record at a time, so
 * that the machine's load swings hit all of them alike. Latency of each
 * call, and for the synchronous parts the time the event loop was held.
 */
async function compareWritePaths(recordBytes: number, calls: number): Promise<void> {
  const record = Buffer.alloc(recordBytes, 0x63)
  const zeros = Buffer.alloc(1024 * 1024)
  const preallocatedBytes = Math.ceil((recordBytes * calls) / zeros.length) * zeros.length
  const files = []
  for (const [i, path] of writePaths.entries()) {
    const name = join(base, `path-${i}`)
    const create = await open(name, 'w')
    for (let at = 0; path.preallocated && at < preallocatedBytes; at += zeros.length) await create.write(zeros, 0, zeros.length, at)
    await create.sync()
    await create.close()
    const flags = fsConstants.O_RDWR | (path.dsync ? fsConstants.O_DSYNC : 0)
    files.push({ path, handle: await open(name, flags), latenciesMs: [] as number[], loopMs: [] as number[] })
  }
  for (let call = 0; call < calls; call++) {
    for (const file of files) {
      const started = performance.now()
      const pending = file.path.run(file.handle, record, call * recordBytes)
      // Time until run() returned its promise: what a synchronous call held the event loop for.
      file.loopMs.push(performance.now() - started)
      await pending
      file.latenciesMs.push(performance.now() - started)
    }
  }
  console.log(`\nwrite paths, ${recordBytes}-byte records, ${calls} calls each, interleaved call by call:\n`)
  console.log('| write path | p50 | p99 | event loop held, p50 / p99 |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const file of files) {
    await file.handle.close()
    const sorted = [...file.latenciesMs].sort((a, b) => a - b)
    const loop = [...file.loopMs].sort((a, b) => a - b)
    console.log(`| ${file.path.name} | ${percentileMs(sorted, 0.5)} | ${percentileMs(sorted, 0.99)} | ` +
      `${percentileMs(loop, 0.5)} / ${percentileMs(loop, 0.99)} |`)
  }
  for (let i = 0; i < files.length; i++) await rm(join(base, `path-${i}`))
}

const writePathCalls = Number(values['write-paths'])
for (const recordBytes of writePathCalls > 0 ? [130, 1720, 6870] : []) await compareWritePaths(recordBytes, writePathCalls)

const total = Number(values.entries)
for (const batchSize of total > 0 ? [256, 16] : []) {
  const dir = join(base, `startup-${batchSize}`)
  const { storage } = await NodeStorage.open({ dir, fsync: 'never' })
  for (let next = 1; next <= total; next += batchSize) {
    await storage.persist({ term: 1, vote: 'n1', commit: next - 1 }, entries(next, Math.min(batchSize, total - next + 1)))
  }
  await storage.close()
  const times: number[] = []
  const cpuTimes: number[] = []
  for (let run = 0; run < 3; run++) {
    const started = performance.now()
    const cpuStarted = process.cpuUsage()
    const { storage: reopened, state } = await NodeStorage.open({ dir, fsync: 'always' })
    times.push(performance.now() - started)
    const cpu = process.cpuUsage(cpuStarted)
    // CPU time (user + system, all threads) is less skewed by other load than wall time.
    cpuTimes.push((cpu.user + cpu.system) / 1000)
    if (state.entries.length !== total) throw new Error(`recovered ${state.entries.length} entries, wrote ${total}`)
    await reopened.close()
  }
  times.sort((a, b) => a - b)
  cpuTimes.sort((a, b) => a - b)
  const segments = (await readdir(dir)).filter((n) => /^segment-\d+\.log$/.test(n)).length
  console.log(`\nstart-up with ${total} entries (written in batches of ${batchSize}, ${segments} segments of 64 MiB max): ` +
    `median ${Math.round(times[1] ?? 0)} ms wall (runs: ${times.map(Math.round).join(', ')} ms), ` +
    `median ${Math.round(cpuTimes[1] ?? 0)} ms CPU`)
  await rm(dir, { recursive: true })
}
await rm(base, { recursive: true })
console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
