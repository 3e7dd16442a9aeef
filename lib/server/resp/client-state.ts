// What the server remembers about one RESP connection: identity (CLIENT
// SETNAME/SETINFO, CLIENT LIST), authentication, read mode, and the
// MULTI/WATCH state of a transaction in progress.
import type { KvOp, KvWatch } from '../../kv/command.js'
import type { Reply } from './reply-writer.js'

/** One command queued between MULTI and EXEC. */
export type QueuedCommand =
  /**
   * A key-value op: sent with the transaction's write. `reply`, when set,
   * answers it in EXEC's array instead of the op's result (PUBLISH answers
   * its receivers, as it does outside MULTI).
   */
  | { readonly t: 'op'; readonly op: KvOp; readonly reply?: () => Reply }
  /** A reply known at queue time (an error found while parsing the arguments), answered in EXEC's array. */
  | { readonly t: 'fixed'; readonly reply: Reply }
  /** A connection-local command (PING, ECHO …), run when EXEC runs. */
  | { readonly t: 'local'; readonly run: () => Reply }

/** A connection's Pub/Sub subscriptions, as CLIENT LIST shows them. */
export interface SubscriptionCounts {
  readonly channels: number
  readonly patterns: number
}

export interface Transaction {
  readonly queued: QueuedCommand[]
  /** A command was rejected while queueing: EXEC answers EXECABORT. */
  failed: boolean
}

let nextClientId = 1

export class ClientState {
  readonly id = nextClientId++
  readonly createdAtMs = Date.now()
  lastInteractionMs = this.createdAtMs
  name = ''
  libName = ''
  libVer = ''
  authenticated: boolean
  /** READONLY: this connection reads locally without a ReadIndex barrier. */
  staleReads = false
  transaction: Transaction | null = null
  /** Waiting in a blocking pop (INFO's blocked_clients, CLIENT LIST's `b` flag), from its first empty try until it is answered. */
  blocked = false
  /**
   * What each WATCH since the last EXEC/DISCARD/UNWATCH recorded: the keys'
   * versions, or null when the WATCH failed (no leader), in which case the
   * next EXEC aborts rather than run unchecked. Promises, because a pipelined
   * EXEC is dispatched before the versions arrive.
   */
  watches: Promise<readonly KvWatch[] | null>[] = []
  lastCommand = 'NULL'
  commandsProcessed = 0

  constructor(
    readonly addr: string,
    readonly laddr: string,
    authRequired: boolean,
  ) {
    this.authenticated = !authRequired
  }

  /** One line of CLIENT LIST / CLIENT INFO, in Redis' field order. */
  describe(nowMs: number, queryBufferBytes: number, outputBytes: number, subscriptions: SubscriptionCounts): string {
    // Redis' order of the flags (networking.c, getClientInfoString): P (subscriber mode), x (MULTI), b (blocked), r (READONLY); N for none.
    const subscribed = subscriptions.channels + subscriptions.patterns > 0
    const flags = `${subscribed ? 'P' : ''}${this.transaction !== null ? 'x' : ''}${this.blocked ? 'b' : ''}${this.staleReads ? 'r' : ''}` || 'N'
    const fields = [
      `id=${this.id}`,
      `addr=${this.addr}`,
      `laddr=${this.laddr}`,
      `fd=-1`,
      `name=${this.name}`,
      `age=${Math.floor((nowMs - this.createdAtMs) / 1000)}`,
      `idle=${Math.floor((nowMs - this.lastInteractionMs) / 1000)}`,
      `flags=${flags}`,
      `db=0`,
      `sub=${subscriptions.channels}`,
      `psub=${subscriptions.patterns}`,
      `ssub=0`,
      `multi=${this.transaction === null ? -1 : this.transaction.queued.length}`,
      `qbuf=${queryBufferBytes}`,
      `qbuf-free=0`,
      `argv-mem=0`,
      `multi-mem=0`,
      `obl=0`,
      `oll=0`,
      `omem=${outputBytes}`,
      `tot-mem=${queryBufferBytes + outputBytes}`,
      `events=r`,
      `cmd=${this.lastCommand}`,
      `user=default`,
      `redir=-1`,
      `resp=2`,
      `lib-name=${this.libName}`,
      `lib-ver=${this.libVer}`,
    ]
    return fields.join(' ')
  }
}
