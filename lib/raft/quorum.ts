// Majority arithmetic for one configuration's voters.

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1
}

/**
 * Collects one value per voter and answers the highest value a quorum of them
 * has reached, without allocating: the leader asks on every ack (commit) and
 * every heartbeat answer (reads), so a copy-and-sort per ask was garbage on
 * the hottest path. Values are kept in descending order by insertion sort,
 * cheap for the 3–7 voters a cluster has; the buffer grows (rarely) for more.
 */
export class QuorumScratch {
  private values = new Float64Array(8)
  private count = 0

  reset(): void {
    this.count = 0
  }

  add(value: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    let i = this.count++
    while (i > 0 && (this.values[i - 1] as number) < value) {
      this.values[i] = this.values[i - 1] as number
      i--
    }
    this.values[i] = value
  }

  /** The quorum-th largest value added since reset(); 0 with none. */
  value(): number {
    if (this.count === 0) return 0
    return this.values[quorumSize(this.count) - 1] as number
  }
}

const shared = new QuorumScratch()

/**
 * The highest value that a quorum of voters has reached: the quorum-th
 * largest. With no voters, returns 0. Allocates nothing (the core is
 * single-threaded, so one shared scratch serves every caller).
 */
export function quorumValue(values: readonly number[]): number {
  shared.reset()
  for (const v of values) shared.add(v)
  return shared.value()
}

export type VoteOutcome = 'won' | 'lost' | 'pending'

export function tallyVotes(voters: readonly string[], votes: ReadonlyMap<string, boolean>): VoteOutcome {
  let granted = 0
  let rejected = 0
  for (const id of voters) {
    const v = votes.get(id)
    if (v === true) granted++
    else if (v === false) rejected++
  }
  const q = quorumSize(voters.length)
  if (granted >= q) return 'won'
  if (rejected > voters.length - q) return 'lost'
  return 'pending'
}
