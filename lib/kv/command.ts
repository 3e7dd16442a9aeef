// The vocabulary of the replicated key-value state machine: the operations a
// client may ask for, the write that one log entry carries, and the results the
// state machine hands back. The RESP and HTTP layers translate their requests
// into these types and map the results 1:1 onto replies, so every error message
// here is Redis' exact text (without the leading code, which travels in `code`).
//
// Keys and values are Buffers because Redis strings are binary-safe. Integers
// that Redis keeps as signed 64-bit (INCRBY deltas, expire amounts) are bigints
// so that the overflow checks and their error texts can be exact.

/** Seconds for EX/EXAT/EXPIRE/EXPIREAT/TTL, milliseconds for the P- variants. */
export type KvTimeUnit = 'seconds' | 'milliseconds'

/**
 * An expiry as the client wrote it. The state machine validates it and turns a
 * relative one into an absolute time with the entry's `nowMs`, so that every
 * replica computes the same deadline and the overflow errors come from one place.
 * `amount` is whatever the client sent, parsed as a signed 64-bit integer.
 */
export type KvSetExpiry =
  | { readonly t: 'none' }
  /** KEEPTTL: keep the key's current deadline, if any. */
  | { readonly t: 'keepTtl' }
  /** EX (seconds) or PX (milliseconds) from now. */
  | { readonly t: 'relative'; readonly unit: KvTimeUnit; readonly amount: bigint }
  /** EXAT (seconds) or PXAT (milliseconds) since the Unix epoch. */
  | { readonly t: 'absolute'; readonly unit: KvTimeUnit; readonly amount: bigint }

/** SET's NX / XX. */
export type KvSetCondition = 'always' | 'nx' | 'xx'

/**
 * EXPIRE's NX / XX / GT / LT (Redis 7). The parser rejects the incompatible
 * combinations. XX GT is plain 'gt' (GT never fires on a key without a deadline),
 * but XX LT is its own condition: LT alone treats a missing deadline as infinite
 * and sets one, while XX LT requires a deadline to already exist.
 */
export type KvExpireCondition = 'always' | 'nx' | 'xx' | 'gt' | 'lt' | 'xxlt'

export interface KvPair {
  readonly key: Buffer
  readonly value: Buffer
}

/**
 * Everything that may run inside MULTI/EXEC. Each variant is one Redis command
 * (or a family sharing one implementation, as the comments say).
 */
export type KvOp =
  | {
      readonly t: 'set'
      readonly key: Buffer
      readonly value: Buffer
      readonly condition: KvSetCondition
      readonly expiry: KvSetExpiry
      /** SET … GET: answer the old value (or nil) instead of OK. */
      readonly get: boolean
    }
  | { readonly t: 'get'; readonly key: Buffer }
  | { readonly t: 'getdel'; readonly key: Buffer }
  | { readonly t: 'del'; readonly keys: readonly Buffer[] }
  | { readonly t: 'exists'; readonly keys: readonly Buffer[] }
  /** INCR (1), DECR (-1), INCRBY n, DECRBY n (-n; the parser answers DECRBY of -2^63 itself). */
  | { readonly t: 'incrby'; readonly key: Buffer; readonly delta: bigint }
  | { readonly t: 'append'; readonly key: Buffer; readonly value: Buffer }
  | { readonly t: 'strlen'; readonly key: Buffer }
  | { readonly t: 'mget'; readonly keys: readonly Buffer[] }
  | { readonly t: 'mset'; readonly pairs: readonly KvPair[] }
  | { readonly t: 'setnx'; readonly key: Buffer; readonly value: Buffer }
  /**
   * EXPIRE (relative, seconds), PEXPIRE (relative, ms), EXPIREAT (absolute,
   * seconds), PEXPIREAT (absolute, ms).
   */
  | {
      readonly t: 'expire'
      readonly key: Buffer
      readonly base: 'relative' | 'absolute'
      readonly unit: KvTimeUnit
      readonly amount: bigint
      readonly condition: KvExpireCondition
    }
  /** TTL (seconds) or PTTL (ms): -2 when absent, -1 without a deadline. */
  | { readonly t: 'ttl'; readonly key: Buffer; readonly unit: KvTimeUnit }
  /** EXPIRETIME (seconds) or PEXPIRETIME (ms): the absolute deadline, -2 / -1 as for TTL. */
  | { readonly t: 'expiretime'; readonly key: Buffer; readonly unit: KvTimeUnit }
  | { readonly t: 'persist'; readonly key: Buffer }
  /** TYPE: "string" or "none" (a status reply). */
  | { readonly t: 'type'; readonly key: Buffer }
  | { readonly t: 'dbsize' }
  /**
   * INFO keyspace's `expires=`: keys held with a deadline, counting expired
   * ones not yet swept (as DBSIZE does). No RESP command maps to it.
   */
  | { readonly t: 'dbexpires' }
  /** FLUSHALL / FLUSHDB (there is one database). */
  | { readonly t: 'flushall' }
  /**
   * Proposed by the leader from `expiredKeys()`: deletes each key only if it
   * has expired at the entry's `nowMs`, so expired keys leave every replica
   * through the log. Answers the number of keys deleted.
   */
  | { readonly t: 'expireSweep'; readonly keys: readonly Buffer[] }
  /**
   * Any other command, carried as the client wrote it: `name` (lower case)
   * and its arguments after the name. The state machine parses and runs it
   * (calls.ts), so the log holds the command itself and every replica makes
   * the same decisions from it. `seed` drives the command's random choices
   * (SPOP …): the node that took the command draws it, so it travels in the
   * entry and every replica chooses alike; 0 for commands that choose nothing.
   */
  | { readonly t: 'call'; readonly name: string; readonly args: readonly Buffer[]; readonly seed: number }
  /**
   * PUBLISH, through the log so that every node delivers messages in one
   * order. Changes no key; the state machine hands it to its event sink
   * (key-events.ts) and answers 0 (the RESP layer answers the receivers).
   */
  | { readonly t: 'publish'; readonly channel: Buffer; readonly message: Buffer }

export type KvOpType = KvOp['t']

/** WATCH: the write applies only if `key` still has `version` (see KvStateMachine.version). */
export interface KvWatch {
  readonly key: Buffer
  readonly version: number
}

/**
 * What one log entry asks for, applied atomically: a plain command is one op,
 * MULTI/EXEC is many. If any watched key's version has changed, nothing is
 * applied and the outcome is `watchAborted` (EXEC answers nil).
 */
export interface KvWrite {
  readonly ops: readonly KvOp[]
  readonly watches: readonly KvWatch[]
}

/**
 * A log entry's data. `nowMs` is stamped by the leader just before proposing
 * (see stampTime): replicas never consult their own clock when applying.
 * `clientId` + `seq` identify the request for at-most-once application; an
 * empty `clientId` opts out of deduplication (the leader's own sweeps).
 */
export interface KvEnvelope {
  readonly nowMs: number
  readonly clientId: string
  readonly seq: number
  readonly write: KvWrite
}

/** `code` is the reply's leading word (`-ERR …`); `message` is the text after it. */
export type KvErrorCode = 'ERR' | 'WRONGTYPE'

export type KvOpResult =
  | { readonly t: 'ok' }
  /** A simple-string reply other than OK (TYPE answers "string" or "none"). */
  | { readonly t: 'status'; readonly value: string }
  | { readonly t: 'nil' }
  /** RESP2's null array (`*-1`): LMPOP, BLPOP on timeout, LPOP with a count on a missing key. */
  | { readonly t: 'nilArray' }
  | { readonly t: 'int'; readonly value: number | bigint }
  | { readonly t: 'bulk'; readonly value: Buffer }
  | { readonly t: 'array'; readonly items: readonly KvOpResult[] }
  | { readonly t: 'error'; readonly code: KvErrorCode; readonly message: string }

/** What a write did, and what the session table remembers for a retry. */
export type KvWriteOutcome =
  | { readonly t: 'results'; readonly results: readonly KvOpResult[] }
  | { readonly t: 'watchAborted' }

/**
 * What `apply` returns for one log entry.
 * - `duplicate`: the (clientId, seq) was applied before; nothing changed now.
 *   `outcome` is the remembered result, or null when it is no longer known (an
 *   older seq than the client's latest, or a result too large to keep).
 * - `rejected`: the entry's bytes could not be decoded; nothing changed, but
 *   the applied index still advances so every replica stays in step.
 */
export type KvApplyResult =
  | KvWriteOutcome
  | { readonly t: 'duplicate'; readonly outcome: KvWriteOutcome | null }
  | { readonly t: 'rejected'; readonly error: { readonly code: string; readonly message: string } }

/** One page of SCAN. `cursor` is '0' when the iteration is complete. */
export type KvScanResult =
  | { readonly t: 'page'; readonly cursor: string; readonly keys: readonly Buffer[] }
  | { readonly t: 'error'; readonly code: KvErrorCode; readonly message: string }

/** Shorthands for building results, shared by the state machine and tests. */
export const OK: KvOpResult = Object.freeze({ t: 'ok' })
export const NIL: KvOpResult = Object.freeze({ t: 'nil' })
export const NIL_ARRAY: KvOpResult = Object.freeze({ t: 'nilArray' })
export const EMPTY_ARRAY: KvOpResult = Object.freeze({ t: 'array', items: Object.freeze([]) })
export function intResult(value: number | bigint): KvOpResult {
  return { t: 'int', value }
}
export function bulkResult(value: Buffer): KvOpResult {
  return { t: 'bulk', value }
}
/**
 * A bulk result of a latin1 string (an element as the keyspace holds it: one
 * char per byte). The RESP encoder writes the string's bytes straight into
 * the reply (lib/server/resp/result-encoder.ts): a long reply made a Buffer
 * per element only to copy it once more. Any other reader of `value` (the
 * session table, the forwarded-result codec, tests) gets the bytes as a
 * Buffer, made on first use.
 */
export class TextBulk {
  readonly t = 'bulk'
  private bytes: Buffer | null = null
  constructor(readonly text: string) {}
  get value(): Buffer {
    return (this.bytes ??= Buffer.from(this.text, 'latin1'))
  }
}
/** A bulk reply of a latin1 string (see TextBulk). */
export function textResult(value: string): KvOpResult {
  return new TextBulk(value)
}
export function arrayResult(items: readonly KvOpResult[]): KvOpResult {
  return { t: 'array', items }
}
export function errorResult(message: string, code: KvErrorCode = 'ERR'): KvOpResult {
  return { t: 'error', code, message }
}
