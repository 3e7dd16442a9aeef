// The CI cut of the fault-injection suite: kill, pause, partition (on 5 nodes),
// membership changes with wipe-and-re-add, and torn tails with power loss, each
// on real nodes for 30 s, every history checked for linearizability and every node
// for convergence. Each case runs a fixed seed from the list printed first, so
// a red CI replays with the same seed; a failure also prints the anomaly and
// the rerun command, and leaves the evidence in test/jepsen/results/.
//   JEPSEN_SEED=n       run every case with seed n (+ its position) instead of the list;
//   JEPSEN_ROTATE=yes   add one mixed-fault case with a seed that changes each day (printed);
//   JEPSEN_SHORT_MS=ms  every case's length (default 30000);
//   JEPSEN_CASES=a,b    only the cases of these scenarios (a replay).
import t from 'tap'
import { stopAllClusters } from './jepsen-cluster.js'
import { runScenario } from './run-scenario.js'
import type { ScenarioName } from './scenarios.js'

const scale = Number(process.env.JEPSEN_SHORT_MS ?? 30_000) / 30_000
const shortTiming = { holdMsMin: 1500, holdMsMax: 5000, quietMsMin: 1000, quietMsMax: 2500 }
// A killed or powered-off node takes seconds to restart on a loaded 2-core
// machine; with the short quiet times, the clients were served in few gaps
// (82 acknowledged ops in 30 s for kill, 50 for disk-loss): a longer quiet
// between faults keeps the history long enough to say something.
const restartTiming = { holdMsMin: 1500, holdMsMax: 4000, quietMsMin: 4000, quietMsMax: 6000 }

interface Case {
  scenario: ScenarioName
  nodes: number
  seed: number
  durationMs: number
  name: string
  timing?: typeof shortTiming
}

// Fixed seeds: change one only together with a reason in the commit message.
const cases: Case[] = [
  { scenario: 'kill', nodes: 3, seed: 18_001, durationMs: 30_000, timing: restartTiming, name: 'histories stay linearizable and nodes converge while random nodes and leaders are killed and restarted' },
  { scenario: 'pause', nodes: 3, seed: 18_002, durationMs: 30_000, name: 'histories stay linearizable and nodes converge while nodes and leaders are paused and woken' },
  { scenario: 'partition', nodes: 5, seed: 18_003, durationMs: 30_000, name: 'on 5 nodes, histories stay linearizable and nodes converge across one-node, leader, majority, bridge and one-way partitions' },
  { scenario: 'membership-wipe', nodes: 3, seed: 18_004, durationMs: 30_000, name: 'histories stay linearizable while members are replaced, leadership is transferred, and a node loses its data directory and is removed and added back' },
  { scenario: 'disk-loss', nodes: 3, seed: 18_005, durationMs: 30_000, timing: restartTiming, name: 'histories stay linearizable while nodes crash with a torn last log write or lose power and every write not yet fsynced' },
]
if (process.env.JEPSEN_ROTATE === 'yes') {
  const day = Math.floor(Date.now() / 86_400_000)
  cases.push({ scenario: 'mixed', nodes: 3, seed: day, durationMs: 30_000, name: `the rotating seed of the day (${day}): every fault kind, one at a time` })
}
const only = process.env.JEPSEN_CASES?.split(',')
if (only !== undefined) cases.splice(0, cases.length, ...cases.filter((c) => only.includes(c.scenario)))
const override = process.env.JEPSEN_SEED
cases.forEach((c, i) => {
  if (override !== undefined) c.seed = Number(override) + i
  c.durationMs = Math.round(c.durationMs * scale)
})
t.comment(`fault suite seeds: ${cases.map((c) => `${c.scenario}/${c.nodes}n=${c.seed}`).join(' ')}`)

t.teardown(stopAllClusters)
t.setTimeout(cases.reduce((sum, c) => sum + c.durationMs * 3 + 120_000, 0))

for (const { scenario, nodes, seed, durationMs, name, timing } of cases) {
  t.test(name, async (t) => {
    t.comment(`${scenario}: ${nodes} nodes, seed ${seed}, ${durationMs} ms`)
    const r = await runScenario({ scenario, nodes, seed, durationMs, timing: timing ?? shortTiming })
    t.comment(`${scenario}: ops ok/failed/unknown ${r.ops.ok}/${r.ops.failed}/${r.ops.unknown}, ${r.faults} faults, ${Math.round(r.elapsedMs / 1000)} s`)
    t.equal(r.verdict, 'ok', `${r.detail}\nschedule: ${JSON.stringify(r.schedule)}\nresults: ${String(r.resultsDir)}\nrerun: ${r.rerun}`)
    t.ok(r.faults >= 2, `${r.faults} faults injected`)
    // Enough acknowledged ops for the check to mean something. Not a rate: a
    // seed that kills the leader every few seconds on a loaded 2-core machine
    // acknowledged 210 in 30 s (kill, seed 18001) and is still a fair test.
    const opsMin = 150
    t.ok(r.ops.ok >= opsMin, `${r.ops.ok} ops acknowledged (at least ${opsMin})`)
  })
}
