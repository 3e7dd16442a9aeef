// make fuzz-redis N=… [SEED=…] [LENGTH=…]: the differential run at scale.
import { parseArgs } from 'node:util'
import { runDifferential } from './diff-run.js'

const { values } = parseArgs({ options: { sequences: { type: 'string', default: '200' }, seed: { type: 'string' }, length: { type: 'string', default: '200' } } })
const seed = values.seed === undefined ? Math.floor(Math.random() * 1e9) : Number(values.seed)
const started = Date.now()
const report = await runDifferential({ sequences: Number(values.sequences), length: Number(values.length), seed, failuresMax: 20, log: (l) => console.log(l) })
console.log(`${report.sequences} sequences from seed ${seed}, ${report.commands} commands, ${report.failures.length} mismatching, in ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(report.failures.length === 0 ? 0 : 1)
