// Local proposals waiting to be applied, in log order. A proposal is done
// when the entry at its index is applied: with its own term it succeeded;
// with another term it was overwritten by a new leader and never applied, so
// the caller may retry it (the kv session table makes retries at-most-once).
//
// Proposals get increasing indexes, and entries are applied in index order,
// so the waiters form a queue: registering appends at the tail and applying
// pops from the head — no map, no search, O(1) per proposal. The queue is
// three parallel arrays (index, term, waiter), and a waiter is an object
// with methods rather than a promise's resolve: a client write on the
// leader settles its reply straight from the apply, with no promise and no
// closure per proposal (ProposalWaiter). Callers that want a promise wrap
// one (wait, PromiseWaiter).
import type { KvApplyResult } from '../kv/command.js'
import type { ProposeFailure } from '../raft/raw-node.js'

export type ProposalOutcome =
  | { readonly t: 'applied'; readonly result: KvApplyResult }
  | { readonly t: 'lost' }
  /** Never entered the log (not leader, busy, ...): safe to retry elsewhere or later. */
  | { readonly t: 'refused'; readonly reason: ProposeFailure }

/** Told exactly once what became of one proposal. Called from inside the apply loop: must not throw. */
export interface ProposalWaiter {
  /** The entry was applied with the proposal's own term. */
  proposalApplied(result: KvApplyResult): void
  /** Overwritten by a new leader, or jumped over by a snapshot: not applied as proposed here. */
  proposalLost(): void
  /** Never entered the log (not leader, busy, stopping). */
  proposalRefused(reason: ProposeFailure): void
}

const lost: ProposalOutcome = Object.freeze({ t: 'lost' })

/** A ProposalWaiter that resolves a promise with the ProposalOutcome (the slow paths). */
export class PromiseWaiter implements ProposalWaiter {
  constructor(private readonly resolve: (o: ProposalOutcome) => void) {}

  proposalApplied(result: KvApplyResult): void {
    this.resolve({ t: 'applied', result })
  }

  proposalLost(): void {
    this.resolve(lost)
  }

  proposalRefused(reason: ProposeFailure): void {
    this.resolve({ t: 'refused', reason })
  }
}

/** Compact the arrays once this many waiters at the head are done (and they are half of them). */
const compactAfter = 1024

export class ProposalWaiters {
  // Waiters at positions [head, length), indexes strictly increasing.
  private indexes: number[] = []
  private terms: number[] = []
  private waiters: ProposalWaiter[] = []
  private head = 0

  wait(index: number, term: number): Promise<ProposalOutcome> {
    return new Promise((resolve) => this.add(index, term, new PromiseWaiter(resolve)))
  }

  add(index: number, term: number, waiter: ProposalWaiter): void {
    // An index reused by a later term means the proposals there and after it are gone.
    const indexes = this.indexes
    while (indexes.length > this.head && (indexes[indexes.length - 1] as number) >= index) {
      indexes.pop()
      this.terms.pop()
      ;(this.waiters.pop() as ProposalWaiter).proposalLost()
    }
    indexes.push(index)
    this.terms.push(term)
    this.waiters.push(waiter)
  }

  /** The entry at `index` was applied with `term`. */
  applied(index: number, term: number, result: KvApplyResult | null): void {
    // this.indexes, not a local: shift() may compact the arrays.
    while (this.head < this.indexes.length) {
      const at = this.head
      const waiterIndex = this.indexes[at] as number
      if (waiterIndex > index) break
      const waiter = this.waiters[at] as ProposalWaiter
      const waiterTerm = this.terms[at] as number
      this.shift()
      // A waiter below `index` was skipped over (cannot happen in order; be safe).
      if (waiterIndex === index && waiterTerm === term && result !== null) waiter.proposalApplied(result)
      else waiter.proposalLost()
    }
  }

  /** Every waiter at or below `index` (a snapshot jumped over them). */
  lostUpTo(index: number): void {
    while (this.head < this.indexes.length && (this.indexes[this.head] as number) <= index) {
      const waiter = this.waiters[this.head] as ProposalWaiter
      this.shift()
      waiter.proposalLost()
    }
  }

  failAll(): void {
    this.lostUpTo(Number.MAX_SAFE_INTEGER)
  }

  count(): number {
    return this.indexes.length - this.head
  }

  private shift(): void {
    // Drop the reference now: the waiter holds a client's reply.
    ;(this.waiters as (ProposalWaiter | undefined)[])[this.head] = undefined
    this.head++
    if (this.head === this.indexes.length) {
      // Empty: start over without copying (the usual case between batches).
      this.indexes.length = 0
      this.terms.length = 0
      this.waiters.length = 0
      this.head = 0
    } else if (this.head >= compactAfter && this.head * 2 >= this.indexes.length) {
      // Compact now and then instead of Array.shift() per entry.
      this.indexes = this.indexes.slice(this.head)
      this.terms = this.terms.slice(this.head)
      this.waiters = this.waiters.slice(this.head)
      this.head = 0
    }
  }
}
