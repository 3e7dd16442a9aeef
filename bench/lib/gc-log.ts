// Reads what bench/gc-hook.ts wrote for one process: its garbage-collection
// pauses and its Buffers' backing-store samples (`$GC_PAUSES_DIR/<pid>.jsonl`).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface Pause {
  readonly startMs: number
  readonly ms: number
  readonly kind: string
}

/** One of the hook's once-a-second readings of process.memoryUsage().arrayBuffers. */
export interface BufferSample {
  readonly atMs: number
  readonly bytes: number
}

/** The hook, for a node's `NODE_OPTIONS=--import <url>`. */
export const gcHookUrl = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'gc-hook.js')).href

export function readGcLog(dir: string, pid: number): { pauses: Pause[]; dropped: number; samples: BufferSample[] } {
  const pauses: Pause[] = []
  const samples: BufferSample[] = []
  let dropped = 0
  const file = join(dir, `${pid}.jsonl`)
  if (!existsSync(file)) return { pauses, dropped, samples }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue
    const rec = JSON.parse(line) as { pauses: [number, number, string][]; dropped: number; atMs: number; arrayBuffers: number }
    dropped += rec.dropped
    for (const [startMs, ms, kind] of rec.pauses) pauses.push({ startMs, ms, kind })
    samples.push({ atMs: rec.atMs, bytes: rec.arrayBuffers })
  }
  return { pauses, dropped, samples }
}
