// Prints line and branch coverage per lib/ folder from istanbul's
// coverage-summary.json (tap writes it with `coverage-report: json-summary`),
// and checks each folder against scripts/coverage-floors.json.
//
// Floors only go up: when a folder measures more than three points above its floor,
// the table says so, and the next commit raises the floor to what was measured.
// Which tests are measured is decided by scripts/coverage-map.mjs.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

/** Returns one message per folder below its floor; prints the table. */
export function coverageTable(summaryPath) {
  if (!existsSync(summaryPath)) return [`coverage: ${summaryPath} was not written (was coverage measured?)`]
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8'))
  const floors = JSON.parse(readFileSync(join(here, 'coverage-floors.json'), 'utf8')).lines
  const folders = new Map()
  const add = (name, entry) => {
    const f = folders.get(name) ?? { lines: 0, covered: 0, branches: 0, branchesCovered: 0, files: 0 }
    f.lines += entry.lines.total
    f.covered += entry.lines.covered
    f.branches += entry.branches.total
    f.branchesCovered += entry.branches.covered
    f.files++
    folders.set(name, f)
  }
  for (const [file, entry] of Object.entries(summary)) {
    if (file === 'total') continue
    const rel = relative(root, file).split(sep).join('/')
    if (!rel.startsWith('lib/')) continue
    const parts = rel.split('/')
    add(parts.length > 2 ? `${parts[0]}/${parts[1]}` : 'lib (top)', entry)
    add('lib', entry)
  }
  // A lib file no measured test loads is missing from istanbul's summary; it
  // counts here as wholly uncovered, its lines estimated as the non-blank lines
  // that are not comments, imports or type-only declarations.
  const measured = new Set(Object.keys(summary).map((f) => relative(root, f).split(sep).join('/')))
  const unloaded = []
  for (const rel of libFiles('lib')) {
    if (measured.has(rel)) continue
    const total = estimatedCodeLines(readFileSync(join(root, rel), 'utf8'))
    unloaded.push(rel)
    const parts = rel.split('/')
    const entry = { lines: { total, covered: 0 }, branches: { total: 0, covered: 0 } }
    add(parts.length > 2 ? `${parts[0]}/${parts[1]}` : 'lib (top)', entry)
    add('lib', entry)
  }
  const pct = (a, b) => (b === 0 ? 100 : (100 * a) / b)
  const names = [...folders.keys()].filter((n) => n !== 'lib').sort()
  names.push('lib')
  const problems = []
  console.log('coverage (unit and simulator tests; see scripts/coverage-map.mjs)')
  console.log(`${'folder'.padEnd(16)} ${'files'.padStart(5)} ${'lines %'.padStart(8)} ${'branches %'.padStart(10)} ${'floor %'.padStart(8)}`)
  for (const name of names) {
    const f = folders.get(name)
    const lines = pct(f.covered, f.lines)
    const floor = floors[name]
    let note = ''
    if (floor !== undefined && lines < floor) {
      note = '  BELOW FLOOR'
      problems.push(`coverage: ${name} covers ${lines.toFixed(1)} % of lines, below its floor of ${floor} %`)
    } else if (floor !== undefined && lines > floor + 3) note = `  (raise the floor to ${Math.floor(lines)})`
    console.log(
      `${name.padEnd(16)} ${String(f.files).padStart(5)} ${lines.toFixed(1).padStart(8)} ${(f.branches === 0 ? '-' : pct(f.branchesCovered, f.branches).toFixed(1)).padStart(10)} ${(floor === undefined ? '-' : String(floor)).padStart(8)}${note}`,
    )
  }
  if (unloaded.length > 0) console.log(`not loaded by any measured test (counted as uncovered): ${unloaded.join(', ')}`)
  for (const name of Object.keys(floors)) {
    if (!folders.has(name)) problems.push(`coverage: no measured files in ${name}, which has a floor`)
  }
  return problems
}

function libFiles(dir) {
  const out = []
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`
    if (e.isDirectory()) out.push(...libFiles(rel))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel)
  }
  return out
}

function estimatedCodeLines(source) {
  let inComment = false
  let count = 0
  for (const raw of source.split('\n')) {
    const line = raw.trim()
    if (inComment) {
      if (line.includes('*/')) inComment = false
      continue
    }
    if (line.startsWith('/*')) {
      inComment = !line.includes('*/')
      continue
    }
    if (/^export (\*|\{)/.test(line) || /^\} from /.test(line)) continue
    if (line === '' || line.startsWith('//') || /^(import|export type|export interface|interface|type) /.test(line)) continue
    if (line === '}' || line === '{' || line === ')' || line === '})') continue
    count++
  }
  return count
}
