// Local proposals waiting to be applied, in log order. A proposal is done
// when the entry at its index is applied: with its own term it succeeded;
// with another term it was overwritten by a new leader and never applied, so
// the caller may retry it (the kv session table makes retries at-most-once).
//
// Proposals get increasing indexes, and entries are applied in index order,
// so the waiters form a queue: registering appends at the tail and applying
// pops from the head — no map, no search, O(1) per proposal.
import type { KvApplyResult } from '../kv/command.js'
import type { ProposeFailure } from '../raft/raw-node.js'

export type ProposalOutcome =
  | { readonly t: 'applied'; readonly result: KvApplyResult }
  | { readonly t: 'lost' }
  /** Never entered the log (not leader, busy, ...): safe to retry elsewhere or later. */
  | { readonly t: 'refused'; readonly reason: ProposeFailure }

interface Waiter {
  readonly index: number
  readonly term: number
  readonly resolve: (o: ProposalOutcome) => void
}

const lost: ProposalOutcome = Object.freeze({ t: 'lost' })

export class ProposalWaiters {
  /** Waiters at positions [head, length), indexes strictly increasing. */
  private queue: Waiter[] = []
  private head = 0

  wait(index: number, term: number): Promise<ProposalOutcome> {
    return new Promise((resolve) => this.add(index, term, resolve))
  }

  /** Registers a callback instead of a promise (the batching proposer holds its own). */
  add(index: number, term: number, resolve: (o: ProposalOutcome) => void): void {
    // An index reused by a later term means the proposals there and after it are gone.
    while (this.queue.length > this.head && (this.queue[this.queue.length - 1] as Waiter).index >= index) {
      ;(this.queue.pop() as Waiter).resolve(lost)
    }
    this.queue.push({ index, term, resolve })
  }

  /** The entry at `index` was applied with `term`. */
  applied(index: number, term: number, result: KvApplyResult | null): void {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head] as Waiter
      if (w.index > index) break
      this.shift()
      // A waiter below `index` was skipped over (cannot happen in order; be safe).
      if (w.index === index && w.term === term && result !== null) w.resolve({ t: 'applied', result })
      else w.resolve(lost)
    }
  }

  /** Every waiter at or below `index` (a snapshot jumped over them). */
  lostUpTo(index: number): void {
    while (this.head < this.queue.length && (this.queue[this.head] as Waiter).index <= index) this.shift().resolve(lost)
  }

  failAll(): void {
    this.lostUpTo(Number.MAX_SAFE_INTEGER)
  }

  count(): number {
    return this.queue.length - this.head
  }

  private shift(): Waiter {
    const w = this.queue[this.head] as Waiter
    this.head++
    // Compact now and then instead of Array.shift() per entry.
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    return w
  }
}
