// Local proposals waiting to be applied, keyed by log index. A proposal is
// done when the entry at its index is applied: with its own term it succeeded;
// with another term it was overwritten by a new leader and never applied, so
// the caller may retry it (the kv session table makes retries at-most-once).
import type { KvApplyResult } from '../kv/command.js'

export type ProposalOutcome =
  | { readonly t: 'applied'; readonly result: KvApplyResult }
  | { readonly t: 'lost' }

interface Waiter {
  readonly term: number
  readonly resolve: (o: ProposalOutcome) => void
}

export class ProposalWaiters {
  private readonly byIndex = new Map<number, Waiter>()

  wait(index: number, term: number): Promise<ProposalOutcome> {
    return new Promise((resolve) => {
      const old = this.byIndex.get(index)
      // An index reused by a later term means the old proposal is gone.
      if (old !== undefined) old.resolve({ t: 'lost' })
      this.byIndex.set(index, { term, resolve })
    })
  }

  /** The entry at `index` was applied with `term`. */
  applied(index: number, term: number, result: KvApplyResult | null): void {
    const w = this.byIndex.get(index)
    if (w === undefined) return
    this.byIndex.delete(index)
    if (w.term === term && result !== null) w.resolve({ t: 'applied', result })
    else w.resolve({ t: 'lost' })
  }

  /** Every waiter at or below `index` (a snapshot jumped over them). */
  lostUpTo(index: number): void {
    for (const [i, w] of this.byIndex) {
      if (i <= index) {
        this.byIndex.delete(i)
        w.resolve({ t: 'lost' })
      }
    }
  }

  failAll(): void {
    this.lostUpTo(Number.MAX_SAFE_INTEGER)
  }

  count(): number {
    return this.byIndex.size
  }
}
