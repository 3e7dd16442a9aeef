// At-most-once application of client writes (Raft thesis §6.3). Each client
// numbers its writes with an increasing `seq`; the table remembers, per client,
// the last seq applied and its outcome, so a retried proposal (a forward that
// timed out, a leader change) is answered from memory instead of applied twice.
//
// The table is bounded. When full, it forgets the client whose last write was
// applied longest ago: a Map keeps insertion order, and every apply re-inserts
// its client at the end, so eviction is the same on every replica. A client
// that is forgotten and then retries an old write would have it applied again;
// with thousands of slots that needs a client silent for thousands of writes by
// others in the middle of a retry.
//
// This runs once per applied entry, and most entries come from the client that
// wrote the entry before (each node forwards under one client id), so the
// common cases allocate as little as possible: a 'new' check is one shared
// object, and re-remembering the newest client replaces its value in place
// (Map.set on an existing key keeps its position, which is already last).

import type { KvOpResult, KvWriteOutcome } from './command.js'

export const SESSION_COUNT_MAX = 10_000
/** Outcomes larger than this (say, a MULTI of big GETs) are not kept; a retry learns only that it was applied. */
export const SESSION_RESULT_BYTES_MAX = 64 * 1024

export interface Session {
  readonly seq: number
  /** Log index at which `seq` was applied. */
  readonly index: number
  /** Null when the outcome was too large to keep. */
  readonly outcome: KvWriteOutcome | null
}

export type SessionCheck =
  | { readonly t: 'new' }
  | { readonly t: 'duplicate'; readonly outcome: KvWriteOutcome | null }

const NEW_SESSION: SessionCheck = Object.freeze({ t: 'new' })

export class SessionTable {
  readonly sessions = new Map<string, Session>()
  /** The client last re-inserted, i.e. the last key of `sessions` ('' when unknown or empty). */
  private newestClientId = ''

  constructor(private readonly countMax = SESSION_COUNT_MAX) {}

  get size(): number {
    return this.sessions.size
  }

  check(clientId: string, seq: number): SessionCheck {
    const session = this.sessions.get(clientId)
    if (session === undefined || seq > session.seq) return NEW_SESSION
    // An older seq than the latest: applied long ago, and its result is gone.
    return { t: 'duplicate', outcome: seq === session.seq ? session.outcome : null }
  }

  remember(clientId: string, seq: number, index: number, outcome: KvWriteOutcome): void {
    const kept = outcomeBytes(outcome) <= SESSION_RESULT_BYTES_MAX ? outcome : null
    const session: Session = { seq, index, outcome: kept }
    if (clientId === this.newestClientId) {
      // Already last in eviction order: replacing keeps it there, and the size is unchanged.
      this.sessions.set(clientId, session)
      return
    }
    this.sessions.delete(clientId)
    this.sessions.set(clientId, session)
    while (this.sessions.size > this.countMax) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.sessions.delete(oldest)
    }
    this.newestClientId = this.sessions.has(clientId) ? clientId : ''
  }

  /** Restores one session from a snapshot, in the snapshot's (eviction) order. */
  load(clientId: string, session: Session): boolean {
    if (this.sessions.has(clientId)) return false
    this.sessions.set(clientId, session)
    this.newestClientId = clientId
    return true
  }

  clear(): void {
    this.sessions.clear()
    this.newestClientId = ''
  }
}

/** An estimate of the memory an outcome holds: its bulk bytes plus a little per result. */
export function outcomeBytes(outcome: KvWriteOutcome): number {
  if (outcome.t === 'watchAborted') return 16
  // An index loop: this runs for every write applied, and a for-of allocates an iterator where not optimized.
  const results = outcome.results
  let bytes = 0
  for (let i = 0; i < results.length; i++) bytes += resultBytes(results[i] as KvOpResult)
  return bytes
}

function resultBytes(result: KvOpResult): number {
  switch (result.t) {
    case 'bulk':
      return 16 + result.value.length
    case 'status':
    case 'error':
      return 16 + ('value' in result ? result.value.length : result.message.length)
    case 'array': {
      let bytes = 16
      for (const item of result.items) bytes += resultBytes(item)
      return bytes
    }
    default:
      return 16
  }
}
