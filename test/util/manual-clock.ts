// A Clock for tests that moves only when told: wall time starts at
// `wallStartMs`, monotonic time at 0, and `after` timers fire (in the order
// they fall due) as `advance` passes them.
import type { Clock } from '../../lib/util/clock.js'

export type ManualClock = Clock & { advance(ms: number): void }

export function manualClock(wallStartMs = 0): ManualClock {
  let monotonicMs = 0
  let timers: { atMs: number; fn: () => void; cancelled: boolean }[] = []
  return {
    nowMs: () => wallStartMs + monotonicMs,
    monotonicMs: () => monotonicMs,
    after(delayMs, fn) {
      const timer = { atMs: monotonicMs + delayMs, fn, cancelled: false }
      timers.push(timer)
      return { cancel: () => { timer.cancelled = true } }
    },
    every: () => { throw new Error('manualClock: every() is not supported') },
    soon: (fn) => { setImmediate(fn) },
    advance(ms) {
      monotonicMs += ms
      const due = timers.filter((x) => !x.cancelled && x.atMs <= monotonicMs).sort((a, b) => a.atMs - b.atMs)
      timers = timers.filter((x) => !due.includes(x))
      for (const x of due) x.fn()
    },
  }
}
