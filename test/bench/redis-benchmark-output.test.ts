// bench/lib/tools.ts reads redis-benchmark's report into a RunResult; the
// suite sizes each run from the one before, so a report it cannot read
// stops `make bench`.
import t from 'tap'
import { parseRedisBenchmark } from '../../bench/lib/tools.js'

function report(rps: string, seconds: string): string {
  return [
    '====== SET ======',
    `  20 requests completed in ${seconds} seconds`,
    '  1 parallel clients',
    'Latency by percentile distribution:',
    '0.000% <= 0.015 milliseconds (cumulative count 16)',
    '99.900% <= 0.319 milliseconds (cumulative count 20)',
    '100.000% <= 0.319 milliseconds (cumulative count 20)',
    'Summary:',
    `  throughput summary: ${rps} requests per second`,
    '  latency summary (msec):',
    '          avg       min       p50       p95       p99       max',
    '        0.032     0.008     0.015     0.095     0.319     0.319',
    '',
  ].join('\n')
}

t.test('a report is read into the rate, the latencies and the count', async (t) => {
  const r = parseRedisBenchmark(report('20000.00', '0.00'), { target: 'x', workload: 'set-c1', requests: 20 })
  t.equal(r.opsPerSec, 20000)
  t.equal(r.p50Ms, 0.015)
  t.equal(r.p99Ms, 0.319)
  t.equal(r.p999Ms, 0.319)
  t.equal(r.requests, 20)
  t.equal(r.errors, 0)
})

t.test('a run shorter than a millisecond ("inf" requests per second) counts as lasting one', async (t) => {
  const r = parseRedisBenchmark(report('inf', '0.00'), { target: 'x', workload: 'set-c1', requests: 20 })
  t.equal(r.opsPerSec, 20000)
})

t.test('a report without its summary is an error that shows the output', async (t) => {
  t.throws(() => parseRedisBenchmark('Could not connect to Redis at 127.0.0.1:1: Connection refused', { target: 'x', workload: 'w', requests: 1 }), /cannot parse redis-benchmark output/)
})
