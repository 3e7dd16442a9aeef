// The fault-injection suite from the command line.
//   node dist/test/jepsen/run.js --scenario kill --nodes 3 --seed 42 --duration-ms 60000
//   node dist/test/jepsen/run.js --all       (every scenario on 3 and 5 nodes; `make jepsen`)
// Prints one table row per run; exits 1 when any run's verdict is not ok.
import { parseArgs } from 'node:util'
import { runScenario, type RunReport } from './run-scenario.js'
import { isScenarioName, scenarioNames, type ScenarioName } from './scenarios.js'

const usage = 'usage: run.js (--all | --scenario NAME) [--nodes N] [--seed S] [--duration-ms D] [--unsafe-stale-reads]'

function row(cells: readonly string[]): string {
  const widths = [16, 6, 24, 7, 12, 9]
  return cells.map((c, i) => c.padEnd(widths[i] ?? 10)).join(' ')
}

function reportRow(r: RunReport): string {
  return row([r.scenario, String(r.nodes), `${r.ops.ok}/${r.ops.failed}/${r.ops.unknown}`, String(r.faults), r.verdict, `${Math.round(r.elapsedMs / 1000)} s`])
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      all: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      nodes: { type: 'string' },
      seed: { type: 'string' },
      'duration-ms': { type: 'string' },
      'unsafe-stale-reads': { type: 'boolean', default: false },
    },
  })
  const durationMs = Number(values['duration-ms'] ?? process.env.JEPSEN_DURATION_MS ?? 300_000)
  const baseSeed = values.seed === undefined ? Date.now() % 1_000_000_007 : Number(values.seed)
  let names: ScenarioName[]
  if (values.all) names = scenarioNames
  else if (values.scenario !== undefined && isScenarioName(values.scenario)) names = [values.scenario]
  else throw new Error(`${usage}\nscenarios: ${scenarioNames.join(', ')}`)
  const sizes = values.nodes !== undefined ? [Number(values.nodes)] : values.all ? [3, 5] : [3]
  if (!Number.isSafeInteger(durationMs) || durationMs <= 0 || sizes.some((n) => !(n >= 1)) || !Number.isSafeInteger(baseSeed)) throw new Error(usage)
  const reports: RunReport[] = []
  let i = 0
  for (const nodes of sizes) {
    for (const scenario of names) {
      // Each run its own seed, derived from the base one so a whole table reruns too.
      const seed = values.all ? baseSeed + i++ : baseSeed
      const r = await runScenario({ scenario, nodes, seed, durationMs, unsafeStaleReads: values['unsafe-stale-reads'], log: (l) => process.stderr.write(`${l}\n`) })
      reports.push(r)
      process.stderr.write(`${reportRow(r)}\n`)
      for (const f of r.schedule) process.stderr.write(`  ${String(f.atMs).padStart(7)} ms ${f.kind}: ${f.detail} (healed at ${f.healedAtMs} ms)\n`)
      if (r.verdict !== 'ok') process.stderr.write(`  ${r.detail.split('\n').join('\n  ')}\n  results: ${String(r.resultsDir)}\n  rerun: ${r.rerun}\n`)
    }
  }
  process.stdout.write(`\n${row(['scenario', 'nodes', 'ops ok/failed/unknown', 'faults', 'verdict', 'time'])}\n`)
  for (const r of reports) process.stdout.write(`${reportRow(r)}\n`)
  if (reports.some((r) => r.verdict !== 'ok')) process.exitCode = 1
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 2
})
