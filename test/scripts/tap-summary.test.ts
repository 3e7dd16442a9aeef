// scripts/tap-summary.mjs: the line CI reads must tell skipped, empty and
// interrupted runs apart from passing ones, and it must be the last line.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { repoRoot } from '../util/repo-root.js'

const script = join(repoRoot, 'scripts', 'tap-summary.mjs')

function summarize(dir: string, tap: string, args: string[] = []): Promise<{ lines: string[]; code: number }> {
  const file = join(dir, 'out.txt')
  writeFileSync(file, tap)
  return new Promise((resolve) => {
    execFile(process.execPath, [script, file, ...args], (error, stdout) => {
      resolve({ lines: stdout.trimEnd().split('\n'), code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1 })
    })
  })
}

const passing = (n: number, name: string) => `# Subtest: ${name}\n    ok 1 - works\n    1..1\nok ${n} - ${name} # time=1ms\n`
const allSkipped = (n: number, name: string) => `# Subtest: ${name}\n    ok 1 - needs redis-cli # SKIP redis-cli is not on PATH\n    1..1\nok ${n} - ${name} # time=1ms\n`
const empty = (n: number, name: string) => `# Subtest: ${name}\n    1..0 # no tests found\nok ${n} - ${name} # SKIP no tests found\n`

t.test('passing files are counted as passed, and the run exits 0', async (t) => {
  const r = await summarize(t.testdir(), `TAP version 14\n1..2\n${passing(1, 'a.test.ts')}${passing(2, 'b.test.ts')}`, ['--tap-exit', '0'])
  t.equal(r.lines.at(-1), '2 passed, 0 failed, 0 skipped')
  t.equal(r.code, 0)
})

t.test('a file whose every subtest was skipped counts as skipped, not passed', async (t) => {
  const r = await summarize(t.testdir(), `TAP version 14\n1..2\n${passing(1, 'a.test.ts')}${allSkipped(2, 'cli.test.ts')}`, ['--tap-exit', '0'])
  t.equal(r.lines.at(-1), '1 passed, 0 failed, 1 skipped')
  t.equal(r.code, 0)
})

t.test('a file skipped as a whole counts as skipped', async (t) => {
  const tap = `TAP version 14\n1..1\n# Subtest: x.test.ts\n    1..0 # not on this platform\nok 1 - x.test.ts # SKIP not on this platform\n`
  t.equal((await summarize(t.testdir(), tap, ['--tap-exit', '0'])).lines.at(-1), '0 passed, 0 failed, 1 skipped')
})

t.test('a file with no assertions fails', async (t) => {
  const r = await summarize(t.testdir(), `TAP version 14\n1..2\n${passing(1, 'a.test.ts')}${empty(2, 'empty.test.ts')}`, ['--tap-exit', '0'])
  t.equal(r.lines.at(-1), '1 passed, 1 failed, 0 skipped')
  t.ok(r.lines.some((l) => l.includes('empty.test.ts') && l.includes('no assertions')))
  t.equal(r.code, 1)
})

t.test('an interrupted run (plan not complete) fails even when every printed file passed', async (t) => {
  const r = await summarize(t.testdir(), `TAP version 14\n1..3\n${passing(1, 'a.test.ts')}${passing(2, 'b.test.ts')}`, ['--tap-exit', '0'])
  t.equal(r.lines.at(-1), '2 passed, 1 failed, 0 skipped')
  t.ok(r.lines.some((l) => l.includes('incomplete run')))
  t.equal(r.code, 1)
})

t.test('output with no plan at all fails', async (t) => {
  const r = await summarize(t.testdir(), `TAP version 14\n${passing(1, 'a.test.ts')}`)
  t.equal(r.lines.at(-1), '1 passed, 1 failed, 0 skipped')
  t.equal(r.code, 1)
})

t.test("tap's non-zero exit code fails the run, and a missing one (tap killed) too", async (t) => {
  const dir = t.testdir()
  const tap = `TAP version 14\n1..1\n${passing(1, 'a.test.ts')}`
  const nonZero = await summarize(dir, tap, ['--tap-exit', '1'])
  t.equal(nonZero.lines.at(-1), '1 passed, 1 failed, 0 skipped')
  t.ok(nonZero.lines.some((l) => l.includes('tap exited with code 1')))
  const killed = await summarize(dir, tap, ['--tap-exit', 'missing'])
  t.equal(killed.lines.at(-1), '1 passed, 1 failed, 0 skipped')
  t.equal(killed.code, 1)
})

t.test('a folder below its coverage floor fails the run; the table comes before the count line', async (t) => {
  const dir = t.testdir()
  const root = repoRoot
  const entry = (total: number, covered: number) => ({
    lines: { total, covered },
    branches: { total: 0, covered: 0 },
    statements: { total, covered },
    functions: { total: 0, covered: 0 },
  })
  const summary = { total: entry(200, 150), [join(root, 'lib/raft/raw-node.ts')]: entry(100, 50), [join(root, 'lib/kv/keyspace.ts')]: entry(100, 100) }
  writeFileSync(join(dir, 'coverage-summary.json'), JSON.stringify(summary))
  const r = await summarize(dir, `TAP version 14\n1..1\n${passing(1, 'a.test.ts')}`, ['--tap-exit', '0', '--coverage', join(dir, 'coverage-summary.json')])
  t.ok(r.lines.some((l) => /^lib\/raft\s+\d+\s+\d+\.\d/.test(l)), 'the per-folder table shows lib/raft')
  t.ok(r.lines.some((l) => /lib\/raft covers [\d.]+ % of lines, below its floor/.test(l)))
  t.match(r.lines.at(-1) ?? '', /^1 passed, [1-9]\d* failed, 0 skipped$/)
  t.equal(r.code, 1)
})
