// The CI configuration of the simulator, shared by the sim-seeds-*.test.ts
// files (tap runs files in parallel, so the seeds are split four ways).
//
// CI runs the full profile, reckless operator included. Two of its moves
// once exposed core bugs, both fixed in lib/raft and kept here as seeds:
//  - the leader of a two-voter configuration removes itself and is cut off
//    (liveness; run-seeds.js --seed 557): a node whose own removal is not yet
//    committed now stays promotable;
//  - a removed node wiped and restarted empty under the same id used to grant
//    votes to anyone (safety; seed 326 with the reckless patch): a node that
//    knows no configuration grants no votes, and learners are promoted only
//    once they hold the committed log.
//  - a node removed, wiped and re-added under the same id, while partly
//    caught up, voted for a stale member whose log listed its previous
//    incarnation (safety; seed 4471, later 4766 and 9848, now 93369 and 99180 in incarnation-regression.test.ts): every
//    data directory now has an incarnation, members are added with theirs,
//    and messages stamped for another incarnation are dropped. Members are
//    now also wiped in place (memberWipeProbability), and replaced as the
//    runtime does when such a node starts empty with JOIN set.
import type { Test } from 'tap'
import { formatFailure, formatSummary, runBatch, type SeedProfile } from './run-seeds.js'

export const ciProfile: SeedProfile = Object.freeze({ careful: false })
export const ciSeedCount = 2000
export const ciFileCount = 4

/** Runs this file's share of the CI seeds and checks that each fault actually happened. */
export function runCiShare(t: Test, share: number): void {
  const count = ciSeedCount / ciFileCount
  const start = 1 + share * count
  const b = runBatch({ start, count, ...ciProfile })
  t.comment(formatSummary(b))
  for (const f of b.failures.slice(0, 3)) t.comment(formatFailure(f, ciProfile))
  t.equal(b.failures.length, 0, `seeds ${start}..${start + count - 1} keep every safety and liveness property`, {
    failingSeeds: b.failures.map((f) => f.seed),
  })
  t.equal(b.bySize[1] > 0 && b.bySize[3] > 0 && b.bySize[5] > 0, true, 'clusters of 1, 3 and 5 nodes ran')
  const s = b.totals
  const exercised: Record<string, number> = {
    'dropped messages': s.dropped,
    'duplicated messages': s.duplicated,
    'messages lost in flight': s.lostInFlight,
    'a node isolated': s.partitions.isolate,
    'a minority/majority split': s.partitions.split,
    'a bridge node between two sides': s.partitions.bridge,
    'a node that hears nobody': s.partitions.inbound,
    'crashes and restarts': s.restarts,
    'members wiped in place and rejoined': s.rejoins,
    'rejoined members promoted once caught up': s.replacedPromoted,
    'a member wiped while a replaced node led (a chain of replacements)': s.chainWipes,
    'crashes inside the Ready loop': s.crashesInReady,
    'learners added': s.confChanges.addLearner,
    'learners promoted': s.confChanges.promote,
    'members removed': s.confChanges.remove,
    'a leader removing itself': s.removedLeader,
    'snapshots installed from a leader': s.snapshotsInstalled,
    compactions: s.compactions,
    'leadership transfers': s.transfers,
    'writes acknowledged': s.writesAcked,
    'ReadIndex reads served': s.readsServed,
  }
  for (const [what, n] of Object.entries(exercised)) t.ok(n > 0, `exercised: ${what} (${n})`)
}
