// Slows password guessing per source address, across connections: each
// failed AUTH (or wrong bearer token) from an address doubles the delay
// before that address's next failure is answered, up to a cap; a quiet
// minute forgets it. A connection's own failures still queue behind each
// other (connection.ts), so neither many connections nor a pipeline guess
// faster than the delay allows.

export interface AuthThrottleOptions {
  readonly delayMsMin: number
  readonly delayMsMax: number
  /** Failures older than this no longer count. */
  readonly windowMs?: number
}

/** Bounds the memory a spread of source addresses can make us spend. */
const ADDRESSES_MAX = 10_000
const WINDOW_MS_DEFAULT = 60_000

export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; lastMs: number }>()

  constructor(
    private readonly options: AuthThrottleOptions,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Records a failure from `address`; returns how long to wait before answering it. */
  failed(address: string): number {
    const now = this.nowMs()
    const windowMs = this.options.windowMs ?? WINDOW_MS_DEFAULT
    let entry = this.failures.get(address)
    if (entry === undefined || now - entry.lastMs > windowMs) {
      if (entry === undefined && this.failures.size >= ADDRESSES_MAX) this.failures.clear()
      entry = { count: 0, lastMs: now }
      this.failures.set(address, entry)
    }
    const delayMs = Math.min(this.options.delayMsMax, this.options.delayMsMin * 2 ** Math.min(entry.count, 30))
    entry.count++
    entry.lastMs = now
    return delayMs
  }
}
