// One full garbage collection when a node comes to rest after writes.
//
// A burst of writes leaves garbage that only a full (mark-compact) GC frees:
// the buffer of the snapshot taken during the burst (~121 MiB at 1M keys,
// held until saved, by then in the old generation), the old values of
// overwritten keys, the keyspace's regrown tables. V8's own memory reducer
// frees it only once it sees a low allocation rate, and it measures that
// rate at GCs — which a node at rest no longer runs. So a follower that had
// just loaded 1M keys kept ~120–190 MiB of RSS it did not need for a minute
// or more (bench/README.md, "A node's memory at 1M keys").
//
// The collector watches the applied index: once it has moved by
// `entriesMin` since the last collection (or a snapshot was taken) and then
// stood still for `idleMs`, it asks V8 for one full collection. Under a
// steady write load the index never stands still, so this never runs there
// (the GC pauses of a loaded node are V8's own); at rest the collection is
// incremental and concurrent (vm.measureMemory with eager execution starts
// incremental marking like any V8-scheduled major GC; no --expose-gc and
// no atomic whole-heap pause).
import vm from 'node:vm'

export interface IdleCollectorOptions {
  /** How often the applied index is looked at. */
  readonly checkMs: number
  /** How long it must stand still before a collection. */
  readonly idleMs: number
  /** Entries applied since the last collection that make one worth it. */
  readonly entriesMin: number
}

export const idleCollectorOptionsDefault: IdleCollectorOptions = {
  checkMs: 1000,
  idleMs: 2000,
  entriesMin: 10_000,
}

export class IdleCollector {
  private lastIndex: number
  private lastMoveMs: number
  /** The applied index at the last collection (or at start). */
  private collectedAtIndex: number
  /** Set by a snapshot: its buffer is garbage once saved, however few entries came since. */
  private snapshotTaken = false
  private collecting = false
  private timer: NodeJS.Timeout | null = null
  collections = 0

  constructor(
    private readonly appliedIndex: () => number,
    private readonly collect: () => Promise<void>,
    nowMs: number,
    private readonly options: IdleCollectorOptions = idleCollectorOptionsDefault,
  ) {
    this.lastIndex = appliedIndex()
    this.lastMoveMs = nowMs
    this.collectedAtIndex = this.lastIndex
  }

  /** A snapshot was saved (or installed): worth a collection at the next rest. */
  noteSnapshot(): void {
    this.snapshotTaken = true
  }

  /** Looks at the applied index at `nowMs`; starts a collection when the node is at rest after enough work. */
  check(nowMs: number): void {
    const index = this.appliedIndex()
    if (index !== this.lastIndex) {
      this.lastIndex = index
      this.lastMoveMs = nowMs
      return
    }
    if (this.collecting || nowMs - this.lastMoveMs < this.options.idleMs) return
    // A new state machine (a snapshot installed) may start below the last collection's index.
    const worked = Math.abs(index - this.collectedAtIndex) >= this.options.entriesMin
    if (!worked && !this.snapshotTaken) return
    this.collectedAtIndex = index
    this.snapshotTaken = false
    this.collecting = true
    this.collections++
    this.collect().then(
      () => (this.collecting = false),
      () => (this.collecting = false),
    )
  }

  start(): void {
    this.timer = setInterval(() => this.check(Date.now()), this.options.checkMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }
}

/**
 * Asks V8 for a full collection, incremental like one it schedules itself.
 * vm.measureMemory is marked experimental: its one-time warning is not an
 * operator's concern here, so it is kept out of the node's output.
 */
export function collectGarbage(): Promise<void> {
  const emitWarning = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]): void => {
    const text = typeof warning === 'string' ? warning : warning.message
    if (text.includes('measureMemory')) return
    ;(emitWarning as (w: string | Error, ...r: unknown[]) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    return vm.measureMemory({ mode: 'summary', execution: 'eager' }).then(() => undefined)
  } finally {
    process.emitWarning = emitWarning
  }
}
