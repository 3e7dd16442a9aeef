// Monotonic time read once per run of JavaScript, for the request metrics
// (latency histograms, INFO commandstats): under pipelining a leader runs
// hundreds of requests in one callback and completes hundreds in one apply,
// and reading the clock for each (performance.now() three times a request)
// was ~2.4 % of its CPU under -P 16 (bench/README section 41). Their replies
// leave together at the end of the turn anyway, so one reading serves them
// all. The reading is forgotten at the next microtask checkpoint, so it never
// outlives the synchronous run that took it and the microtasks already queued.
import { atMicrotask } from './microtask.js'

let cachedMs = -1

function forget(): void {
  cachedMs = -1
}

/** performance.now(), read at most once until the current microtask queue drains. */
export function turnMonotonicMs(): number {
  if (cachedMs < 0) {
    cachedMs = performance.now()
    atMicrotask(forget)
  }
  return cachedMs
}
