// Turns tap's TAP output into the one line CI reads: "N passed, N failed".
// Exits non-zero when anything failed or when no summary was found.
import { readFileSync } from 'node:fs'

const text = readFileSync(process.argv[2] ?? '.tap-output.txt', 'utf8')
let passed = 0
let failed = 0
let files = 0
// Top-level results: one line per test file.
for (const line of text.split('\n')) {
  const m = /^(not ok|ok) \d+ - /.exec(line)
  if (!m) continue
  files++
  if (m[1] === 'ok') passed++
  else failed++
}
// Assertion counts from the nested plans, for the record.
const failures = text.split('\n').filter((l) => /^\s*not ok /.test(l))
if (failures.length > 0) {
  console.log('failures:')
  for (const f of failures.slice(0, 50)) console.log('  ' + f.trim())
}
if (files === 0) {
  console.log('no test results found')
  console.log('0 passed, 1 failed')
  process.exit(1)
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
