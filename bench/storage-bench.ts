// Storage benchmark (not a test): appends/s and fsyncs/s of NodeStorage.persist
// at batch sizes 1, 16 and 256, next to a bare write+fdatasync loop writing
// the same bytes in the same directory, so the storage's overhead over the
// disk's own limit is a number. Then start-up time with 1,000,000 entries.
//
//   npx tsc -p tsconfig.json && node dist/bench/storage-bench.js [--dir /path]
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Entry } from '../lib/raft/types.js'
import { NodeStorage } from '../lib/storage/node-storage.js'

const entryDataBytes = 100

const { values } = parseArgs({ options: { dir: { type: 'string' }, entries: { type: 'string', default: '1000000' } } })
const base = await mkdtemp(join(values.dir ?? tmpdir(), 'raftkv-storage-bench-'))

function entries(first: number, count: number): Entry[] {
  const data = Buffer.alloc(entryDataBytes, 0x61)
  return Array.from({ length: count }, (_, i) => ({ index: first + i, term: 1, kind: 'normal' as const, data }))
}

interface Rate { batches: number; ms: number }
const sliceMs = 500
const slices = 6

/**
 * Storage persist() and the bare loop, interleaved in 500 ms slices, so
 * that load from other processes on this shared machine hits both alike.
 */
async function interleaved(batchSize: number, recordBytes: number): Promise<{ storage: Rate; bare: Rate }> {
  const dir = join(base, `persist-${batchSize}`)
  const { storage } = await NodeStorage.open({ dir, fsync: 'always' })
  const barePath = join(base, `bare-${batchSize}`)
  const handle = await open(barePath, 'w')
  const buf = Buffer.alloc(recordBytes, 0x62)
  const storageRate: Rate = { batches: 0, ms: 0 }
  const bareRate: Rate = { batches: 0, ms: 0 }
  let next = 1
  let position = 0
  for (let slice = 0; slice < slices; slice++) {
    let started = performance.now()
    while (performance.now() - started < sliceMs) {
      await storage.persist({ term: 1, vote: 'n1', commit: next - 1 }, entries(next, batchSize))
      next += batchSize
      storageRate.batches++
    }
    storageRate.ms += performance.now() - started
    // The disk's own limit: append the same bytes and fdatasync, through the same fs/promises API.
    started = performance.now()
    while (performance.now() - started < sliceMs) {
      await handle.write(buf, 0, recordBytes, position)
      await handle.datasync()
      position += recordBytes
      bareRate.batches++
    }
    bareRate.ms += performance.now() - started
  }
  await storage.close()
  await handle.close()
  await rm(dir, { recursive: true })
  await rm(barePath)
  return { storage: storageRate, bare: bareRate }
}

/** CPU cost without the disk: fsync 'never' (unsafe, benchmarks only). */
async function withoutFsync(batchSize: number): Promise<Rate> {
  const dir = join(base, `never-${batchSize}`)
  const { storage } = await NodeStorage.open({ dir, fsync: 'never' })
  let next = 1
  let batches = 0
  const started = performance.now()
  while (performance.now() - started < sliceMs * 3) {
    await storage.persist({ term: 1, vote: 'n1', commit: next - 1 }, entries(next, batchSize))
    next += batchSize
    batches++
  }
  const ms = performance.now() - started
  await storage.close()
  await rm(dir, { recursive: true })
  return { batches, ms }
}

/** Bytes one batch record takes on disk: measured, not guessed. */
async function recordBytes(batchSize: number): Promise<number> {
  const dir = join(base, `size-${batchSize}`)
  const { storage } = await NodeStorage.open({ dir, fsync: 'never' })
  await storage.persist({ term: 1, vote: 'n1', commit: 0 }, entries(1, batchSize))
  await storage.persist({ term: 1, vote: 'n1', commit: 0 }, entries(1 + batchSize, batchSize))
  await storage.close()
  const names = await readdir(dir)
  const segment = names.find((n) => n.startsWith('segment-')) ?? ''
  const size = (await stat(join(dir, segment))).size
  await rm(dir, { recursive: true })
  // The segment holds a small hard-state record and the two batches.
  return Math.round(size / 2)
}

const perSecond = (n: number, ms: number) => Math.round((n * 1000) / ms)

console.log(`node ${process.version}, dir ${base}, entry data ${entryDataBytes} bytes, ` +
  `${slices}x${sliceMs} ms per side, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
console.log('| batch | storage appends/s | storage fsyncs/s | bare write+fdatasync/s (same bytes) | storage/bare | fsync never: appends/s |')
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |')
for (const batchSize of [1, 16, 256]) {
  const bytes = await recordBytes(batchSize)
  const { storage: always, bare } = await interleaved(batchSize, bytes)
  const never = await withoutFsync(batchSize)
  const fsyncs = perSecond(always.batches, always.ms)
  const bareFsyncs = perSecond(bare.batches, bare.ms)
  console.log(`| ${batchSize} | ${perSecond(always.batches * batchSize, always.ms)} | ${fsyncs} | ` +
    `${bareFsyncs} (${bytes} B) | ${(fsyncs / bareFsyncs).toFixed(2)} | ${perSecond(never.batches * batchSize, never.ms)} |`)
}

const total = Number(values.entries)
for (const batchSize of [256, 16]) {
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
  const segments = (await readdir(dir)).filter((n) => n.startsWith('segment-')).length
  console.log(`\nstart-up with ${total} entries (written in batches of ${batchSize}, ${segments} segments of 64 MiB max): ` +
    `median ${Math.round(times[1] ?? 0)} ms wall (runs: ${times.map(Math.round).join(', ')} ms), ` +
    `median ${Math.round(cpuTimes[1] ?? 0)} ms CPU`)
  await rm(dir, { recursive: true })
}
await rm(base, { recursive: true })
console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
