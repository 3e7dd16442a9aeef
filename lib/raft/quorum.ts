// Majority arithmetic for one configuration's voters.

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1
}

/**
 * The highest value that a quorum of voters has reached: sort descending and
 * take the quorum-th. With no voters, returns 0.
 */
export function quorumValue(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => b - a)
  return sorted[quorumSize(values.length) - 1] as number
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
