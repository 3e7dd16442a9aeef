// Keeps a repeated event to one log line per window. A misconfigured peer
// redials every second; without this its refusals would flood the log of
// every node it reaches, and an operator needs the first line, not the 600th.

export const LOG_WINDOW_MS_DEFAULT = 60_000
/** Bounds the memory an attacker can make us spend on distinct keys. */
const KEYS_MAX = 1024

export class LogLimiter {
  private readonly seen = new Map<string, { sinceMs: number; suppressed: number }>()

  constructor(
    private readonly windowMs: number = LOG_WINDOW_MS_DEFAULT,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** null: stay quiet. Otherwise log, mentioning how many repeats were suppressed since the last line. */
  admit(key: string): { suppressed: number } | null {
    const now = this.nowMs()
    const entry = this.seen.get(key)
    if (entry !== undefined && now - entry.sinceMs < this.windowMs) {
      entry.suppressed++
      return null
    }
    if (entry === undefined && this.seen.size >= KEYS_MAX) this.seen.clear()
    this.seen.set(key, { sinceMs: now, suppressed: 0 })
    return { suppressed: entry?.suppressed ?? 0 }
  }
}
