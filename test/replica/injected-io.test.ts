// The runtime reaches time, timers, randomness, the disk and the network
// only through the RuntimeIo it is given (DESIGN.md §2), so the simulator
// runs it as it ships. This reads lib/replica's sources and fails on any
// direct use.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { repoRoot } from '../util/repo-root.js'

const replicaDir = join(repoRoot, 'lib', 'replica')
const forbidden: readonly [RegExp, string][] = [
  [/\bDate\.now\(/, 'Date.now'],
  [/\bperformance\.now\(/, 'performance.now'],
  [/\bMath\.random\(/, 'Math.random'],
  [/\bset(Timeout|Interval|Immediate)\(/, 'a timer of its own'],
  [/from 'node:(crypto|fs|fs\/promises|net|tls|dgram)'/, 'a node I/O or randomness module'],
  [/^import (?!type )[^\n]*'\.\.\/transport\/peer-transport\.js'/, 'the TCP transport instead of PeerNetwork'],
]

t.test('lib/replica uses no clock, timer, randomness, disk or socket of its own', async (t) => {
  const files = readdirSync(replicaDir).filter((f) => f.endsWith('.ts'))
  t.ok(files.length > 5, `read ${files.length} files`)
  for (const file of files) {
    const lines = readFileSync(join(replicaDir, file), 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return
      for (const [pattern, what] of forbidden) {
        if (pattern.test(line)) t.fail(`${file}:${i + 1} uses ${what}: ${line.trim()}`)
      }
    })
  }
})
