// Bugs the runtime simulator found, each kept as the seed that showed it
// (each failed before its fix; replay any with run-runtime-seeds.js --seed N --trace).
import t from 'tap'
import { runRuntimeSeed } from './runtime/run-runtime-seeds.js'

const findings: readonly { seed: number; what: string }[] = [
  {
    seed: 932,
    what: "a node's own stepped snapshot finishing after the core accepted a newer one from the leader stops the node no more (issue 15, finding 1: compact 27 not beyond snapshot 28)",
  },
  {
    seed: 830,
    what: 'a bootstrap interrupted by a disk error after its log record restarts (it refused: "holds a log but no cluster id")',
  },
  {
    seed: 53,
    what: 'a bootstrap interrupted by a disk error before its log record restarts (the stored incarnation made the directory look used)',
  },
  {
    seed: 97,
    what: "a record a killed process left in the page cache, which start-up then read as part of the log, is made durable before the node acts on it (a power loss took it back and left a hole before the next boot's records)",
  },
  {
    seed: 100742,
    what: "(the simulator's own disk) a write left in flight by a killed process came back at a later power loss over the next boot's records, and start-up refused the log as corrupt",
  },
  {
    seed: 402492,
    what: "a voter back from an outage, whose log lists the previous incarnation of a member replaced meanwhile, answers that member's vote requests (four voters, one wiped: the only quorum left needed its vote, and it elected no one for good)",
  },
  {
    seed: 969239,
    what: "an operator's snapshot that failed on the disk (ENOSPC) stops its node at once; it ran on with storage that refused every write, stopped at its next write 7 ms into the calm, after convergence was judged, and the final reads waited for a quorum of two voters for good",
  },
  {
    seed: 977821,
    what: "the same on a leader: it led for 260 ms on storage that could not commit anything, and stopped 4 ms into the calm, at the write that added a learner",
  },
  {
    seed: 994777,
    what: "(the simulator's wipe) a member is wiped in place only while no membership change is pending: the partitioned leader, one of two committed voters, had a promotion to three in its log when it was wiped, and the other voter could never win an election again",
  },
]

for (const f of findings) {
  t.test(`runtime seed ${f.seed}: ${f.what}`, async (t) => {
    const r = await runRuntimeSeed({ seed: f.seed })
    t.ok(r.ok, r.error === null ? 'passes' : r.error.message)
  })
}
