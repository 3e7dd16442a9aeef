// Room for the old generation to grow between mark-compacts, in bytes, for
// a node whose heap is small.
//
// V8 starts the next major GC once the old generation has grown by a factor
// of what the last one left live, a factor it picks from its GC and mutator
// speeds. A loaded node with 100,000 keys (~20 MiB live) started marking at
// 21–25 MiB of old generation (`--trace-incremental-marking`): a follower
// under `SET -c 50` ran a mark-compact every 1.5–2 s, and under -P 16
// mark-compacts were most of its pauses over 10 ms (bench/README.md,
// section 24).
//
// After each major GC this sets V8's `--heap-growing-percent` so the next
// limit is about `live + headroomBytes` (capped at V8's own largest factor,
// 4×); once the heap is large enough that this would be under
// `percentMin` (a live old generation past ~128 MiB), it hands the choice
// back to V8 (percent 0) and the heap grows as before. A node with 1M
// 100-byte keys keeps ~114 MiB live and still gets 60 %. The flag is an integer
// V8 reads each time it recomputes the limit (after a mark-compact), which
// is why setting it at run time takes effect; Node warns that changing V8
// flags after start is unsupported in general, so this is the only flag
// raftkv sets that way, and a failure to set it is logged once, not fatal.
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks'
import v8 from 'node:v8'

export interface HeapHeadroomOptions {
  /** The room wanted between the live old generation and the next major GC. */
  readonly headroomBytes: number
  /** Largest percent set (300: a factor of 4, V8's own maximum). */
  readonly percentMax: number
  /** Below this, V8's own growing factor is left alone (percent 0). */
  readonly percentMin: number
}

export const heapHeadroomOptionsDefault: HeapHeadroomOptions = {
  headroomBytes: 64 * 1024 * 1024,
  percentMax: 300,
  percentMin: 50,
}

/** The `--heap-growing-percent` for an old generation of `liveBytes` after a major GC; 0 leaves V8's factor. */
export function growingPercentFor(liveBytes: number, options: HeapHeadroomOptions = heapHeadroomOptionsDefault): number {
  if (!(liveBytes > 0)) return options.percentMax
  const wanted = Math.ceil((options.headroomBytes / liveBytes) * 100)
  if (wanted < options.percentMin) return 0
  // Steps of 10 %, so a heap that wobbles does not reset the flag at every GC.
  return Math.min(options.percentMax, Math.ceil(wanted / 10) * 10)
}

/** Every heap space but the young generation's: what V8 counts as the old generation. */
export function oldGenerationBytes(): number {
  let bytes = 0
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name !== 'new_space' && space.space_name !== 'new_large_object_space') bytes += space.space_used_size
  }
  return bytes
}

export class HeapHeadroom {
  private observer: PerformanceObserver | null = null
  /** The percent last set; -1 before the first. */
  private percentSet = -1
  private failed = false
  /** How many times the flag was set. */
  changes = 0

  constructor(
    private readonly setFlags: (flags: string) => void = (flags) => v8.setFlagsFromString(flags),
    private readonly liveBytes: () => number = oldGenerationBytes,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly options: HeapHeadroomOptions = heapHeadroomOptionsDefault,
  ) {}

  /** The percent in force (as set here); -1 before the first major GC. */
  get percent(): number {
    return this.percentSet
  }

  /** Recomputes the percent for the old generation as it is now (called after each major GC). */
  afterMajorGc(): void {
    if (this.failed) return
    const percent = growingPercentFor(this.liveBytes(), this.options)
    if (percent === this.percentSet) return
    try {
      this.setFlags(`--heap-growing-percent=${percent}`)
    } catch (err) {
      this.failed = true
      this.onError(err)
      return
    }
    this.percentSet = percent
    this.changes++
  }

  start(): void {
    if (this.observer !== null) return
    // Before any major GC the heap has V8's initial limit, well above a small node's.
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (isMajorGc(entry)) {
          this.afterMajorGc()
          return
        }
      }
    })
    this.observer.observe({ entryTypes: ['gc'] })
  }

  stop(): void {
    this.observer?.disconnect()
    this.observer = null
  }
}

function isMajorGc(entry: PerformanceEntry): boolean {
  // A 'gc' entry carries its kind in `detail` (Node's typings leave it off the base type).
  const detail = (entry as PerformanceEntry & { detail?: { kind?: number } | null }).detail
  return detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR
}
