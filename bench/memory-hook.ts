// Loaded into a node under test with `NODE_OPTIONS=--import <dist/bench/memory-hook.js>`
// (bench/keyspace-memory.ts does this): says where a process's resident
// memory is. Once a second it checks for `$MEMORY_STATS_DIR/<pid>.ask`; when
// the file is there it removes it, writes `<pid>.json` with
// process.memoryUsage(), v8.getHeapStatistics(), v8.getHeapSpaceStatistics()
// and /proc/self/smaps_rollup, then (if the ask file said `gc`) runs a full
// garbage collection and, a second later, writes the same again as `afterGc`. The benchmark
// asks, waits for the answer and reads it; the node itself never changes.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'

const dir = process.env['MEMORY_STATS_DIR']

interface Snapshot {
  usage: NodeJS.MemoryUsage
  heap: v8.HeapInfo
  spaces: { name: string; sizeBytes: number; usedBytes: number; availableBytes: number; physicalBytes: number }[]
  /** /proc/self/smaps_rollup's kB lines (Rss, Anonymous, ...), in bytes. */
  rollup: Record<string, number>
}

function rollup(): Record<string, number> {
  const out: Record<string, number> = {}
  try {
    for (const line of readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+) kB/.exec(line)
      if (m !== null) out[m[1] as string] = Number(m[2]) * 1024
    }
  } catch {
    // Not Linux: the rest still says something.
  }
  return out
}

function snapshot(): Snapshot {
  return {
    usage: process.memoryUsage(),
    heap: v8.getHeapStatistics(),
    spaces: v8.getHeapSpaceStatistics().map((s) => ({
      name: s.space_name,
      sizeBytes: s.space_size,
      usedBytes: s.space_used_size,
      availableBytes: s.space_available_size,
      physicalBytes: s.physical_space_size,
    })),
    rollup: rollup(),
  }
}

function fullGc(): void {
  // gc() exists only with --expose-gc; the flag can be turned on late and a
  // new context then sees the function (the node's own flags stay as they are).
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
}

if (dir !== undefined && dir !== '') {
  const ask = join(dir, `${process.pid}.ask`)
  const answer = join(dir, `${process.pid}.json`)
  setInterval(() => {
    if (!existsSync(ask)) return
    const what = readFileSync(ask, 'utf8').trim()
    rmSync(ask, { force: true })
    const before = snapshot()
    if (what !== 'gc') {
      writeFileSync(answer, JSON.stringify({ before, afterGc: null }))
      return
    }
    fullGc()
    // Backing stores are freed by a background sweeper: read the RSS a moment later.
    setTimeout(() => writeFileSync(answer, JSON.stringify({ before, afterGc: snapshot() })), 1000)
  }, 1000).unref()
}
