// The metrics counted per request or per persist (request counts by command
// and outcome; write, read and fsync latency; entries per batch), counted in
// plain numbers and typed arrays and handed to prom-client only when
// /metrics or the status page reads them. prom-client stays the registry
// and the text format; what it cost per request was an object, a closure
// and a label hash for each observe() and inc(), a measurable share of a
// GET's CPU on the leader (bench/README.md, section 23).
import type { Registry } from 'prom-client'
import { Counter } from 'prom-client'

/** What a histogram's get() answers: prom-client's shape, so the registry formats it and readingFrom() reads it. */
export interface HistogramValues {
  readonly name: string
  readonly help: string
  readonly type: 'histogram'
  readonly values: { readonly labels: Record<string, string | number>; readonly value: number; readonly metricName: string }[]
  readonly aggregator: 'sum'
}

/**
 * A Prometheus histogram without labels whose observe() allocates nothing:
 * counts per bucket in a Float64Array, found by a scan of the (few) bounds.
 * Registered with prom-client's registry as a metric of its own.
 */
export class PlainHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly upperBounds: Float64Array
  /** counts[i]: observations in (upperBounds[i-1], upperBounds[i]]; the last is +Inf. */
  private readonly counts: Float64Array
  private sum = 0
  private count = 0

  constructor(readonly name: string, readonly help: string, buckets: readonly number[], registry: Registry) {
    for (let i = 1; i < buckets.length; i++) {
      if (!((buckets[i] as number) > (buckets[i - 1] as number))) throw new Error(`histogram ${name}: buckets must ascend`)
    }
    this.upperBounds = Float64Array.from(buckets)
    this.counts = new Float64Array(buckets.length + 1)
    // The registry reads name, help, type, aggregator and get(): the interface of prom-client's own metrics.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  observe(value: number): void {
    const bounds = this.upperBounds
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += value
    this.count++
  }

  /** async, as prom-client's get() is: the registry awaits it. */
  async get(): Promise<HistogramValues> {
    const values: HistogramValues['values'] = []
    let cumulative = 0
    for (let i = 0; i <= this.upperBounds.length; i++) {
      cumulative += this.counts[i] as number
      values.push({ labels: { le: i < this.upperBounds.length ? (this.upperBounds[i] as number) : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` })
    }
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` })
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` })
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }
}

/**
 * Client requests by command and outcome. Counted into a Map per outcome
 * (commands and outcomes come from fixed sets: operation names, error
 * codes) and moved into prom-client's counter when it is collected.
 */
export class RequestCounter {
  /** Requests since the last collection, by outcome, then by command. */
  private readonly pending = new Map<string, Map<string, number>>()

  constructor(registry: Registry) {
    const pending = this.pending
    new Counter({
      name: 'raftkv_requests_total',
      help: 'Client requests by command (state machine operation) and outcome',
      labelNames: ['command', 'outcome'],
      registers: [registry],
      collect() {
        for (const [outcome, byCommand] of pending) {
          for (const [command, n] of byCommand) if (n > 0) this.inc({ command, outcome }, n)
          byCommand.clear()
        }
      },
    })
  }

  count(command: string, outcome: string): void {
    let byCommand = this.pending.get(outcome)
    if (byCommand === undefined) {
      byCommand = new Map()
      this.pending.set(outcome, byCommand)
    }
    byCommand.set(command, (byCommand.get(command) ?? 0) + 1)
  }
}
