// Callers waiting for the state machine to reach an index (reads after their
// ReadIndex, admin commands after their config entry). Kept sorted by index so
// each apply releases a prefix; bounded by the caller's own limits.

interface Waiter {
  readonly index: number
  readonly resolve: () => void
}

export class AppliedWaiters {
  private waiters: Waiter[] = []

  /** Resolves at once when `applied` is already at `index`. */
  wait(index: number, applied: number): Promise<void> {
    if (index <= applied) return Promise.resolve()
    return new Promise((resolve) => {
      const w: Waiter = { index, resolve }
      // Most waiters arrive in index order: search from the end.
      let i = this.waiters.length
      while (i > 0 && (this.waiters[i - 1] as Waiter).index > index) i--
      this.waiters.splice(i, 0, w)
    })
  }

  release(applied: number): void {
    let n = 0
    while (n < this.waiters.length && (this.waiters[n] as Waiter).index <= applied) n++
    if (n === 0) return
    const done = this.waiters.splice(0, n)
    for (const w of done) w.resolve()
  }

  /** Releases everyone (shutdown, or a snapshot that jumped past them). */
  releaseAll(): void {
    const done = this.waiters
    this.waiters = []
    for (const w of done) w.resolve()
  }

  count(): number {
    return this.waiters.length
  }
}
