// Simulated time for the runtime simulator: one queue of timed events (timers,
// disk completions, packet deliveries) and one of "soon" callbacks (the
// runtime's setImmediate), run one at a time on the real event loop so that
// promise continuations (microtasks) settle between them exactly as they
// would in Node. Time only moves when nothing is runnable now, and jumps to
// the next event: a simulated second costs what its events cost.
//
// Every callback belongs to a process (a node's run between two crashes);
// when a process dies its timers, disk completions and deliveries are
// dropped, as a killed process's would be.
import { setImmediate as realSetImmediate } from 'node:timers'
import { assert } from '../../../lib/util/assert.js'
import type { Clock, Timer } from '../../../lib/util/clock.js'

/** A node's life between a start and a crash or stop; callbacks of a dead process never run. */
export class SimProcess {
  alive = true
  constructor(readonly name: string) {}
}

interface Timed {
  readonly atMs: number
  readonly seq: number
  readonly process: SimProcess | null
  readonly fn: () => void
  cancelled: boolean
}

interface Soon {
  readonly process: SimProcess | null
  readonly fn: () => void
}

/** The wall clock of the simulation starts here (ms since the epoch), so that expiry stamps look real. */
export const simEpochMs = 1_700_000_000_000

export class SimScheduler {
  private nowMsValue = 0
  private seq = 0
  private readonly heap: Timed[] = []
  /** Soon callbacks for the next round, and the round now running. */
  private soonQueue: Soon[] = []
  private round: Soon[] = []
  private roundAt = 0
  /** Callbacks run so far: the simulator's unit of work ("steps"). */
  steps = 0

  /** Simulated ms since the start of the run. */
  get elapsedMs(): number {
    return this.nowMsValue
  }

  at(delayMs: number, process: SimProcess | null, fn: () => void): Timed {
    assert(delayMs >= 0 && Number.isFinite(delayMs), () => `sim-scheduler: bad delay ${delayMs}`)
    const t: Timed = { atMs: this.nowMsValue + delayMs, seq: this.seq++, process, fn, cancelled: false }
    this.push(t)
    return t
  }

  soon(process: SimProcess | null, fn: () => void): void {
    this.soonQueue.push({ process, fn })
  }

  /** The clock a process sees: timers and soon callbacks die with it. */
  clockFor(process: SimProcess): Clock {
    return {
      // Whole ms, as Date.now() gives.
      nowMs: () => simEpochMs + Math.floor(this.nowMsValue),
      monotonicMs: () => this.nowMsValue,
      after: (delayMs, fn) => timerOf(this.at(Math.max(0, delayMs), process, fn)),
      every: (intervalMs, fn) => {
        let current: Timed
        const arm = (): void => {
          current = this.at(intervalMs, process, () => {
            arm()
            fn()
          })
        }
        arm()
        return { cancel: () => { current.cancelled = true } }
      },
      soon: (fn) => this.soon(process, fn),
    }
  }

  /**
   * Runs callbacks until simulated time reaches `untilMs` or `stop()` says
   * so (checked between callbacks). After each callback the real event loop
   * turns once, so every promise continuation it started has run.
   */
  async runUntil(untilMs: number, stop: () => boolean = () => false, afterEach: () => void = () => {}): Promise<void> {
    for (;;) {
      if (stop()) return
      const job = this.next(untilMs)
      if (job === null) {
        this.nowMsValue = Math.max(this.nowMsValue, untilMs)
        return
      }
      this.steps++
      job()
      await drainMicrotasks()
      afterEach()
    }
  }

  /**
   * The next runnable callback, in Node's order: the soon callbacks of the
   * current round one by one; then any timed event already due (timers and
   * I/O completions come before the next round of setImmediate callbacks);
   * then the next round; and only when nothing is runnable now does time
   * move, to the earliest event due by `untilMs`.
   */
  private next(untilMs: number): (() => void) | null {
    for (;;) {
      while (this.roundAt < this.round.length) {
        const s = this.round[this.roundAt++] as Soon
        if (s.process === null || s.process.alive) return s.fn
      }
      const top = this.heap[0]
      if (top !== undefined && top.atMs <= this.nowMsValue) {
        this.pop()
        if (top.cancelled || (top.process !== null && !top.process.alive)) continue
        return top.fn
      }
      if (this.soonQueue.length > 0) {
        this.round = this.soonQueue
        this.roundAt = 0
        this.soonQueue = []
        continue
      }
      if (top === undefined || top.atMs > untilMs) return null
      this.pop()
      if (top.cancelled || (top.process !== null && !top.process.alive)) continue
      this.nowMsValue = top.atMs
      return top.fn
    }
  }

  private push(t: Timed): void {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(t, h[parent] as Timed)) break
      h[i] = h[parent] as Timed
      i = parent
    }
    h[i] = t
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop() as Timed
    if (h.length === 0) return
    let i = 0
    const n = h.length
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      const right = child + 1
      if (right < n && before(h[right] as Timed, h[child] as Timed)) child = right
      if (!before(h[child] as Timed, last)) break
      h[i] = h[child] as Timed
      i = child
    }
    h[i] = last
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
}

function timerOf(t: Timed): Timer {
  return { cancel: () => { t.cancelled = true } }
}

/** One turn of the real event loop: every queued microtask (promise continuation) runs first. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve))
}
