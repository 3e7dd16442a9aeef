// The CI cut of the fault-injection suite: kill, pause and partition on 3
// real nodes, each for about 40 s, every history checked for
// linearizability and every node for convergence. A failure prints the seed,
// the anomaly and the rerun command, and leaves the evidence in
// test/jepsen/results/. JEPSEN_SEED fixes the seed; JEPSEN_SHORT_MS the length.
import t from 'tap'
import { stopAllClusters } from './jepsen-cluster.js'
import { runScenario } from './run-scenario.js'
import type { ScenarioName } from './scenarios.js'

const durationMs = Number(process.env.JEPSEN_SHORT_MS ?? 40_000)
const baseSeed = Number(process.env.JEPSEN_SEED ?? Math.floor(Math.random() * 1_000_000))
const shortTiming = { holdMsMin: 1500, holdMsMax: 5000, quietMsMin: 1000, quietMsMax: 2500 }

t.teardown(stopAllClusters)
t.setTimeout(durationMs * 3 + 180_000)

const cases: { scenario: ScenarioName; name: string }[] = [
  { scenario: 'kill', name: 'histories stay linearizable and nodes converge while random nodes and leaders are killed and restarted' },
  { scenario: 'pause', name: 'histories stay linearizable and nodes converge while nodes and leaders are paused and woken' },
  { scenario: 'partition', name: 'histories stay linearizable and nodes converge across one-node, leader, majority, bridge and one-way partitions' },
]

cases.forEach(({ scenario, name }, i) => {
  t.test(name, async (t) => {
    const seed = baseSeed + i
    t.comment(`${scenario}: seed ${seed}, ${durationMs} ms`)
    const r = await runScenario({ scenario, nodes: 3, seed, durationMs, timing: shortTiming })
    t.comment(`${scenario}: ops ok/failed/unknown ${r.ops.ok}/${r.ops.failed}/${r.ops.unknown}, ${r.faults} faults, ${Math.round(r.elapsedMs / 1000)} s`)
    t.equal(r.verdict, 'ok', `${r.detail}\nschedule: ${JSON.stringify(r.schedule)}\nresults: ${String(r.resultsDir)}\nrerun: ${r.rerun}`)
    t.ok(r.faults >= 2, `${r.faults} faults injected`)
    t.ok(r.ops.ok >= 500, `${r.ops.ok} ops acknowledged`)
  })
})
