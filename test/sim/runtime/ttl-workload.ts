// TTLs under clock skew (issue 18): clients SET keys with PX and read them
// back, linearizably, on nodes whose wall clocks are offset by seconds
// (RuntimeWeather.clockOffsetsMs). Expiry is not in test/jepsen's register
// model, so these keys get a check of their own: once a linearizable read
// found a key gone, no later read may find a value that was written before
// that read began. Every SET writes a value no other SET writes and these
// keys are never deleted, so such a value can only be back because one node
// decided expiry on a clock ahead of another's.
import type { KvOp, KvOpResult } from '../../../lib/kv/command.js'
import type { Prng } from '../../../lib/util/prng.js'
import { SimViolation } from '../sim-checkers.js'
import { runClientLoop } from './client-loop.js'
import type { RuntimeCluster, SimHost } from './runtime-cluster.js'

export interface TtlStats {
  sets: number
  reads: number
  readsGone: number
}

export function emptyTtlStats(): TtlStats {
  return { sets: 0, reads: 0, readsGone: 0 }
}

export const ttlKeys = ['t0', 't1'] as const
const ttlMsMin = 20
const ttlMsMax = 3000

interface TtlSet {
  readonly value: string
  readonly ackedMs: number
}
interface TtlRead {
  readonly node: string
  readonly invokeMs: number
  readonly completeMs: number
  readonly value: string | null
}

export class TtlWorkload {
  private valueSeq = 0
  private readonly sets = new Map<string, TtlSet[]>()
  private readonly reads = new Map<string, TtlRead[]>()

  constructor(
    private readonly cluster: RuntimeCluster,
    private readonly prng: Prng,
    private readonly stats: TtlStats,
  ) {}

  start(clients: number): void {
    for (let c = 0; c < clients; c++) void runClientLoop(this.cluster, this.prng, (host) => this.issue(host))
  }

  private issue(host: SimHost): Promise<void> {
    const key = this.prng.pick(ttlKeys)
    if (this.prng.chance(0.3)) return this.set(host, key, ttlMsMin + this.prng.int(ttlMsMax - ttlMsMin))
    return this.read(host, key)
  }

  private async set(host: SimHost, key: string, ttlMs: number): Promise<void> {
    const backend = host.backend
    if (backend === null) return
    const value = `x${++this.valueSeq}`
    this.cluster.note(`ttl client → ${host.id}: set ${key} ${value} px ${ttlMs}`)
    const op: KvOp = { t: 'set', key: Buffer.from(key), value: Buffer.from(value), condition: 'always', expiry: { t: 'relative', unit: 'milliseconds', amount: BigInt(ttlMs) }, get: false }
    const ok = await settle(host, backend.write({ ops: [op], watches: [] }).then((r) => r.t === 'results'))
    if (ok !== true) return
    this.stats.sets++
    const list = this.sets.get(key) ?? []
    list.push({ value, ackedMs: this.cluster.scheduler.elapsedMs })
    this.sets.set(key, list)
  }

  private async read(host: SimHost, key: string): Promise<void> {
    const backend = host.backend
    if (backend === null) return
    const invokeMs = this.cluster.scheduler.elapsedMs
    const results = await settle(host, backend.read([{ t: 'get', key: Buffer.from(key) }], 'linearizable'))
    if (results === null) return
    const value = valueOf(results[0])
    this.stats.reads++
    if (value === null) this.stats.readsGone++
    this.cluster.note(`ttl client ← ${host.id}: get ${key} ${JSON.stringify(value)}`)
    const list = this.reads.get(key) ?? []
    list.push({ node: host.id, invokeMs, completeMs: this.cluster.scheduler.elapsedMs, value })
    this.reads.set(key, list)
  }

  /** No read finds a value again after an earlier read, begun after that value's SET was acknowledged, found the key gone. */
  check(): void {
    for (const key of ttlKeys) {
      const ackedMs = new Map((this.sets.get(key) ?? []).map((s) => [s.value, s.ackedMs]))
      const reads = this.reads.get(key) ?? []
      for (const gone of reads) {
        if (gone.value !== null) continue
        for (const later of reads) {
          if (later.value === null || later.invokeMs <= gone.completeMs) continue
          const setMs = ackedMs.get(later.value)
          if (setMs === undefined || setMs >= gone.invokeMs) continue
          throw new SimViolation(
            'ttl under clock skew',
            `${key}: ${later.value} (acknowledged at ${setMs}ms) read as gone on ${gone.node} at ${gone.invokeMs}-${gone.completeMs}ms, then present on ${later.node} at ${later.invokeMs}-${later.completeMs}ms`,
          )
        }
      }
    }
  }
}

/** The request's result; null when it failed, timed out or the node died first (nothing is concluded from those). */
function settle<T>(host: SimHost, request: Promise<T>): Promise<T | null> {
  return new Promise<T | null>((resolve) => {
    const abort = (): void => resolve(null)
    host.aborts.add(abort)
    request.then(
      (r) => {
        host.aborts.delete(abort)
        resolve(r)
      },
      () => {
        host.aborts.delete(abort)
        resolve(null)
      },
    )
  })
}

function valueOf(r: KvOpResult | undefined): string | null {
  if (r?.t === 'bulk') return r.value.toString('latin1')
  if (r?.t === 'nil') return null
  throw new SimViolation('client contract', `a GET answered ${JSON.stringify(r)}`)
}
