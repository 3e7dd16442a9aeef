// Deliberately broken variants of the runtime and the core, to show that the
// simulator's checks can fail (a checker that never fires proves nothing).
// Each variant also tilts the weather towards the faults its bug needs.
import { quorumValue } from '../../lib/raft/quorum.js'
import { RaftNode } from '../../lib/raft/raw-node.js'
import type { SimOptions } from './sim-cluster.js'
import type { CoreFactory } from './sim-node.js'

/**
 * Commits the highest index a quorum holds whatever its term — the rule §5.4.2
 * forbids (the paper's Figure 8): a new leader can then overwrite it.
 */
class CommitsPreviousTerms extends RaftNode {
  protected override maybeCommit(): boolean {
    const voters = this.log.config().members.filter((m) => m.role === 'voter')
    const q = quorumValue(voters.map((m) => this.progress.get(m.id)?.match ?? 0))
    if (q <= this.log.commit) return false
    return this.log.commitTo(q)
  }
}

const commitsPreviousTerms: CoreFactory = (options, initial) => new CommitsPreviousTerms(options, initial)

export type VariantName = 'forget-vote' | 'send-before-persist' | 'commit-previous-term'
export const variantNames: readonly VariantName[] = ['forget-vote', 'send-before-persist', 'commit-previous-term']

/** The options that turn a seed's run into the broken variant. */
export function variantOptions(name: VariantName): Omit<SimOptions, 'seed'> {
  switch (name) {
    case 'forget-vote':
      return {
        bugs: { forgetVoteOnRestart: true, sendBeforePersist: false },
        weatherPatch: { crashProbability: 0.08, crashInReadyProbability: 0.2, restartProbability: 0.5 },
      }
    case 'send-before-persist':
      return {
        bugs: { forgetVoteOnRestart: false, sendBeforePersist: true },
        weatherPatch: { crashProbability: 0.08, crashInReadyProbability: 0.9, restartProbability: 0.3 },
      }
    case 'commit-previous-term':
      return {
        coreFactory: commitsPreviousTerms,
        weatherPatch: { crashProbability: 0.06, crashInReadyProbability: 0.3, restartProbability: 0.3 },
      }
  }
}
