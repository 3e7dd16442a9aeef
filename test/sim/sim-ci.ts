// The CI configuration of the simulator, shared by the sim-seeds-*.test.ts
// files (tap runs files in parallel, so the seeds are split four ways).
//
// CI runs the careful-operator profile. Two reckless moves expose open bugs
// in lib/raft, so `make sim` runs them and CI keeps them out until fixed:
//  - the leader of a two-voter configuration removes itself and is cut off
//    before the other voter gets the new configuration: the removed node will
//    not campaign (it is no voter in its own latest config) and refuses its
//    vote to the remaining voter (whose log is shorter), which still needs it
//    — no leader ever again (liveness; run-seeds.js --seed 557);
//  - a removed node is wiped and restarted empty under the same id: an empty
//    node (no config) grants votes to anyone, so a stale member whose old
//    config still lists it as a voter wins an election with a log missing
//    committed entries (safety: leader completeness; run-seeds.js --seed 326
//    --patch '{"wipeProbability":1,"membershipProbability":0.15,
//    "carefulOperator":false,"partitionProbability":0.1,
//    "partitionTicksMax":40,"restartProbability":0.5}').
import type { Test } from 'tap'
import { formatFailure, formatSummary, runBatch, type SeedProfile } from './run-seeds.js'

export const ciProfile: SeedProfile = Object.freeze({ careful: true })
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
