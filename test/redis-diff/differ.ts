// Runs one command sequence against redis-server and against a raftkv
// cluster, and compares every reply. Replies whose order or choice Redis
// leaves open are normalized first (sets sorted, random picks reduced to
// their shape, TTLs to "has one"); SPOP's different choices are reconciled
// by copying Redis's remaining members over. On a mismatch the sequence is
// shrunk to the shortest prefix-and-subset that still mismatches.
import type { Command } from './command-gen.js'
import type { Wire, WireClient } from './resp-wire.js'

export interface Targets {
  readonly redis: WireClient
  /** One connection per raftkv node; commands go round-robin, a transaction stays on one. */
  readonly raftkv: readonly WireClient[]
}

export interface Mismatch {
  readonly index: number
  readonly command: Command
  readonly redis: string
  readonly raftkv: string
}

const UNORDERED = new Set(['SMEMBERS', 'SINTER', 'SUNION', 'SDIFF', 'HKEYS', 'HVALS', 'KEYS'])
const RANDOM = new Set(['SRANDMEMBER', 'HRANDFIELD', 'ZRANDMEMBER', 'RANDOMKEY', 'SPOP'])
const TIMES = new Set(['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME'])

function show(w: Wire): string {
  switch (w.t) {
    case 'status': return `+${w.v}`
    case 'error': return `-${w.v}`
    case 'int': return `:${w.v}`
    case 'bulk': return w.v === null ? '(nil)' : JSON.stringify(w.v)
    case 'array': return w.v === null ? '(nil array)' : `[${w.v.map(show).join(', ')}]`
  }
}

function pairs(items: readonly Wire[]): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < items.length; i += 2) out.push(`${show(items[i] as Wire)}=${show(items[i + 1] as Wire)}`)
  return out
}

/** The reply as a string, with what Redis leaves unspecified taken out. */
export function normalize(command: Command, w: Wire): string {
  const name = (command[0] ?? '').toUpperCase()
  if (w.t === 'error') return show(w)
  if (UNORDERED.has(name) && w.t === 'array' && w.v !== null) return `{${w.v.map(show).sort().join(', ')}}`
  if (name === 'HGETALL' && w.t === 'array' && w.v !== null) return `{${pairs(w.v).sort().join(', ')}}`
  if (name.endsWith('SCAN') && w.t === 'array' && w.v !== null) {
    const [cursor, items] = w.v as [Wire, Wire]
    if (cursor.t !== 'bulk' || cursor.v !== '0' || items.t !== 'array' || items.v === null) return '(a page of a paged scan)'
    const list = name === 'HSCAN' || name === 'ZSCAN' ? pairs(items.v) : items.v.map(show)
    return `scan{${list.sort().join(', ')}}`
  }
  if (RANDOM.has(name)) {
    if (w.t === 'bulk') return w.v === null ? '(nil)' : '(one pick)'
    if (w.t === 'array' && w.v !== null) return `(${w.v.length} picks)`
  }
  if (TIMES.has(name) && w.t === 'int' && Number(w.v) > 0) return '(a deadline)'
  // Redis's string encoding depends on how the value was made (INCRBYFLOAT's "5000" is embstr,
  // SET's is int); raftkv keeps no such history and answers from the value (README).
  if (name === 'OBJECT' && w.t === 'bulk' && (w.v === 'raw' || w.v === 'embstr' || w.v === 'int')) return '(a string encoding)'
  return show(w)
}

/** EXEC's array, each element normalized for the command queued at its place. */
function normalizeExec(queued: readonly Command[], w: Wire): string {
  if (w.t !== 'array' || w.v === null) return show(w)
  return `exec[${w.v.map((item, i) => normalize(queued[i] ?? [], item)).join(', ')}]`
}

/** SPOP removed different members on each side: give raftkv Redis's members (its deadline is untouched). */
async function reconcileSet(t: Targets, client: WireClient, key: string): Promise<void> {
  const want = await t.redis.send(['SMEMBERS', key])
  const have = await client.send(['SMEMBERS', key])
  if (want.t !== 'array' || have.t !== 'array' || want.v === null || have.v === null) return
  const wanted = new Set(want.v.map((w) => (w.t === 'bulk' ? w.v ?? '' : '')))
  const extra = have.v.map((w) => (w.t === 'bulk' ? w.v ?? '' : '')).filter((m) => !wanted.has(m))
  if (wanted.size > 0) await client.send(['SADD', key, ...wanted])
  if (extra.length > 0) await client.send(['SREM', key, ...extra])
}

/** Every connection out of any transaction and watch, and both stores empty. */
export async function reset(t: Targets): Promise<void> {
  for (const client of [t.redis, ...t.raftkv]) {
    await client.send(['DISCARD'])
    await client.send(['UNWATCH'])
  }
  await t.redis.send(['FLUSHALL'])
  await (t.raftkv[0] as WireClient).send(['FLUSHALL'])
  // The encoding thresholds a sequence may have set (command-gen.ts), back to Redis 7.0's defaults.
  const defaults = ['hash-max-listpack-entries', '512', 'hash-max-listpack-value', '64', 'set-max-intset-entries', '512', 'zset-max-listpack-entries', '128', 'zset-max-listpack-value', '64', 'list-max-listpack-size', '-2']
  await t.redis.send(['CONFIG', 'SET', ...defaults])
  await (t.raftkv[0] as WireClient).send(['CONFIG', 'SET', ...defaults])
}

/** Runs `commands` on both sides; the first mismatch, or null. */
export async function runSequence(t: Targets, commands: readonly Command[]): Promise<Mismatch | null> {
  let node = 0
  let queued: Command[] | null = null
  let inBlock = false
  const spopped = new Set<string>()
  for (let i = 0; i < commands.length; i++) {
    const command = commands[i] as Command
    const name = (command[0] ?? '').toUpperCase()
    if (!inBlock) node = (node + 1) % t.raftkv.length
    const client = t.raftkv[node] as WireClient
    if (name === 'WATCH' || name === 'MULTI') inBlock = true
    const [a, b] = await Promise.all([t.redis.send(command), client.send(command)])
    let na: string, nb: string
    if (name === 'EXEC') {
      na = normalizeExec(queued ?? [], a)
      nb = normalizeExec(queued ?? [], b)
    } else {
      na = normalize(command, a)
      nb = normalize(command, b)
    }
    if (name === 'MULTI' && a.t === 'status') queued = []
    else if (queued !== null && a.t === 'status' && a.v === 'QUEUED') queued.push(command)
    if (name === 'SPOP' && command[1] !== undefined) spopped.add(command[1])
    if (name === 'EXEC' || name === 'DISCARD') {
      queued = null
      inBlock = false
    }
    if (na !== nb) return { index: i, command, redis: na, raftkv: nb }
    if (!inBlock && spopped.size > 0) {
      for (const key of spopped) await reconcileSet(t, client, key)
      spopped.clear()
    }
  }
  return null
}

/** The shortest subsequence found (removing chunks, then single commands) that still mismatches. */
export async function shrink(t: Targets, commands: readonly Command[], trialsMax = 400): Promise<{ commands: Command[]; mismatch: Mismatch }> {
  let best = [...commands]
  await reset(t)
  let mismatch = (await runSequence(t, best)) as Mismatch
  best = best.slice(0, mismatch.index + 1)
  let trials = 0
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1 && trials < trialsMax; chunk >>= 1) {
    for (let start = 0; start < best.length && trials < trialsMax; ) {
      const candidate = [...best.slice(0, start), ...best.slice(start + chunk)]
      trials++
      await reset(t)
      const found = candidate.length === 0 ? null : await runSequence(t, candidate)
      if (found !== null) {
        best = candidate.slice(0, found.index + 1)
        mismatch = found
      } else start += chunk
    }
  }
  return { commands: best, mismatch }
}

export function quoteCommand(command: Command): string {
  return command.map((a) => (/^[\x21-\x7e]+$/.test(a) && !a.includes('"') ? a : JSON.stringify(a))).join(' ')
}
