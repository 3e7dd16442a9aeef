// Concurrent clients doing SET, GET, SET…GET, INCR and DEL on a small
// keyspace with unique values, each op recorded in the history. Register
// keys (r*) get SET / GET / SET…GET; counter keys (c*) get INCR / GET / DEL,
// so INCR never meets a non-integer. Each worker talks to one node; every
// choice comes from the worker's own seeded generator.
import { Prng } from '../../lib/util/prng.js'
import type { History, Op, OpKind } from './history.js'
import { NoAnswer, RespConnection, RespError, type RespValue } from './resp-client.js'

export interface WorkloadOptions {
  registerKeys: number
  counterKeys: number
  /** A client gives up on a reply after this long (longer than the server's REQUEST_TIMEOUT_MS). */
  opTimeoutMs: number
  /** Pause between a worker's ops, drawn from [0, thinkMsMax]: keeps 2 cores from saturating. */
  thinkMsMax: number
}

export const workloadDefaults: Readonly<WorkloadOptions> = Object.freeze({
  registerKeys: 4,
  counterKeys: 2,
  opTimeoutMs: 3000,
  thinkMsMax: 12,
})

export interface WorkerTarget {
  id: string
  respPort: number
}

export function workloadKeys(o: WorkloadOptions): string[] {
  const keys: string[] = []
  for (let i = 0; i < o.registerKeys; i++) keys.push(`r${i}`)
  for (let i = 0; i < o.counterKeys; i++) keys.push(`c${i}`)
  return keys
}

interface Planned {
  kind: OpKind
  key: string
  value: string | null
}

export class Workload {
  private stopping = false
  private readonly loops: Promise<void>[] = []
  private nextProcess = 0

  constructor(
    private readonly history: History,
    /** Which node worker w talks to now; asked again on every reconnect, as membership changes. */
    private readonly targetFor: (worker: number) => WorkerTarget,
    private readonly workers: number,
    private readonly seed: number,
    private readonly options: WorkloadOptions = workloadDefaults,
  ) {}

  start(): void {
    const seeds = new Prng(this.seed)
    for (let w = 0; w < this.workers; w++) this.loops.push(this.worker(w, new Prng(seeds.nextUint32())))
  }

  async stop(): Promise<void> {
    this.stopping = true
    await Promise.all(this.loops)
  }

  private plan(worker: number, seq: number, rng: Prng): Planned {
    const o = this.options
    const value = `${worker}.${seq}`
    if (rng.chance(o.registerKeys / (o.registerKeys + o.counterKeys))) {
      const key = `r${rng.int(o.registerKeys)}`
      const roll = rng.next()
      if (roll < 0.4) return { kind: 'get', key, value: null }
      return roll < 0.75 ? { kind: 'set', key, value } : { kind: 'getset', key, value }
    }
    const key = `c${rng.int(o.counterKeys)}`
    const roll = rng.next()
    if (roll < 0.4) return { kind: 'get', key, value: null }
    return roll < 0.92 ? { kind: 'incr', key, value: null } : { kind: 'del', key, value: null }
  }

  private async worker(worker: number, rng: Prng): Promise<void> {
    let process = this.nextProcess++
    let conn: RespConnection | null = null
    let target = this.targetFor(worker)
    for (let seq = 0; !this.stopping; seq++) {
      const p = this.plan(worker, seq, rng)
      if (conn === null) target = this.targetFor(worker)
      const op = this.history.invoke(process, target.id, p.kind, p.key, p.value)
      try {
        if (conn === null || conn.isClosed) conn = await RespConnection.open(target.respPort, this.options.opTimeoutMs)
        recordReply(this.history, op, await conn.call(commandFor(p), this.options.opTimeoutMs))
      } catch (e) {
        const sent = e instanceof NoAnswer ? e.sent : true
        const unknown = sent && op.kind !== 'get'
        this.history.complete(op, unknown ? 'unknown' : 'failed', null, (e as Error).message)
        conn?.close()
        conn = null
      }
      // An op left pending forever blocks its process, as in Jepsen: go on as a new one.
      if (op.outcome === 'unknown') process = this.nextProcess++
      const backoffMs = op.outcome === 'ok' ? 0 : 50
      await sleep(backoffMs + rng.int(this.options.thinkMsMax + 1))
    }
    conn?.close()
  }
}

function commandFor(p: Planned): string[] {
  switch (p.kind) {
    case 'get':
      return ['GET', p.key]
    case 'set':
      return ['SET', p.key, p.value ?? '']
    case 'getset':
      return ['SET', p.key, p.value ?? '', 'GET']
    case 'incr':
      return ['INCR', p.key]
    case 'del':
      return ['DEL', p.key]
  }
}

/** -CLUSTERDOWN: nothing was done. -TIMEOUT or anything unexpected on a write: maybe done. */
export function recordReply(history: History, op: Op, reply: RespValue): void {
  if (reply instanceof RespError) {
    const certain = reply.message.startsWith('CLUSTERDOWN') || op.kind === 'get'
    history.complete(op, certain ? 'failed' : 'unknown', null, reply.message)
    return
  }
  const expectsNumber = op.kind === 'incr' || op.kind === 'del'
  const shapeOk = op.kind === 'set' ? reply === 'OK' : expectsNumber ? typeof reply === 'number' : reply === null || typeof reply === 'string'
  if (!shapeOk) {
    history.complete(op, op.kind === 'get' ? 'failed' : 'unknown', null, `unexpected reply ${JSON.stringify(reply)}`)
    return
  }
  history.complete(op, 'ok', op.kind === 'set' ? null : (reply as string | number | null))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
