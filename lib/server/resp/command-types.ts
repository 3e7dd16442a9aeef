// The shapes shared by the command table, the command implementations and
// the connection that dispatches them.
import type { CommandStats } from './command-stats.js'
import type { AuthThrottle } from '../auth-throttle.js'
import type { FeedHub } from '../../feeds/feed-hub.js'
import type { KvOp } from '../../kv/command.js'
import type { ClientBackend } from '../../replica/client-api.js'
import type { Logger } from '../../util/logger.js'
import type { ClientState, SubscriptionCounts } from './client-state.js'
import type { ClientSubscriptions } from './pubsub-commands.js'
import type { Reply } from './reply-writer.js'
import type { RespLimits } from './resp-limits.js'

/** Counters for INFO stats; the server owns one. */
export interface ServerStats {
  connectionsReceived: number
  connectionsRejected: number
  commandsProcessed: number
  netInputBytes: number
  netOutputBytes: number
  /** INFO commandstats and errorstats. */
  readonly commands: CommandStats
}

/** A view of one connection that commands may inspect (CLIENT LIST). */
export interface ConnectionView {
  readonly client: ClientState
  queryBufferBytes(): number
  outputBytes(): number
  subscriptionCounts(): SubscriptionCounts
}

/** What every command can see of the server. */
export interface ServerContext {
  readonly backend: ClientBackend
  /** The password, or null when none is required. Never logged or shown. */
  readonly requirePass: Buffer | null
  readonly movedMode: boolean
  readonly limits: RespLimits
  /** Failed AUTHs per source address (auth-throttle.ts). */
  readonly authThrottle: AuthThrottle
  readonly stats: ServerStats
  readonly logger: Logger
  readonly startedAtMs: number
  readonly runId: string
  /** The node's change feeds (Pub/Sub, keyspace notifications); null where there are none (some tests). */
  readonly feeds: FeedHub | null
  address(): { host: string; port: number }
  connections(): Iterable<ConnectionView>
}

/** What a command can do to its own connection. */
export interface CommandContext {
  readonly server: ServerContext
  readonly client: ClientState
  readonly connection: ConnectionView
  /** Checks a password; on failure the reply is delayed (brute force). */
  authenticate(password: Buffer): Promise<boolean> | true
  /** This connection's Pub/Sub subscriptions (created on first use); null without feeds. */
  subscriptions(): ClientSubscriptions | null
  /** QUIT: close once this command's reply (and all before it) is written. */
  closeAfterReply(): void
}

/** Docs groups, as COMMAND DOCS reports them. */
export type CommandGroup =
  | 'connection' | 'server' | 'string' | 'generic' | 'keyspace' | 'transactions' | 'cluster'
  | 'hash' | 'list' | 'set' | 'sorted-set' | 'bitmap' | 'pubsub'

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'fast'
  | 'admin'
  | 'noauth'
  | 'no-multi'
  | 'loading'
  | 'stale'
  | 'allow-busy'

interface CommandSpecBase {
  /** Lower-case name. */
  readonly name: string
  /** Redis' arity: N means exactly N arguments including the name, -N at least N. */
  readonly arity: number
  readonly flags: readonly CommandFlag[]
  readonly firstKey: number
  readonly lastKey: number
  readonly keyStep: number
  readonly group: CommandGroup
  readonly summary: string
  readonly since: string
  readonly subcommands?: readonly string[]
}

/** Runs on the connection; never touches the replicated state. */
export interface LocalCommandSpec extends CommandSpecBase {
  readonly kind: 'local'
  run(ctx: CommandContext, args: readonly Buffer[]): Reply | Promise<Reply>
  /** May be queued inside MULTI (its run is then synchronous and local). */
  readonly queueable?: boolean
}

/** Where a blocking pop (BLPOP …) finds the keys it waits on and its timeout argument. */
export interface BlockingSpec {
  keys(args: readonly Buffer[]): readonly Buffer[]
  timeout(args: readonly Buffer[]): Buffer | undefined
}

/** Becomes one KvOp: `read` ops run through backend.read, `write` ops through backend.write. */
export interface KvCommandSpec extends CommandSpecBase {
  readonly kind: 'read' | 'write'
  /** Set for the blocking pops: outside MULTI the connection waits (blocking-pop.ts). */
  readonly blocking?: BlockingSpec
  /** Parses the arguments; a Reply is a syntax error answered without touching the store. */
  toOp(args: readonly Buffer[]): KvOp | Reply
  /** When set, the reply once the write succeeded (PUBLISH answers from local state, not the op's result). */
  reply?(ctx: CommandContext, args: readonly Buffer[]): Reply
}

/** MULTI, EXEC, DISCARD, WATCH, UNWATCH, SCAN: handled by the connection itself. */
export interface SpecialCommandSpec extends CommandSpecBase {
  readonly kind: 'special'
}

export type CommandSpec = LocalCommandSpec | KvCommandSpec | SpecialCommandSpec
