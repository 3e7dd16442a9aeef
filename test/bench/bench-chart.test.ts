// The benchmark chart: vega-lite draws every workload and yardstick of a
// results file as SVG in Node, and the command-line script writes it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { writeBenchChart } from '../../bench/chart.js'
import { chartSpec, renderChartSvg, type BenchResults } from '../../bench/lib/bench-chart.js'
import type { RunResult } from '../../bench/lib/result.js'

const run = (target: string, workload: string, opsPerSec: number): RunResult => ({
  target, workload, tool: 'redis-benchmark', requests: 1000, errors: 0, seconds: 1, opsPerSec, p50Ms: 1.5, p99Ms: 12.5, p999Ms: 40.25, maxMs: 50,
})

const results: BenchResults = {
  command: 'QUICK=1 node dist/bench/suite.js',
  medians: [
    run('raftkv-3', 'set-c50', 12_345),
    run('redis-always', 'set-c50', 67_890),
    run('etcd-3', 'get-c50-leader', 4_567),
    run('replication-floor', 'get-c50-leader', 26_820),
    run('raftkv-5', 'set-c50', 5_000),
  ],
}

t.test('the SVG shows each workload, each yardstick and its throughput', async (t) => {
  const svg = await renderChartSvg(results)
  t.match(svg, /^<svg /)
  for (const text of ['set-c50', 'get-c50-leader', 'raftkv (3 nodes)', 'Redis (appendfsync always)', 'etcd (3 members)', 'replication floor (3 nodes)', '12k', '68k', 'p99.9', 'QUICK=1 node dist/bench/suite.js']) {
    t.ok(svg.includes(text), `shows ${text}`)
  }
})

t.test('targets the chart does not know (the 5-node run) are left out, and only shown targets get a colour', async (t) => {
  const spec = JSON.stringify(chartSpec(results))
  t.notMatch(spec, /raftkv-5/)
  t.notMatch(spec, /node floor/)
})

t.test('the script writes the chart next to the results file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-chart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const json = join(dir, 'latest.json')
  writeFileSync(json, JSON.stringify(results))
  t.equal(await writeBenchChart(json), join(dir, 'latest.svg'))
  t.match(readFileSync(join(dir, 'latest.svg'), 'utf8'), /raftkv \(3 nodes\)/)
  writeFileSync(json, '{"command":"x","medians":[]}')
  await t.rejects(writeBenchChart(json), /no "medians"/)
})
