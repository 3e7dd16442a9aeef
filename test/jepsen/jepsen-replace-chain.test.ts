// Issue 21 in the fault suite: members lose their disks one after another and
// rejoin in place through a live member (the README's procedure), and a
// replaced member is often made leader before the next one is wiped; nodes
// are also killed, paused and cut off meanwhile. After the final heal every
// member must be a voter, caught up and serving the same values, and the
// clients' history linearizable. No snapshot is taken during the run, so a
// rejoining node replays the log through entries naming earlier incarnations
// of its leader (with snapshots: scenario replace-chain, in make jepsen). The
// seed is fixed and printed, so a red run replays (JEPSEN_SEED overrides it).
import t from 'tap'
import { stopAllClusters } from './jepsen-cluster.js'
import { runScenario } from './run-scenario.js'

const durationMs = Number(process.env.JEPSEN_SHORT_MS ?? 40_000)
const seed = Number(process.env.JEPSEN_SEED ?? 2121)
const shortTiming = { holdMsMin: 1500, holdMsMax: 4000, quietMsMin: 1000, quietMsMax: 2500 }

t.teardown(stopAllClusters)
t.setTimeout(durationMs * 3 + 240_000)

t.test('members replaced one after another, some then leading, end as caught-up voters with a linearizable history', async (t) => {
  t.comment(`replace-chain-replay: seed ${seed}, ${durationMs} ms`)
  const r = await runScenario({ scenario: 'replace-chain-replay', nodes: 3, seed, durationMs, timing: shortTiming })
  t.comment(`replace-chain-replay: ops ok/failed/unknown ${r.ops.ok}/${r.ops.failed}/${r.ops.unknown}, ${r.faults} faults, ${Math.round(r.elapsedMs / 1000)} s`)
  for (const f of r.schedule) t.comment(`  ${f.atMs} ms ${f.kind}: ${f.detail}`)
  t.equal(r.verdict, 'ok', `${r.detail}\nresults: ${String(r.resultsDir)}\nrerun: ${r.rerun}`)
  const replaced = r.schedule.filter((f) => f.kind === 'replace-in-place' && f.detail.includes('wiped and restarted'))
  t.ok(replaced.length >= 2, `${replaced.length} members replaced in place`)
  // A chain: a member rejoins through one that was replaced and then made leader earlier in the run.
  const ledAfterReplace = new Set<string>()
  let chained = 0
  for (const f of replaced) {
    const m = /^(\S+) killed, wiped and restarted with JOIN=(\S+?)(;|$)/.exec(f.detail)
    if (m === null) continue
    if (ledAfterReplace.has(m[2] as string)) chained++
    if (f.detail.endsWith('then made leader')) ledAfterReplace.add(m[1] as string)
  }
  t.ok(chained >= 1, `${chained} members rejoined through a replaced member made leader`)
})
