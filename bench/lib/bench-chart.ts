// The benchmark chart (bench/results/latest.svg): throughput per workload for
// raftkv and its yardsticks side by side, and their latency percentiles,
// drawn by vega-lite from a results JSON that bench/suite.ts wrote. Vega
// renders the SVG in Node; no browser and no hand-made SVG.
import { View, parse } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { RunResult } from './result.js'

/** The part of latest.json the chart reads. */
export interface BenchResults {
  readonly command: string
  readonly medians: readonly RunResult[]
}

/** Targets in the order and colours of the chart; others in the results are left out. */
const targets: readonly { readonly id: string; readonly label: string; readonly color: string }[] = [
  { id: 'raftkv-3', label: 'raftkv (3 nodes)', color: '#d9622b' },
  { id: 'replication-floor', label: 'replication floor (3 nodes)', color: '#8a8a8a' },
  { id: 'etcd-3', label: 'etcd (3 members)', color: '#2b7bd9' },
  { id: 'redis-always', label: 'Redis (appendfsync always)', color: '#c93333' },
  { id: 'node-floor', label: 'node floor (1 process)', color: '#cfcfcf' },
]

const percentiles = [
  { field: 'p50Ms', label: 'p50' },
  { field: 'p99Ms', label: 'p99' },
  { field: 'p999Ms', label: 'p99.9' },
] as const

interface Row {
  readonly workload: string
  readonly target: string
  readonly tool: string
  readonly opsPerSec: number
  readonly percentile?: string
  readonly latencyMs?: number
}

export function chartSpec(results: BenchResults): TopLevelSpec {
  const known = new Map(targets.map((t) => [t.id, t]))
  const runs = results.medians.filter((m) => known.has(m.target))
  const workloads = [...new Set(runs.map((m) => m.workload))]
  const throughput: Row[] = runs.map((m) => ({ workload: m.workload, target: known.get(m.target)?.label ?? m.target, tool: m.tool, opsPerSec: Math.round(m.opsPerSec) }))
  const latency: Row[] = runs.flatMap((m) =>
    percentiles.map((p) => ({ workload: m.workload, target: known.get(m.target)?.label ?? m.target, tool: m.tool, opsPerSec: m.opsPerSec, percentile: p.label, latencyMs: m[p.field] })),
  )
  const shown = targets.filter((t) => runs.some((m) => m.target === t.id))
  const color = { field: 'target', type: 'nominal', title: null, scale: { domain: shown.map((t) => t.label), range: shown.map((t) => t.color) }, legend: { orient: 'top', columns: 3, labelLimit: 260 } } as const
  const xTarget = { field: 'target', type: 'nominal', sort: shown.map((t) => t.label), axis: null, title: null } as const
  // Gridlines at whole decades only: vega's log axis otherwise draws one per tick between them.
  const latencies = latency.map((r) => r.latencyMs ?? 0).filter((v) => v > 0)
  const decades: number[] = []
  for (let d = 10 ** Math.floor(Math.log10(Math.min(...latencies))); d <= 10 * Math.max(...latencies); d *= 10) decades.push(Number(d.toPrecision(1)))
  const column = { field: 'workload', type: 'nominal', sort: workloads, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } as const
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'raftkv and its yardsticks, same machine, one run', subtitle: `${results.command} (medians; etcd through wrk over HTTP, the rest through redis-benchmark or the bench driver)`, anchor: 'start' },
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: '#dddddd' } },
    vconcat: [
      {
        title: { text: 'Throughput (requests/s; each workload on its own scale)', anchor: 'start', fontSize: 13 },
        data: { values: throughput },
        facet: { column },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: 110,
          height: 170,
          layer: [
            {
              mark: { type: 'bar' },
              encoding: {
                x: xTarget,
                y: { field: 'opsPerSec', type: 'quantitative', title: 'requests/s', axis: { format: '~s' } },
                color,
                tooltip: [{ field: 'target' }, { field: 'opsPerSec', format: ',' }, { field: 'tool' }],
              },
            },
            {
              mark: { type: 'text', dy: -5, fontSize: 9, baseline: 'bottom' },
              encoding: { x: xTarget, y: { field: 'opsPerSec', type: 'quantitative' }, text: { field: 'opsPerSec', type: 'quantitative', format: '.2~s' } },
            },
          ],
        },
      },
      {
        title: { text: 'Latency percentiles (ms, log scale): the line spans p50 to p99.9', anchor: 'start', fontSize: 13 },
        data: { values: latency },
        facet: { column },
        spec: {
          width: 110,
          height: 200,
          layer: [
            {
              mark: { type: 'line', strokeWidth: 2, opacity: 0.6 },
              encoding: { x: xTarget, y: { field: 'latencyMs', type: 'quantitative', scale: { type: 'log' }, title: 'ms', axis: { values: decades, format: '~g' } }, detail: { field: 'target' }, color },
            },
            {
              mark: { type: 'point', filled: true, size: 45 },
              encoding: {
                x: xTarget,
                y: { field: 'latencyMs', type: 'quantitative', scale: { type: 'log' } },
                color,
                shape: { field: 'percentile', type: 'nominal', title: null, sort: percentiles.map((p) => p.label), legend: { orient: 'top' } },
                tooltip: [{ field: 'target' }, { field: 'percentile' }, { field: 'latencyMs' }],
              },
            },
          ],
        },
      },
    ],
  } as TopLevelSpec
}

/** The chart as an SVG document. */
export async function renderChartSvg(results: BenchResults): Promise<string> {
  const view = new View(parse(compile(chartSpec(results)).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
