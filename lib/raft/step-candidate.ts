// Campaigning (etcd's campaign and stepCandidate): PreVote, then Vote, and
// what a (pre-)candidate does with the answers and with a leader's messages.
import { tallyVotes } from './quorum.js'
import type { Raft } from './raft.js'
import { becomeLeader } from './step-leader.js'
import { stepFollower } from './step-follower.js'
import type { Message, VoteResponse } from './types.js'

export function startElection(r: Raft, role: 'precandidate' | 'candidate', transfer: boolean): void {
  r.role = role
  r.leader = null
  r.votes.clear()
  r.resetElectionTimer()
  const campaignTerm = r.term + 1
  if (role === 'candidate') {
    r.term = campaignTerm
    r.vote = r.id
  }
  r.votes.set(r.id, true)
  if (tallyVotes(r.voterIds(), r.votes) === 'won') {
    if (role === 'precandidate') startElection(r, 'candidate', transfer)
    else becomeLeader(r)
    return
  }
  const type = role === 'precandidate' ? 'PreVote' : 'Vote'
  for (const id of r.voterIds()) {
    if (id === r.id) continue
    r.send({ type, from: r.id, to: id, term: campaignTerm, lastIndex: r.log.lastIndex(), lastTerm: r.log.lastTerm(), transfer })
  }
}

export function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case 'Append':
    case 'Heartbeat':
    case 'Snapshot':
      // A leader exists in our term (or the pre-vote term we have not taken).
      r.becomeFollower(r.term, m.from)
      stepFollower(r, m)
      return
    case 'PreVoteResp':
    case 'VoteResp':
      handleVoteResponse(r, m)
      return
    default:
      return
  }
}

function handleVoteResponse(r: Raft, m: VoteResponse): void {
  const expected = r.role === 'precandidate' ? 'PreVoteResp' : 'VoteResp'
  if (m.type !== expected) return
  r.votes.set(m.from, !m.reject)
  const outcome = tallyVotes(r.voterIds(), r.votes)
  if (outcome === 'won') {
    if (r.role === 'precandidate') startElection(r, 'candidate', false)
    else becomeLeader(r)
  } else if (outcome === 'lost') {
    r.becomeFollower(r.term, null)
  }
}
