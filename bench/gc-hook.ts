// Loaded into a node under test with `NODE_OPTIONS=--import <dist/bench/gc-hook.js>`
// (bench/gc-pauses.ts does this): records every garbage-collection pause the
// process takes, from perf_hooks' 'gc' entries, and appends them once a
// second to `$GC_PAUSES_DIR/<pid>.jsonl`, one line per flush:
// `{ pauses: [[startEpochMs, durationMs, kind], ...], dropped, atMs, arrayBuffers }`.
// Appending in small flushes keeps the record even when the node is killed,
// and keeps the hook's own heap flat. `arrayBuffers` (the Buffers' backing
// stores, process.memoryUsage()) is read at each flush: V8 counts their growth
// since the last mark-compact against the old generation's limit, so their
// rise between mark-compacts says how much of that limit Buffers use up.
//
// `GC_HOOK_V8_FLAGS` (bench only) is handed to v8.setFlagsFromString first:
// a way to weigh V8 flags that NODE_OPTIONS refuses (--no-parallel-scavenge,
// --semi-space-growth-factor=N) before the product sets any.
import { appendFileSync } from 'node:fs'
import v8 from 'node:v8'
import { join } from 'node:path'
import { PerformanceObserver, constants, performance } from 'node:perf_hooks'

const dir = process.env['GC_PAUSES_DIR']
const flags = process.env['GC_HOOK_V8_FLAGS']
if (flags !== undefined && flags !== '') v8.setFlagsFromString(flags)
/** Pauses held between flushes at most; beyond it the oldest unflushed are dropped and counted. */
const pendingMax = 100_000

const kinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
}

if (dir !== undefined && dir !== '') {
  const file = join(dir, `${process.pid}.jsonl`)
  let pending: [number, number, string][] = []
  let dropped = 0
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (pending.length >= pendingMax) {
        dropped++
        continue
      }
      // Node 20 puts the kind on `detail`; its typings do not declare it.
      const detail = (e as unknown as { detail?: { kind?: number } }).detail
      pending.push([performance.timeOrigin + e.startTime, e.duration, kinds[detail?.kind ?? -1] ?? 'other'])
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  const flush = (): void => {
    const line = JSON.stringify({ pauses: pending, dropped, atMs: Date.now(), arrayBuffers: process.memoryUsage().arrayBuffers })
    pending = []
    dropped = 0
    appendFileSync(file, line + '\n')
  }
  setInterval(flush, 1000).unref()
  process.on('exit', flush)
}
