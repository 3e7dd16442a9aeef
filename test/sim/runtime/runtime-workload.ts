// The clients of the runtime simulator. Each client issues one operation at
// a time through ReplicaBackend on a node picked at random: SET, GET, INCR,
// DEL, MULTI/EXEC (a SET and an INCR in one entry), GETs with `stale`, and
// in some seeds WATCH + MULTI/EXEC (a SET applied only if the key's version
// is unchanged) and SCAN.
// Every answer is recorded as test/jepsen records it:
//   ok      — the reply was seen;
//   failed  — CLUSTERDOWN (nothing was proposed), or a read that failed;
//   unknown — TIMEOUT, or the node died with the request pending: it may
//             take effect at any time after its invocation, or never.
// At the end the history must be linearizable per key (test/jepsen's
// checker), so an acknowledged write lost in a crash, a read missing an
// acknowledged write, or a write applied twice all fail the seed.
import type { KvApplyResult, KvOp, KvOpResult, KvWrite } from '../../../lib/kv/command.js'
import { ClusterDownError, UnknownOutcomeError } from '../../../lib/replica/client-api.js'
import type { Prng } from '../../../lib/util/prng.js'
import type { Op, OpKind, Outcome } from '../../jepsen/history.js'
import { formatOp } from '../../jepsen/history.js'
import { checkHistory } from '../../jepsen/linearizability.js'
import { SimViolation } from '../sim-checkers.js'
import { runClientLoop } from './client-loop.js'
import { ttlKeys } from './ttl-workload.js'
import type { RuntimeCluster, SimHost } from './runtime-cluster.js'

export interface WorkloadStats {
  invoked: number
  ok: number
  failed: number
  unknown: number
  writesAcked: number
  readsOk: number
  staleReads: number
  multiExecs: number
  forwardedOps: number
  /** WATCH + MULTI/EXEC: applied, or aborted because the watched key changed. */
  watchedApplied: number
  watchAborted: number
  scans: number
}

export function emptyWorkloadStats(): WorkloadStats {
  return { invoked: 0, ok: 0, failed: 0, unknown: 0, writesAcked: 0, readsOk: 0, staleReads: 0, multiExecs: 0, forwardedOps: 0, watchedApplied: 0, watchAborted: 0, scans: 0 }
}

const registers = ['r0', 'r1', 'r2'] as const
const counters = ['c0', 'c1'] as const
/** Every key a client writes, the TTL clients' (ttl-workload.ts) included. */
const allKeys = [...registers, ...counters, ...ttlKeys] as const
/** Search steps per key before the linearizability check gives up (inconclusive, not failed). */
const searchStepsMax = 2_000_000
/** How long a failed final read waits before it is tried again (simulated ms). */
const finalReadRetryMs = 50

type Outcomes = { t: 'ok'; results: readonly KvOpResult[] } | { t: 'failed'; error: string } | { t: 'unknown'; error: string }

export class ClientWorkload {
  readonly ops: Op[] = []
  private valueSeq = 0
  /** Every value any SET carried, for judging stale reads. */
  private readonly written = new Set<string>()
  private readonly incrsInvoked = new Map<string, number>()
  private readonly staleChecks: { key: string; value: string | null; node: string }[] = []

  constructor(
    private readonly cluster: RuntimeCluster,
    private readonly prng: Prng,
    /** WATCH and SCAN choices: a stream of their own (drawAddedWeather), so seeds without them run as before. */
    private readonly addedPrng: Prng,
    private readonly stats: WorkloadStats,
  ) {}

  start(clients: number): void {
    for (let c = 0; c < clients; c++) void runClientLoop(this.cluster, this.prng, (host) => this.issue(c, host))
  }

  private async issue(client: number, host: SimHost): Promise<void> {
    if (this.addedPrng.chance(this.cluster.weather.watchScanShare)) {
      return this.addedPrng.chance(0.7) ? this.watchedWrite(client, host, this.addedPrng.pick(registers)) : this.scan(host)
    }
    const roll = this.prng.next()
    if (roll < 0.3) return this.read(client, host, this.pickKey(), this.prng.chance(this.cluster.weather.staleReadProbability))
    if (roll < 0.55) return this.write(client, host, [this.setOp(this.prng.pick(registers))])
    if (roll < 0.75) return this.write(client, host, [this.incrOp(this.prng.pick(counters))])
    if (roll < 0.85) return this.write(client, host, [{ kind: 'del', key: this.pickKey(), value: null }])
    this.stats.multiExecs++
    return this.write(client, host, [this.setOp(this.prng.pick(registers)), this.incrOp(this.prng.pick(counters))])
  }

  private pickKey(): string {
    return this.prng.chance(0.6) ? this.prng.pick(registers) : this.prng.pick(counters)
  }

  private setOp(key: string): PlannedOp {
    const value = `v${++this.valueSeq}`
    this.written.add(value)
    return { kind: 'set', key, value }
  }

  private incrOp(key: string): PlannedOp {
    this.incrsInvoked.set(key, (this.incrsInvoked.get(key) ?? 0) + 1)
    return { kind: 'incr', key, value: null }
  }

  // ---- Writes -------------------------------------------------------------------------------

  private async write(client: number, host: SimHost, planned: PlannedOp[]): Promise<void> {
    const backend = host.backend
    if (backend === null) return
    if (host.replica?.leaderId() !== host.id) this.stats.forwardedOps++
    const write: KvWrite = { ops: planned.map(toKvOp), watches: [] }
    const ops = planned.map((p) => this.invoke(client, host.id, p))
    this.cluster.note(`client ${client} → ${host.id}: ${planned.map(describePlanned).join(' + ')}`)
    const outcome = await this.settle(host, backend.write(write).then(resultsOf))
    this.complete(client, host.id, ops, outcome)
    if (outcome.t === 'ok') this.stats.writesAcked++
  }

  /**
   * WATCH key, then MULTI/SET/EXEC: the SET applies only if no write touched
   * the key in between. Applied, it enters the history as a SET; aborted, it
   * did nothing (failed); unanswered, it is unknown.
   */
  private async watchedWrite(client: number, host: SimHost, key: string): Promise<void> {
    const backend = host.backend
    if (backend === null) return
    const versions = await this.answer(host, backend.watchVersions([Buffer.from(key)], 'linearizable'))
    const version = versions?.[0]
    if (version === undefined || host.backend !== backend) return
    const planned = this.setOp(key)
    const op = this.invoke(client, host.id, planned)
    this.cluster.note(`client ${client} → ${host.id}: WATCH ${key} (version ${version}) MULTI ${describePlanned(planned)} EXEC`)
    const outcome = await this.settle(
      host,
      backend.write({ ops: [toKvOp(planned)], watches: [{ key: Buffer.from(key), version }] }).then((r): Outcomes => (r.t === 'watchAborted' ? { t: 'failed', error: 'EXEC aborted: the watched key changed' } : resultsOf(r))),
    )
    this.complete(client, host.id, [op], outcome)
    if (outcome.t === 'ok') this.stats.watchedApplied++
    else if (outcome.t === 'failed' && outcome.error.startsWith('EXEC aborted')) this.stats.watchAborted++
  }

  /** SCAN 0 COUNT 100: a page of keys, each one the workload could have written. */
  private async scan(host: SimHost): Promise<void> {
    const backend = host.backend
    if (backend === null) return
    const page = await this.answer(host, backend.scan('0', null, 100, 'linearizable'))
    if (page === null) return
    if (page.t === 'error') throw new SimViolation('client contract', `SCAN on ${host.id} answered ${page.code} ${page.message}`)
    this.stats.scans++
    const stray = page.keys.map((k) => k.toString('latin1')).filter((k) => !(allKeys as readonly string[]).includes(k))
    if (stray.length > 0) throw new SimViolation('scan', `SCAN on ${host.id} returned keys no client wrote: ${stray.join(', ')}`)
  }

  // ---- Reads --------------------------------------------------------------------------------

  private async read(client: number, host: SimHost, key: string, stale: boolean): Promise<void> {
    const backend = host.backend
    if (backend === null) return
    const get: KvOp = { t: 'get', key: Buffer.from(key) }
    if (stale) {
      const outcome = await this.settle(host, backend.read([get], 'stale').then((results) => ({ t: 'ok', results }) as Outcomes))
      if (outcome.t !== 'ok') return
      this.stats.staleReads++
      this.staleChecks.push({ key, value: readValue(outcome.results[0]), node: host.id })
      return
    }
    const op = this.invoke(client, host.id, { kind: 'get', key, value: null })
    const outcome = await this.settle(host, backend.read([get], 'linearizable').then((results) => ({ t: 'ok', results }) as Outcomes))
    // A read that did not answer did nothing: it is failed, never unknown.
    this.complete(client, host.id, [op], outcome.t === 'unknown' ? { t: 'failed', error: outcome.error } : outcome)
    if (outcome.t === 'ok') this.stats.readsOk++
  }

  /**
   * The final reads, after the calm, on the leader: every key's last value
   * enters the history. A read that fails (CLUSTERDOWN: a disk stall drawn
   * before the calm can still make the leader hand over, runtime seed 1764)
   * did nothing and is retried, on whichever node leads by then, every
   * finalReadRetryMs; the caller bounds the whole by calmMsMax.
   */
  async finalReads(leaderNow: () => SimHost | null): Promise<void> {
    for (const key of [...registers, ...counters]) {
      for (;;) {
        const leader = leaderNow()
        if (leader !== null) {
          const before = this.ops.length
          await this.read(-1, leader, key, false)
          const op = this.ops[before]
          if (op?.outcome === 'ok') break
        }
        await new Promise<void>((resolve) => this.cluster.scheduler.at(finalReadRetryMs, null, resolve))
      }
    }
  }

  // ---- Recording ----------------------------------------------------------------------------

  private invoke(client: number, node: string, p: PlannedOp): Op {
    this.stats.invoked++
    const op: Op = {
      index: this.ops.length, process: client, node, kind: p.kind, key: p.key, value: p.value,
      result: null, outcome: 'unknown', invokeMs: this.cluster.scheduler.elapsedMs, completeMs: Number.POSITIVE_INFINITY, error: null,
    }
    this.ops.push(op)
    return op
  }

  private complete(client: number, node: string, ops: Op[], outcome: Outcomes): void {
    const nowMs = this.cluster.scheduler.elapsedMs
    ops.forEach((op, i) => {
      let result: string | number | null = null
      const state: Outcome = outcome.t
      if (outcome.t === 'ok') {
        const r = outcome.results[i]
        if (r?.t === 'error') throw new SimViolation('client contract', `${op.kind} ${op.key} on ${node} answered ${r.code} ${r.message}`)
        result = op.kind === 'get' ? readValue(r) : op.kind === 'incr' || op.kind === 'del' ? intValue(r) : null
      } else {
        op.error = outcome.error
      }
      op.result = result
      op.outcome = state
      if (state === 'ok') op.completeMs = nowMs
      this.stats[state]++
    })
    this.cluster.note(`client ${client} ← ${node}: ${ops.map((op) => `${op.kind} ${op.key} ${op.outcome}${op.outcome === 'ok' ? ` ${JSON.stringify(op.result)}` : ` (${op.error ?? ''})`}`).join(' + ')}`)
  }

  /** A read's answer; null when it failed, timed out or the node died first (a read that did nothing). */
  private answer<T>(host: SimHost, request: Promise<T>): Promise<T | null> {
    return new Promise<T | null>((resolve) => {
      const abort = (): void => resolve(null)
      host.aborts.add(abort)
      request.then(
        (v) => {
          host.aborts.delete(abort)
          resolve(v)
        },
        (err: unknown) => {
          host.aborts.delete(abort)
          if (err instanceof SimViolation) this.cluster.fail(err)
          resolve(null)
        },
      )
    })
  }

  /** The request's outcome, or unknown when the node dies first (the connection broke). */
  private settle(host: SimHost, request: Promise<Outcomes>): Promise<Outcomes> {
    return new Promise<Outcomes>((resolve) => {
      const abort = (): void => resolve({ t: 'unknown', error: 'connection lost: the node died' })
      host.aborts.add(abort)
      request.then(
        (o) => {
          host.aborts.delete(abort)
          resolve(o)
        },
        (err: unknown) => {
          host.aborts.delete(abort)
          if (err instanceof SimViolation) this.cluster.fail(err)
          if (err instanceof ClusterDownError) resolve({ t: 'failed', error: `CLUSTERDOWN ${err.message}` })
          else if (err instanceof UnknownOutcomeError) resolve({ t: 'unknown', error: `TIMEOUT ${err.message}` })
          else resolve({ t: 'unknown', error: `error ${err instanceof Error ? err.message : String(err)}` })
        },
      )
    })
  }

  // ---- Checks -------------------------------------------------------------------------------

  /** The history is linearizable per key; stale reads return values someone wrote. */
  check(): void {
    for (const s of this.staleChecks) {
      const plausible = s.value === null || this.written.has(s.value) || (/^\d+$/.test(s.value) && Number(s.value) <= (this.incrsInvoked.get(s.key) ?? 0))
      if (!plausible) throw new SimViolation('stale read', `${s.node} answered ${s.key}=${s.value}, a value no client wrote`)
    }
    const verdict = checkHistory(this.ops, searchStepsMax)
    for (const k of verdict.keys) if (k.verdict === 'budget') this.cluster.stats.searchesInconclusive++
    const failed = verdict.keys.filter((k) => k.verdict === 'fail')
    if (failed.length === 0) return
    const keys = new Set(failed.map((k) => k.key))
    const shown = this.ops.filter((op) => keys.has(op.key)).slice(-40).map((op) => `    ${formatOp(op, 0)}`)
    throw new SimViolation('linearizability', `the history of ${[...keys].join(', ')} is not linearizable; its last ops:\n${shown.join('\n')}`)
  }
}

interface PlannedOp {
  readonly kind: OpKind
  readonly key: string
  readonly value: string | null
}

function toKvOp(p: PlannedOp): KvOp {
  const key = Buffer.from(p.key)
  switch (p.kind) {
    case 'set':
      return { t: 'set', key, value: Buffer.from(p.value ?? ''), condition: 'always', expiry: { t: 'none' }, get: false }
    case 'incr':
      return { t: 'incrby', key, delta: 1n }
    case 'del':
      return { t: 'del', keys: [key] }
    default:
      return { t: 'get', key }
  }
}

function describePlanned(p: PlannedOp): string {
  return `${p.kind} ${p.key}${p.value === null ? '' : ` ${p.value}`}`
}

function resultsOf(r: KvApplyResult): Outcomes {
  if (r.t === 'results') return { t: 'ok', results: r.results }
  throw new SimViolation('client contract', `a write answered ${JSON.stringify(r)}`)
}

function readValue(r: KvOpResult | undefined): string | null {
  if (r?.t === 'bulk') return r.value.toString('latin1')
  if (r?.t === 'nil') return null
  throw new SimViolation('client contract', `a GET answered ${JSON.stringify(r)}`)
}

function intValue(r: KvOpResult | undefined): number {
  if (r?.t === 'int') return Number(r.value)
  throw new SimViolation('client contract', `an INCR or DEL answered ${JSON.stringify(r)}`)
}
