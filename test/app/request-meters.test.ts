// The per-request meters must read out exactly as prom-client's own
// histogram and counter would for the same observations: /metrics scrapers
// and the status page depend on the format, not on who counted.
import t from 'tap'
import { Counter, Histogram, Registry } from 'prom-client'
import { PlainHistogram, RequestCounter } from '../../lib/app/request-meters.js'
import { readingFrom } from '../../lib/app/histogram-window.js'

const buckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
// On a bound, past the last bound, zero, and in between.
const observations = [0, 0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.02, 0.4, 4.9, 5, 7, 120]

t.test('a latency histogram formats the same text as prom-client\'s Histogram for the same observations', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  for (const r of [ours, theirs]) r.setDefaultLabels({ node: 'n1' })
  const h = new PlainHistogram('x_seconds', 'help text', buckets, ours)
  const reference = new Histogram({ name: 'x_seconds', help: 'help text', buckets, registers: [theirs] })
  for (const v of observations) {
    h.observe(v)
    reference.observe(v)
  }
  t.equal(await ours.metrics(), await theirs.metrics())
})

t.test('a latency histogram with no observations reads out zeros, as prom-client\'s does', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  new PlainHistogram('x_seconds', 'h', buckets, ours)
  new Histogram({ name: 'x_seconds', help: 'h', buckets, registers: [theirs] })
  t.equal(await ours.metrics(), await theirs.metrics())
})

t.test('the status page reads a latency histogram like a prom-client one', async (t) => {
  const h = new PlainHistogram('x_seconds', 'h', buckets, new Registry())
  const reference = new Histogram({ name: 'x_seconds', help: 'h', buckets, registers: [] })
  for (const v of observations) {
    h.observe(v)
    reference.observe(v)
  }
  t.same(readingFrom((await h.get()).values), readingFrom((await reference.get()).values))
})

t.test('a histogram refuses buckets that do not ascend', async (t) => {
  t.throws(() => new PlainHistogram('x', 'h', [0.1, 0.1], new Registry()), /ascend/)
})

t.test('request counts read out as prom-client counters by command and outcome, and keep adding up across scrapes', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  const counter = new RequestCounter(ours)
  const reference = new Counter({ name: 'raftkv_requests_total', help: 'Client requests by command (state machine operation) and outcome', labelNames: ['command', 'outcome'], registers: [theirs] })
  const requests: [string, string][] = [['set', 'ok'], ['get', 'ok'], ['set', 'ok'], ['incr', 'err'], ['multi', 'execabort'], ['incr', 'err']]
  for (const [command, outcome] of requests) {
    counter.count(command, outcome)
    reference.inc({ command, outcome })
  }
  t.equal(await ours.metrics(), await theirs.metrics(), 'first scrape')
  counter.count('set', 'ok')
  reference.inc({ command: 'set', outcome: 'ok' })
  t.equal(await ours.metrics(), await theirs.metrics(), 'the second scrape adds to the first')
  t.match(await ours.metrics(), /^raftkv_requests_total\{command="set",outcome="ok"\} 3$/m)
})
