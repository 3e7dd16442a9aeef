// Turns tap's TAP output into the one line CI reads: "N passed, N failed, N skipped".
//
//   node scripts/tap-summary.mjs OUTPUT [--tap-exit CODE] [--coverage SUMMARY_JSON]
//
// One count per test file, plus run-level checks that count as failed:
// - a file that is `not ok` fails; a file with no assertions ("no tests found",
//   or a plan of 0 with nothing run) fails too: a test that asserts nothing
//   cannot fail, so it must not count as passing;
// - a file skipped as a whole, or whose every subtest was skipped, counts as skipped;
// - the run itself fails when tap's exit code is not 0 (or is missing: tap was
//   killed), when the top-level plan is missing or not complete (an interrupted
//   run), or when tap bailed out;
// - with --coverage, each folder below its coverage floor is one failure
//   (scripts/coverage-table.mjs prints the table).
// Exits non-zero when anything failed. The count line is always the last line.
import { readFileSync } from 'node:fs'
import { coverageTable } from './coverage-table.mjs'

const args = process.argv.slice(2)
function option(name) {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const value = args[i + 1]
  args.splice(i, 2)
  return value
}
const tapExit = option('--tap-exit')
const coverageSummary = option('--coverage')
const outputPath = args[0] ?? '.tap-output.txt'

let text = ''
try {
  text = readFileSync(outputPath, 'utf8')
} catch (err) {
  text = ''
  console.log(`cannot read ${outputPath}: ${err.message}`)
}
const lines = text.split('\n')

/** Classifies each top-level result by what its file's block holds. */
function summarize(lines) {
  const files = []
  const runProblems = []
  let plan
  let childResults = 0
  let childSkips = 0
  for (const line of lines) {
    const planMatch = /^1\.\.(\d+)/.exec(line)
    if (planMatch) plan = Number(planMatch[1])
    if (/^(\s*)Bail out!/.test(line) || /^# Bail out!/.test(line)) runProblems.push(`tap bailed out: ${line.trim()}`)
    // Direct children of a file's block are indented by exactly four spaces.
    const child = /^ {4}(not ok|ok) \d+/.exec(line)
    if (child) {
      childResults++
      if (/ # SKIP\b/i.test(line)) childSkips++
      continue
    }
    const top = /^(not ok|ok) (\d+) - (.*)$/.exec(line)
    if (!top) continue
    const [, status, number, rest] = top
    const name = rest.replace(/ # (time=.*|SKIP.*|TODO.*)$/i, '').trim()
    const skipReason = /# SKIP\s*(.*?)(\s+# time=.*)?$/i.exec(rest)?.[1]
    let verdict
    let why
    if (status === 'not ok') verdict = 'failed'
    else if (skipReason !== undefined && /^no tests found/i.test(skipReason)) {
      verdict = 'failed'
      why = 'no assertions (no tests found)'
    } else if (skipReason !== undefined) {
      verdict = 'skipped'
      why = skipReason
    } else if (childResults === 0) {
      verdict = 'failed'
      why = 'no assertions'
    } else if (childSkips === childResults) {
      verdict = 'skipped'
      why = 'every subtest skipped'
    } else verdict = 'passed'
    files.push({ number: Number(number), name, verdict, why })
    childResults = 0
    childSkips = 0
  }
  if (plan === undefined) runProblems.push('no top-level plan: the run was interrupted')
  else if (files.length !== plan) runProblems.push(`incomplete run: the plan is 1..${plan} but ${files.length} file results were printed`)
  return { files, runProblems, plan }
}

const { files, runProblems } = summarize(lines)
if (tapExit === '' || tapExit === 'missing') {
  runProblems.push('tap left no exit code: it was killed')
} else if (tapExit !== undefined && tapExit !== '0') {
  runProblems.push(`tap exited with code ${tapExit}`)
}
if (coverageSummary !== undefined) {
  for (const problem of coverageTable(coverageSummary)) runProblems.push(problem)
}

const failures = lines.filter((l) => /^\s*not ok /.test(l))
if (failures.length > 0) {
  console.log('failures:')
  for (const f of failures.slice(0, 50)) console.log('  ' + f.trim())
}
for (const f of files.filter((f) => f.verdict !== 'passed')) {
  console.log(`${f.verdict}: ${f.name}${f.why ? ` (${f.why})` : ''}`)
}
for (const p of runProblems) console.log(`failed: ${p}`)

const passed = files.filter((f) => f.verdict === 'passed').length
const skipped = files.filter((f) => f.verdict === 'skipped').length
const failed = files.filter((f) => f.verdict === 'failed').length + runProblems.length
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed > 0 ? 1 : 0)
