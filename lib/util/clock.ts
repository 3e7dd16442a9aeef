// Time as the runtime sees it: the current time and timers, behind one
// interface, so that the simulator (test/sim) can run the runtime that ships
// on a clock it advances itself. Production passes systemClock; nothing in
// lib/replica calls Date.now, performance.now, setTimeout, setInterval or
// setImmediate of its own.

/** A pending timer; cancel() is a no-op once it has fired or been cancelled. */
export interface Timer {
  cancel(): void
}

export interface Clock {
  /** Wall-clock time, ms since the epoch: what expiry stamps and deadlines are computed from. */
  nowMs(): number
  /** Monotonic time in ms (fractions allowed), for measuring durations only. */
  monotonicMs(): number
  /** Runs `fn` once, `delayMs` from now. */
  after(delayMs: number, fn: () => void): Timer
  /** Runs `fn` every `intervalMs` until cancelled. */
  every(intervalMs: number, fn: () => void): Timer
  /**
   * Runs `fn` after the I/O callbacks of this event-loop turn (setImmediate):
   * how the runtime gathers everything that arrived in one turn into one batch.
   */
  soon(fn: () => void): void
}

export const systemClock: Clock = Object.freeze({
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  after(delayMs: number, fn: () => void): Timer {
    const handle = setTimeout(fn, delayMs)
    return { cancel: () => clearTimeout(handle) }
  },
  every(intervalMs: number, fn: () => void): Timer {
    const handle = setInterval(fn, intervalMs)
    return { cancel: () => clearInterval(handle) }
  },
  soon(fn: () => void): void {
    setImmediate(fn)
  },
})

/** Resolves `delayMs` from now on `clock`. */
export function sleepOn(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    clock.after(delayMs, resolve)
  })
}

/** Resolves at the end of this event-loop turn on `clock` (a yield to I/O). */
export function yieldOn(clock: Clock): Promise<void> {
  return new Promise((resolve) => clock.soon(resolve))
}

/** `clock` with its wall time moved by `offsetMs` (timers and monotonic time unchanged): a skewed node, for tests. */
export function offsetClock(clock: Clock, offsetMs: number): Clock {
  return Object.freeze({ ...clock, nowMs: () => clock.nowMs() + offsetMs })
}
