// A node's configuration: read from an .env file (dotenv), overridden by the
// process environment, validated into one frozen, typed object. Every problem
// becomes a ConfigError whose message is one line naming the variable, so the
// CLI can print it and exit 2 instead of showing a stack trace.
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve, sep } from 'node:path'
import { createSecureContext } from 'node:tls'
import { parse as parseDotenv } from 'dotenv'
import { ConfigError } from './config-error.js'
import { feedLimitVariables, type FeedLimits } from './feed-limits.js'
import { parseIntVariable, parseIntVariables } from './int-variables.js'

export { ConfigError }

export interface HostPort {
  readonly host: string
  readonly port: number
}

export type FsyncPolicy = 'always' | 'never'
export type FollowerWrites = 'forward' | 'moved'
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface NodeConfig {
  readonly nodeId: string
  readonly raftAddr: HostPort
  readonly respAddr: HostPort
  readonly httpAddr: HostPort
  readonly dataDir: string
  /**
   * HIGH_WATER_FILE: where the node records, outside DATA_DIR, the furthest
   * log position it stored, so a copied-back DATA_DIR is refused
   * (lib/storage/high-water-file.ts). Default: DATA_DIR's path + ".high-water";
   * null ("off"): not kept.
   */
  readonly highWaterFile: string | null
  /** RAFT_ADDR of a member to join through; null bootstraps a new cluster. */
  readonly join: HostPort | null
  readonly clusterSecret: string
  readonly requirePass: string | null
  readonly protectedMode: boolean
  readonly tickMs: number
  readonly electionTimeoutTicks: number
  readonly heartbeatIntervalTicks: number
  readonly snapshotEntries: number
  /** Also snapshot once the entries applied since the last snapshot hold this many bytes: bounds the in-memory log and replay. */
  readonly snapshotLogBytes: number
  /**
   * Past SNAPSHOT_ENTRIES, a snapshot also waits until the entries applied
   * since the last one hold this percent of the keys section's bytes, so that
   * encoding the keyspace costs a bounded share of the writes whatever its
   * size (lib/replica/snapshot-taker.ts); 0 (the default) leaves
   * SNAPSHOT_ENTRIES alone.
   */
  readonly snapshotLogPercent: number
  /**
   * Bytes of entry data the in-memory Raft log holds before it releases that
   * of applied, durable entries (read back from the log file when a follower
   * needs them). Independent of SNAPSHOT_ENTRIES: see lib/raft/raft-log.ts.
   */
  readonly logCacheBytes: number
  /**
   * A node's own snapshot is written to its file in chunks of this size as
   * it is encoded (lib/replica/snapshot-taker.ts). Not a variable: always
   * SNAPSHOT_CHUNK_BYTES, but for the simulator, which shrinks it so that
   * its small states are written in many chunks.
   */
  readonly snapshotChunkBytes: number
  readonly fsync: FsyncPolicy
  readonly segmentBytesMax: number
  /** Zero-fill the next log segment ahead of need (an fdatasync into allocated blocks journals no size change). */
  readonly preallocateSegments: boolean
  readonly requestTimeoutMs: number
  readonly followerWrites: FollowerWrites
  readonly maxClients: number
  /** Change feeds: SUBSCRIBERS_MAX, WATCHERS_MAX, WATCH_HISTORY_* … (feed-limits.ts is their table). */
  readonly feedLimits: FeedLimits
  /** notify-keyspace-events at start, in Redis's letters ('' = off, Redis's default). */
  readonly notifyKeyspaceEvents: string
  readonly logLevel: LogLevel
  /**
   * Dial these addresses instead of a peer's advertised RAFT_ADDR (NAT, or a
   * fault-injecting proxy between each pair of nodes in the fault suite).
   */
  readonly peerAddrOverrides: ReadonlyMap<string, string>
  /**
   * RAFTKV_TEST_MODE=yes: the switch the unsafe test-only variables below need.
   * Refused unless every listener is on a loopback address, so a production
   * config cannot turn them on by mistake (not even from a stray env file).
   */
  readonly testMode: boolean
  /** Test only (fault suite): record each file's length at its last fsync. Needs testMode. */
  readonly trackSyncedLengths: boolean
  /** Test only: a deliberately broken node that serves linearizable reads without ReadIndex. Needs testMode. */
  readonly unsafeStaleReads: boolean
  /**
   * Test only: this node's wall clock runs this many ms ahead (negative:
   * behind), to test TTLs under clock skew with real processes. Needs testMode.
   */
  readonly testClockOffsetMs: number
  /** Mutual TLS between peers (PEER_TLS_CERT/KEY/CA, all or none); null: plain TCP. */
  readonly peerTls: (TlsFiles & { readonly ca: Buffer }) | null
  /** TLS on the RESP and HTTP ports (CLIENT_TLS_CERT/KEY, optional CLIENT_TLS_CA); null: plain. */
  readonly clientTls: TlsFiles | null
}

/** PEM contents read at start-up; `ca` null means no client certificates are asked for. */
export interface TlsFiles {
  readonly cert: Buffer
  readonly key: Buffer
  readonly ca: Buffer | null
}

/** The chunk a node's own snapshot is encoded into and written from: ~13 writes for 100,000 keys of 100 bytes. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024

/** Every tuning variable with its default (the change feeds' are in feed-limits.ts); the README lists the same table. */
export const tuningDefaults = Object.freeze({
  TICK_MS: 50,
  ELECTION_TICKS: 10,
  HEARTBEAT_TICKS: 1,
  SNAPSHOT_ENTRIES: 100000,
  SNAPSHOT_LOG_BYTES: 256 * 1024 * 1024,
  // 50: at 1M keys, snapshots every SNAPSHOT_ENTRIES writes took a fifth to a
  // quarter of the nodes' CPU under a write load. The longer log this leaves
  // costs no more memory than LOG_CACHE_BYTES, at run time and, since start-up
  // replay keeps the same bound, at restart (bench/README section 33).
  SNAPSHOT_LOG_PERCENT: 50,
  // 8 MiB: about 55,000 100-byte SETs, about a second of writes at the
  // benchmarks' peak rate, so a follower in step, or back from a short
  // pause, catches up from memory; one further behind is served from the log
  // file (from the page cache, usually). With the longer log that
  // SNAPSHOT_LOG_PERCENT leaves at 1M keys, 64 MiB put a node past twice
  // Redis's RSS and 16 MiB the leader at it (bench/README sections 31, 33).
  LOG_CACHE_BYTES: 8 * 1024 * 1024,
  FSYNC: 'always' as FsyncPolicy,
  SEGMENT_BYTES: 64 * 1024 * 1024,
  SEGMENT_PREALLOCATE: 'yes' as 'yes' | 'no',
  REQUEST_TIMEOUT_MS: 5000,
  FOLLOWER_WRITES: 'forward' as FollowerWrites,
  MAXCLIENTS: 10000,
  NOTIFY_KEYSPACE_EVENTS: '',
  LOG_LEVEL: 'info' as LogLevel,
  PROTECTED_MODE: 'yes',
})

type Env = Readonly<Record<string, string | undefined>>

/** Reads `envFile` (if given) and lets `processEnv` override it. */
export function loadNodeConfig(envFile: string | null, processEnv: Env): NodeConfig {
  let fileEnv: Record<string, string> = {}
  if (envFile !== null) {
    let text: string
    try {
      text = readFileSync(envFile, 'utf8')
    } catch (err) {
      throw new ConfigError(`cannot read env file ${envFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    }
    fileEnv = parseDotenv(text)
  }
  const env: Env = { ...fileEnv, ...definedOnly(processEnv) }
  return parseNodeConfig(env)
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}

export function parseNodeConfig(env: Env): NodeConfig {
  const nodeId = required(env, 'NODE_ID')
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) {
    throw new ConfigError(`NODE_ID must be 1-64 characters of [A-Za-z0-9_-] (got ${JSON.stringify(nodeId)})`)
  }
  const raftAddr = hostPort(env, 'RAFT_ADDR', required(env, 'RAFT_ADDR'))
  const respAddr = hostPort(env, 'RESP_ADDR', required(env, 'RESP_ADDR'))
  const httpAddr = hostPort(env, 'HTTP_ADDR', required(env, 'HTTP_ADDR'))
  const dataDir = required(env, 'DATA_DIR')
  const joinText = (env['JOIN'] ?? '').trim()
  const join = joinText === '' ? null : hostPort(env, 'JOIN', joinText)
  const clusterSecret = required(env, 'CLUSTER_SECRET')
  if (clusterSecret.length < 8) throw new ConfigError('CLUSTER_SECRET must be at least 8 characters')
  const requirePassText = env['REQUIREPASS'] ?? ''
  const requirePass = requirePassText === '' ? null : requirePassText
  const protectedMode = yesNo(env, 'PROTECTED_MODE', tuningDefaults.PROTECTED_MODE)
  const config: NodeConfig = {
    nodeId,
    raftAddr,
    respAddr,
    httpAddr,
    dataDir,
    highWaterFile: highWaterFileOf(env, dataDir),
    join,
    clusterSecret,
    requirePass,
    protectedMode,
    tickMs: int(env, 'TICK_MS', tuningDefaults.TICK_MS, 1, 10_000),
    electionTimeoutTicks: int(env, 'ELECTION_TICKS', tuningDefaults.ELECTION_TICKS, 2, 1000),
    heartbeatIntervalTicks: int(env, 'HEARTBEAT_TICKS', tuningDefaults.HEARTBEAT_TICKS, 1, 1000),
    snapshotEntries: int(env, 'SNAPSHOT_ENTRIES', tuningDefaults.SNAPSHOT_ENTRIES, 10, 100_000_000),
    snapshotLogBytes: int(env, 'SNAPSHOT_LOG_BYTES', tuningDefaults.SNAPSHOT_LOG_BYTES, 64 * 1024, 64 * 1024 * 1024 * 1024),
    snapshotLogPercent: int(env, 'SNAPSHOT_LOG_PERCENT', tuningDefaults.SNAPSHOT_LOG_PERCENT, 0, 10_000),
    logCacheBytes: int(env, 'LOG_CACHE_BYTES', tuningDefaults.LOG_CACHE_BYTES, 4096, 64 * 1024 * 1024 * 1024),
    snapshotChunkBytes: SNAPSHOT_CHUNK_BYTES,
    fsync: oneOf(env, 'FSYNC', ['always', 'never'] as const, tuningDefaults.FSYNC),
    segmentBytesMax: int(env, 'SEGMENT_BYTES', tuningDefaults.SEGMENT_BYTES, 64 * 1024, 4 * 1024 * 1024 * 1024),
    preallocateSegments: yesNo(env, 'SEGMENT_PREALLOCATE', tuningDefaults.SEGMENT_PREALLOCATE),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', tuningDefaults.REQUEST_TIMEOUT_MS, 100, 600_000),
    followerWrites: oneOf(env, 'FOLLOWER_WRITES', ['forward', 'moved'] as const, tuningDefaults.FOLLOWER_WRITES),
    maxClients: int(env, 'MAXCLIENTS', tuningDefaults.MAXCLIENTS, 1, 1_000_000),
    feedLimits: parseIntVariables(env, feedLimitVariables),
    notifyKeyspaceEvents: notifyLetters(env, 'NOTIFY_KEYSPACE_EVENTS'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, tuningDefaults.LOG_LEVEL),
    peerAddrOverrides: addrOverrides(env, 'PEER_ADDR_OVERRIDES'),
    testMode: yesNo(env, 'RAFTKV_TEST_MODE', 'no'),
    trackSyncedLengths: yesNo(env, 'RAFTKV_TRACK_SYNCED_LENGTHS', 'no'),
    unsafeStaleReads: yesNo(env, 'RAFTKV_UNSAFE_STALE_READS', 'no'),
    testClockOffsetMs: signedInt(env, 'RAFTKV_TEST_CLOCK_OFFSET_MS', 0, -clockOffsetMsMax, clockOffsetMsMax),
    peerTls: peerTlsFiles(env),
    clientTls: clientTlsFiles(env),
  }
  if (config.heartbeatIntervalTicks >= config.electionTimeoutTicks) {
    throw new ConfigError(`HEARTBEAT_TICKS (${config.heartbeatIntervalTicks}) must be below ELECTION_TICKS (${config.electionTimeoutTicks})`)
  }
  checkProtectedMode(config)
  checkTestMode(config)
  return Object.freeze(config)
}

/** HIGH_WATER_FILE, or beside DATA_DIR by default (never inside it: a copy of the directory must not carry it). */
function highWaterFileOf(env: Env, dataDir: string): string | null {
  const text = (env['HIGH_WATER_FILE'] ?? '').trim()
  if (text === 'off') return null
  const file = text === '' ? `${dataDir.replace(/\/+$/, '')}.high-water` : text
  const dir = resolve(dataDir)
  if (resolve(file) === dir || resolve(file).startsWith(dir + sep)) {
    throw new ConfigError(`HIGH_WATER_FILE must be outside DATA_DIR (a copy of the directory would carry it): got ${JSON.stringify(file)}`)
  }
  return file
}

/** The unsafe switches that are on, by variable name (INFO, /status and a metric list them). */
export function unsafeSwitchesOn(c: NodeConfig): string[] {
  const on: string[] = []
  if (c.unsafeStaleReads) on.push('RAFTKV_UNSAFE_STALE_READS')
  if (c.trackSyncedLengths) on.push('RAFTKV_TRACK_SYNCED_LENGTHS')
  if (c.testClockOffsetMs !== 0) on.push('RAFTKV_TEST_CLOCK_OFFSET_MS')
  return on
}

/** Every variable unsafeSwitchesOn can name, for a metric with a series per switch. */
export const unsafeSwitchNames: readonly string[] = ['RAFTKV_UNSAFE_STALE_READS', 'RAFTKV_TRACK_SYNCED_LENGTHS', 'RAFTKV_TEST_CLOCK_OFFSET_MS']

/**
 * The test-only switches break safety (stale reads) or cost an fsync-time
 * record per write: each needs RAFTKV_TEST_MODE=yes, and test mode needs every
 * listener on loopback, where no production cluster lives.
 */
function checkTestMode(c: NodeConfig): void {
  const on = unsafeSwitchesOn(c)
  if (on.length > 0 && !c.testMode) {
    throw new ConfigError(`${on.join(' and ')} ${on.length === 1 ? 'is' : 'are'} test-only: set RAFTKV_TEST_MODE=yes as well (refused on non-loopback addresses)`)
  }
  if (!c.testMode) return
  for (const [name, addr] of [['RAFT_ADDR', c.raftAddr], ['RESP_ADDR', c.respAddr], ['HTTP_ADDR', c.httpAddr]] as const) {
    if (!isLoopback(addr.host)) throw new ConfigError(`RAFTKV_TEST_MODE=yes is refused: ${name} ${addr.host} is not a loopback address`)
  }
}

/** Like Redis' protected mode: no client port beyond loopback without a password. */
function checkProtectedMode(c: NodeConfig): void {
  if (!c.protectedMode || c.requirePass !== null) return
  for (const [name, addr] of [['RESP_ADDR', c.respAddr], ['HTTP_ADDR', c.httpAddr]] as const) {
    if (!isLoopback(addr.host)) {
      throw new ConfigError(`${name} ${addr.host} is not a loopback address: set REQUIREPASS, or PROTECTED_MODE=no on a trusted network`)
    }
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

/** Redis's notify-keyspace-events letters (lib/feeds/notify-flags.ts parses them). */
function notifyLetters(env: Env, name: string): string {
  const text = (env[name] ?? tuningDefaults.NOTIFY_KEYSPACE_EVENTS).trim()
  if (!/^[Ag$lshzxeKEtmdn]*$/.test(text)) throw new ConfigError(`${name} has an invalid event class character: use letters from 'Ag$lshzxeKEtmdn' (got ${JSON.stringify(text)})`)
  return text
}

function required(env: Env, name: string): string {
  const v = env[name]
  if (v === undefined || v.trim() === '') throw new ConfigError(`${name} is required but not set`)
  return v.trim()
}

export function parseHostPort(text: string): HostPort | null {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(text.trim())
  if (m === null) return null
  const port = Number(m[2])
  if (port > 65535) return null
  const host = (m[1] as string).replace(/^\[|\]$/g, '')
  return { host, port }
}

export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

function hostPort(_env: Env, name: string, text: string): HostPort {
  const hp = parseHostPort(text)
  if (hp === null) throw new ConfigError(`${name} must be host:port with a port in 0-65535 (got ${JSON.stringify(text)})`)
  return hp
}

/** "n2=127.0.0.1:9102,n3=127.0.0.1:9103" */
function addrOverrides(env: Env, name: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>()
  const text = (env[name] ?? '').trim()
  if (text === '') return out
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    const id = part.slice(0, eq).trim()
    const addr = part.slice(eq + 1).trim()
    if (eq <= 0 || !/^[A-Za-z0-9_-]{1,64}$/.test(id) || parseHostPort(addr) === null) {
      throw new ConfigError(`${name} must be a comma-separated list of NODE_ID=host:port (got ${JSON.stringify(part)})`)
    }
    out.set(id, addr)
  }
  return out
}

/** A day: enough skew for any test, and far from overflowing a timestamp. */
const clockOffsetMsMax = 86_400_000

function signedInt(env: Env, name: string, dflt: number, min: number, max: number): number {
  const v = env[name]
  if (v === undefined || v.trim() === '') return dflt
  if (!/^-?\d+$/.test(v.trim())) throw new ConfigError(`${name} must be an integer (got ${JSON.stringify(v)})`)
  const n = Number(v.trim())
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max} (got ${n})`)
  return n
}

function int(env: Env, name: string, dflt: number, min: number, max: number): number {
  return parseIntVariable(env, { name, default: dflt, min, max })
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], dflt: T): T {
  const v = env[name]
  if (v === undefined || v.trim() === '') return dflt
  const t = v.trim().toLowerCase()
  if (!(allowed as readonly string[]).includes(t)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`)
  return t as T
}

function yesNo(env: Env, name: string, dflt: string): boolean {
  const v = (env[name] ?? dflt).trim().toLowerCase()
  if (v === 'yes' || v === 'true' || v === '1') return true
  if (v === 'no' || v === 'false' || v === '0') return false
  throw new ConfigError(`${name} must be yes or no (got ${JSON.stringify(env[name])})`)
}

/** PEER_TLS_*: all three or none, since a peer must both present and check a certificate. */
function peerTlsFiles(env: Env): (TlsFiles & { readonly ca: Buffer }) | null {
  const names = ['PEER_TLS_CERT', 'PEER_TLS_KEY', 'PEER_TLS_CA'] as const
  const set = names.filter((n) => (env[n] ?? '').trim() !== '')
  if (set.length === 0) return null
  if (set.length < names.length) {
    const missing = names.filter((n) => !set.includes(n))
    throw new ConfigError(`${missing.join(' and ')} must be set too: PEER_TLS_CERT, PEER_TLS_KEY and PEER_TLS_CA go together`)
  }
  const files = { cert: pemFile(env, 'PEER_TLS_CERT'), key: pemFile(env, 'PEER_TLS_KEY'), ca: pemFile(env, 'PEER_TLS_CA') }
  checkTlsPair('PEER_TLS', files)
  return files
}

/** CLIENT_TLS_CERT and _KEY together; CLIENT_TLS_CA only with them. */
function clientTlsFiles(env: Env): TlsFiles | null {
  const has = (n: string): boolean => (env[n] ?? '').trim() !== ''
  if (!has('CLIENT_TLS_CERT') && !has('CLIENT_TLS_KEY')) {
    if (has('CLIENT_TLS_CA')) throw new ConfigError('CLIENT_TLS_CA needs CLIENT_TLS_CERT and CLIENT_TLS_KEY')
    return null
  }
  if (!has('CLIENT_TLS_CERT') || !has('CLIENT_TLS_KEY')) {
    throw new ConfigError(`${has('CLIENT_TLS_CERT') ? 'CLIENT_TLS_KEY' : 'CLIENT_TLS_CERT'} must be set too: CLIENT_TLS_CERT and CLIENT_TLS_KEY go together`)
  }
  const files = { cert: pemFile(env, 'CLIENT_TLS_CERT'), key: pemFile(env, 'CLIENT_TLS_KEY'), ca: has('CLIENT_TLS_CA') ? pemFile(env, 'CLIENT_TLS_CA') : null }
  checkTlsPair('CLIENT_TLS', files)
  return files
}

function pemFile(env: Env, name: string): Buffer {
  const path = (env[name] ?? '').trim()
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  if (!bytes.includes('-----BEGIN ')) throw new ConfigError(`${name}: ${path} is not a PEM file`)
  return bytes
}

/** Lets OpenSSL judge the files now, so a bad pair stops start-up instead of every connection. */
function checkTlsPair(prefix: string, files: TlsFiles): void {
  try {
    createSecureContext({ cert: files.cert, key: files.key })
  } catch (err) {
    throw new ConfigError(`${prefix}_CERT and ${prefix}_KEY are not a usable pair: ${oneLine(err)}`)
  }
  if (files.ca === null) return
  try {
    createSecureContext({ ca: files.ca })
  } catch (err) {
    throw new ConfigError(`${prefix}_CA is not a usable CA certificate: ${oneLine(err)}`)
  }
}

function oneLine(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown }
  const text = typeof e.reason === 'string' ? e.reason : String(e.message ?? err)
  return text.split('\n')[0] ?? ''
}
