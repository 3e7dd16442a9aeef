// Draws bench/results/latest.svg from bench/results/latest.json (what
// `make bench` does after a run); alone:
//   node dist/bench/chart.js [results.json] [out.svg]
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderChartSvg, type BenchResults } from './lib/bench-chart.js'

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results')

/** Reads a results JSON and writes its chart next to it (or to `outPath`); returns the path written. */
export async function writeBenchChart(jsonPath = join(resultsDir, 'latest.json'), outPath = jsonPath.replace(/(\.json)?$/, '.svg')): Promise<string> {
  const results = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResults
  if (!Array.isArray(results.medians) || results.medians.length === 0) throw new Error(`${jsonPath} has no "medians": is it a bench/suite.js result?`)
  writeFileSync(outPath, await renderChartSvg(results))
  return outPath
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeBenchChart(process.argv[2], process.argv[3]).then(
    (path) => console.log(`wrote ${path}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err))
      process.exit(1)
    },
  )
}
