// Deliberately broken variants of the runtime and the core, to show that the
// simulator's checks can fail (a checker that never fires proves nothing).
// Each variant also tilts the weather towards the faults its bug needs.
import { quorumValue } from '../../lib/raft/quorum.js'
import { Raft } from '../../lib/raft/raft.js'
import { RaftNode } from '../../lib/raft/raw-node.js'
import type { Incarnation, Message, NodeId, VoteRequest } from '../../lib/raft/types.js'
import type { SimOptions } from './sim-cluster.js'
import type { CoreFactory } from './sim-node.js'

/**
 * Commits the highest index a quorum holds whatever its term — the rule §5.4.2
 * forbids (the paper's Figure 8): a new leader can then overwrite it.
 */
class CommitsPreviousTerms extends Raft {
  override maybeCommit(): boolean {
    const voters = this.log.config().members.filter((m) => m.role === 'voter')
    const q = quorumValue(voters.map((m) => this.progress.get(m.id)?.match ?? 0))
    if (q <= this.log.commit) return false
    return this.log.commitTo(q)
  }
}

const commitsPreviousTerms: CoreFactory = (options, initial) => new RaftNode(options, initial, (o, i) => new CommitsPreviousTerms(o, i))

/**
 * Takes every message whatever incarnation it is stamped for: a node wiped and
 * back under its old id votes for (and acks) a member whose log still lists
 * its previous incarnation, as before incarnations existed (found by seed 4471).
 */
class IgnoresIncarnations extends Raft {
  override stampsMatch(_m: Message): boolean {
    return true
  }
}

export const ignoresIncarnations: CoreFactory = (options, initial) => new RaftNode(options, initial, (o, i) => new IgnoresIncarnations(o, i))

/**
 * The core before issue 21: a node follows only leaders whose incarnation its
 * own configuration lists, and stamps its replies from that configuration. A
 * node rejoining through a leader that was itself replaced stops for good at
 * the first entry naming that leader's previous incarnation.
 */
class FollowsOnlyListedLeaders extends Raft {
  override addressedByNewerConfig(_m: Message): boolean {
    return false
  }
  override receiverIncarnation(to: NodeId): Incarnation {
    return this.incarnationOf(to)
  }
}

export const followsOnlyListedLeaders: CoreFactory = (options, initial) => new RaftNode(options, initial, (o, i) => new FollowsOnlyListedLeaders(o, i))

/**
 * The core before runtime seed 402492's fix: a vote request from an
 * incarnation of the candidate that the voter's configuration does not list,
 * or from outside it, is dropped. A voter that was down while the candidate
 * was replaced or added then helps elect no one, and when the only quorum
 * left needs it, no leader is ever elected (the stale voter could only catch
 * up from one).
 */
class RefusesUnlistedCandidates extends Raft {
  override asksVoteOfThisIncarnation(_m: Message): _m is VoteRequest {
    return false
  }
}

export const refusesUnlistedCandidates: CoreFactory = (options, initial) => new RaftNode(options, initial, (o, i) => new RefusesUnlistedCandidates(o, i))

/** Weather for the replacement variants: members wiped and replaced, in chains and while others are down. */
export const replacementWeather = Object.freeze({ memberWipeProbability: 0.01, replacementChainProbability: 0.1 })

export type VariantName = 'forget-vote' | 'send-before-persist' | 'commit-previous-term' | 'ignore-incarnation' | 'follow-listed-leaders-only' | 'refuse-unlisted-candidates'
export const variantNames: readonly VariantName[] = [
  'forget-vote', 'send-before-persist', 'commit-previous-term', 'ignore-incarnation', 'follow-listed-leaders-only', 'refuse-unlisted-candidates',
]

/** The options that turn a seed's run into the broken variant. */
export function variantOptions(name: VariantName): Omit<SimOptions, 'seed'> {
  switch (name) {
    case 'forget-vote':
      return {
        bugs: { forgetVoteOnRestart: true, sendBeforePersist: false },
        nodeCount: 3,
        // Split votes with no lease to hide behind, and vote requests spread
        // out in time: a voter that restarts between two candidates' requests
        // forgets it already voted.
        weatherPatch: {
          crashProbability: 0.5, crashInReadyProbability: 0.3, restartProbability: 1,
          link: { dropProbability: 0, duplicateProbability: 0.5, latencyUnitsMin: 1, latencyUnitsMax: 80 },
        },
        raftPatch: { preVote: false, checkQuorum: false, electionTimeoutTicks: 5 },
      }
    case 'send-before-persist':
      return {
        bugs: { forgetVoteOnRestart: false, sendBeforePersist: true },
        nodeCount: 3,
        // A follower acks, then crashes before the entries reach its disk.
        weatherPatch: { crashProbability: 0.3, crashInReadyProbability: 0.9, restartProbability: 1 },
      }
    case 'commit-previous-term':
      return {
        coreFactory: commitsPreviousTerms,
        nodeCount: 3,
        // The paper's Figure 8: leaders cut off right after winning pile up
        // entries of their own term; a later leader, sending one entry per
        // append, counts an old-term entry onto a quorum, and the cut-off
        // leader (its last term higher) comes back and wins before the no-op
        // that would have protected the entry arrives.
        weatherPatch: {
          spareCount: 0, bootstrap: 'static', faultTicks: 300,
          membershipProbability: 0, snapshotProbability: 0, transferProbability: 0, campaignProbability: 0,
          crashProbability: 0.02, restartProbability: 0.3, proposalProbability: 0.9,
          isolateNewLeaderProbability: 0.6, partitionTicksMax: 30,
          link: { dropProbability: 0.02, duplicateProbability: 0, latencyUnitsMin: 5, latencyUnitsMax: 25 },
        },
        raftPatch: { appendEntriesMax: 1, inflightAppendsMax: 1, preVote: false, checkQuorum: false, electionTimeoutTicks: 5 },
      }
    case 'ignore-incarnation':
      // The weather is the seed's own: the bug needs a rare interleaving
      // (seeds 4766, 9848: incarnation-regression.test.ts), not a tilt that makes it common.
      return { coreFactory: ignoresIncarnations }
    case 'follow-listed-leaders-only':
      // Chains of replacements, and logs long enough to arrive in several appends.
      return {
        coreFactory: followsOnlyListedLeaders,
        weatherPatch: replacementWeather,
        raftPatch: { appendEntriesMax: 2 },
      }
    case 'refuse-unlisted-candidates':
      return { coreFactory: refusesUnlistedCandidates, weatherPatch: replacementWeather }
  }
}
