// One client connection: bytes in → commands (RequestReader) → dispatch
// through the command table → replies out in order (ReplyQueue). Key-value
// work goes through the Sequencer so a pipeline keeps its order while its
// writes are proposed together. Nothing a client sends can throw out of here.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Socket } from 'node:net'
import { NIL_ARRAY, type KvApplyResult, type KvOp, type KvOpResult, type KvScanResult, type KvWatch } from '../../kv/command.js'

/** KvWrite.watches of a plain write (shared: nothing writes to it). */
const noWatches: readonly KvWatch[] = Object.freeze([])
import { parseTimeoutMs } from '../../kv/blocking-calls.js'
import { isEmptyPop, waitAndPop } from './blocking-pop.js'
import type { ReadConsistency } from '../../replica/client-api.js'
import { backendErrorReply } from './backend-errors.js'
import { ClientState, type QueuedCommand, type SubscriptionCounts, type Transaction } from './client-state.js'
import { lookupCommand } from './command-table.js'
import type { CommandContext, CommandSpec, ConnectionView, KvCommandSpec, LocalCommandSpec, ServerContext } from './command-types.js'
import { wrongArity } from './connection-commands.js'
import { keySlot } from './key-slot.js'
import { parseScan } from './kv-commands.js'
import { ClientSubscriptions, subscriberModeReply } from './pubsub-commands.js'
import { applyReply, CommandReply, formatResult } from './command-reply.js'
import { ReplyQueue, type ReplySlot } from './reply-queue.js'
import { array, bulk, bulkArray, errorReply, replyOk, replyQueued, type Reply } from './reply-writer.js'
import { ProtocolError, RequestReader } from './request-reader.js'
import { Sequencer } from './sequencer.js'
import { turnMonotonicMs } from '../../util/turn-time.js'

const noAuth = errorReply('NOAUTH Authentication required.')
const execAbort = errorReply('EXECABORT Transaction discarded because of previous errors.')
const notInMulti = errorReply('ERR Command not allowed inside a transaction')
const noSubscriptions: SubscriptionCounts = Object.freeze({ channels: 0, patterns: 0 })
/** Commands that act on a transaction in progress instead of being queued. */
const transactionControl = new Set(['exec', 'discard', 'multi', 'watch', 'quit'])

export function digest(secret: Buffer): Buffer {
  return createHash('sha256').update(secret).digest()
}

/** Redis 7's text, with the echoed name and arguments truncated. */
export function unknownCommandReply(args: readonly Buffer[]): Reply {
  let rest = ''
  for (let i = 1; i < args.length && rest.length < 128; i++) {
    rest += `'${(args[i] as Buffer).subarray(0, 128 - rest.length).toString()}' `
  }
  const name = (args[0] as Buffer).subarray(0, 128).toString()
  return errorReply(`ERR unknown command '${name}', with args beginning with: ${rest}`)
}

export class Connection implements ConnectionView {
  readonly client: ClientState
  private readonly reader: RequestReader
  private readonly queue: ReplyQueue
  private readonly sequencer: Sequencer
  private readonly context: CommandContext
  private paused = false
  private closing = false
  private quitting = false
  private authDelay: Promise<void> = Promise.resolve()
  private unauthTimer: NodeJS.Timeout | null = null
  private subscriptions: ClientSubscriptions | null = null
  /** When the chunk being read arrived (turnMonotonicMs()). */
  private chunkStartedMs = 0

  constructor(
    private readonly socket: Socket,
    private readonly server: ServerContext,
    private readonly passwordDigest: Buffer | null,
    private readonly onClose: (connection: Connection) => void,
  ) {
    this.client = new ClientState(
      `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`,
      server.requirePass !== null,
    )
    const limits = server.limits
    this.reader = new RequestReader(limits, () => this.client.authenticated, (args) => this.dispatch(args))
    this.queue = new ReplyQueue(
      socket,
      () => this.outputBytesMax(),
      {
        overflow: () => this.overflow(),
        flushed: () => this.checkPressure(),
        written: (reply, command, startedMs) => {
          server.stats.netOutputBytes += reply.length
          server.stats.commands.written(reply, command, startedMs)
        },
      },
    )
    this.sequencer = new Sequencer(server.backend)
    this.context = {
      server,
      client: this.client,
      connection: this,
      subscriptions: () => {
        if (server.feeds === null) return null
        this.subscriptions ??= new ClientSubscriptions(server.feeds, (reply) => this.queue.push(reply))
        return this.subscriptions
      },
      authenticate: (password) => this.authenticate(password),
      closeAfterReply: () => {
        this.quitting = true
        this.reader.stop()
      },
    }
    socket.setNoDelay(true)
    if (limits.idleTimeoutMs > 0) socket.setTimeout(limits.idleTimeoutMs, () => this.idle())
    if (!this.client.authenticated && limits.unauthTimeoutMs > 0) {
      this.unauthTimer = setTimeout(() => this.unauthExpired(), limits.unauthTimeoutMs)
      this.unauthTimer.unref()
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.checkPressure())
    socket.on('error', (error) => server.logger.debug({ err: error, client: this.client.id }, 'client socket error'))
    socket.on('close', () => this.closed())
  }

  queryBufferBytes(): number {
    return this.reader.pendingBytes
  }

  outputBytes(): number {
    return this.queue.queuedBytes
  }

  subscriptionCounts(): SubscriptionCounts {
    const subs = this.subscriptions
    return subs === null ? noSubscriptions : { channels: subs.channels.size, patterns: subs.patterns.size }
  }

  /** Closes the connection at once (server shutdown, after draining timed out). */
  destroy(): void {
    this.socket.destroy()
  }

  /**
   * Graceful shutdown: read no more commands, answer every one already
   * received (writes in flight included), then close.
   */
  drain(): void {
    if (this.closing) return
    this.closing = true
    this.reader.stop()
    this.queue.end()
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return
    this.server.stats.netInputBytes += chunk.length
    this.client.lastInteractionMs = Date.now()
    // One clock read per chunk: its commands arrived together (INFO commandstats).
    this.chunkStartedMs = turnMonotonicMs()
    let error: ProtocolError | null
    try {
      error = this.reader.feed(chunk)
    } catch (thrown) {
      this.server.logger.error({ err: thrown, client: this.client.id }, 'unexpected error while reading a request')
      error = new ProtocolError('internal error')
    }
    // The chunk's reads go to the backend together, commands before a protocol error included.
    this.sequencer.flush()
    if (error !== null) {
      this.protocolError(error)
      return
    }
    this.checkPressure()
  }

  private protocolError(error: ProtocolError): void {
    this.closing = true
    this.reader.stop()
    this.server.logger.debug({ client: this.client.id, addr: this.client.addr, reason: error.message }, 'protocol error, closing client')
    this.queue.push(errorReply(`ERR Protocol error: ${error.message}`))
    this.queue.end()
  }

  /** Redis's client-output-buffer-limit: its own class for subscribers (pubsub), normal otherwise. */
  private outputBytesMax(): number {
    const feeds = this.server.feeds
    if (feeds !== null && this.subscriptions !== null && this.subscriptions.count > 0) return feeds.limits.subscriberOutputBytesMax
    return this.client.authenticated ? this.server.limits.outputBytesMax : this.server.limits.unauthOutputBytesMax
  }

  private overflow(): void {
    this.closing = true
    this.reader.stop()
    const feeds = this.server.feeds
    if (feeds !== null && this.subscriptions !== null && this.subscriptions.count > 0) {
      feeds.counters.slowSubscriberDisconnects++
      feeds.logger.warn({ client: this.client.id, addr: this.client.addr, bytesMax: feeds.limits.subscriberOutputBytesMax }, 'slow subscriber: output buffer over the pubsub limit, disconnecting it')
      this.socket.destroy()
      return
    }
    this.server.logger.warn({ client: this.client.id, addr: this.client.addr }, 'client output buffer limit reached, closing client')
    this.socket.destroy()
  }

  private idle(): void {
    if (this.queue.pendingCount > 0) return
    this.server.logger.debug({ client: this.client.id }, 'closing idle client')
    this.socket.destroy()
  }

  /** Bytes arriving slowly do not keep an unauthenticated connection open: only AUTH does. */
  private unauthExpired(): void {
    this.unauthTimer = null
    if (this.client.authenticated || this.closing) return
    this.server.logger.debug({ client: this.client.id, addr: this.client.addr }, 'closing a client that did not authenticate in time')
    this.socket.destroy()
  }

  private closed(): void {
    if (this.unauthTimer !== null) clearTimeout(this.unauthTimer)
    this.closing = true
    this.reader.stop()
    this.queue.close()
    this.subscriptions?.dropAll()
    this.onClose(this)
  }

  /** Pauses reading while replies pile up; resumes once they drain. */
  private checkPressure(): void {
    if (this.closing) return
    const limits = this.server.limits
    const over = this.queue.pendingCount > limits.pipelineCommandsMax || this.queue.queuedBytes > limits.outputPauseBytes
    if (over && !this.paused) {
      this.paused = true
      this.socket.pause()
    } else if (!over && this.paused) {
      this.paused = false
      this.socket.resume()
    }
  }

  private authenticate(password: Buffer): Promise<boolean> | true {
    const expected = this.passwordDigest
    if (expected !== null && timingSafeEqual(digest(password), expected)) {
      this.client.authenticated = true
      return true
    }
    // Failures on one connection wait behind each other, so a pipeline of
    // guesses is no faster than guessing one at a time.
    const delayMs = this.server.authThrottle.failed(this.socket.remoteAddress ?? '?')
    this.authDelay = this.authDelay.then(() => new Promise((resolve) => setTimeout(resolve, delayMs)))
    return this.authDelay.then(() => false)
  }

  private dispatch(args: Buffer[]): void {
    const stats = this.server.stats
    stats.commandsProcessed++
    this.client.commandsProcessed++
    try {
      this.dispatchCommand(args)
    } catch (error) {
      this.server.logger.error({ err: error, client: this.client.id }, 'command failed unexpectedly')
      this.queue.push(errorReply('ERR internal error; see the server log'))
    }
    this.queue.command = null
    if (this.quitting) {
      this.closing = true
      this.queue.end()
    }
  }

  private dispatchCommand(args: Buffer[]): void {
    const spec = lookupCommand(args[0] as Buffer)
    const transaction = this.client.transaction
    if (spec === undefined) {
      this.reject(transaction, unknownCommandReply(args))
      return
    }
    this.client.lastCommand = spec.name
    if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) {
      this.server.stats.commands.rejected(spec.name)
      this.reject(transaction, wrongArity(spec.name))
      return
    }
    if (!this.client.authenticated && !spec.flags.includes('noauth')) {
      this.server.stats.commands.rejected(spec.name)
      this.reject(transaction, noAuth)
      return
    }
    const subscribed = subscriberModeReply(this.subscriptions, spec.name, args)
    if (subscribed !== null) {
      this.queue.push(subscribed)
      return
    }
    if (transaction !== null && !transactionControl.has(spec.name)) {
      this.queueCommand(transaction, spec, args)
      return
    }
    // Replies queued from here on answer this command (INFO commandstats).
    this.queue.command = spec.name
    this.queue.startedMs = this.chunkStartedMs
    switch (spec.kind) {
      case 'local':
        this.runLocal(spec, args)
        return
      case 'read':
        this.runRead(spec, args)
        return
      case 'write':
        this.runWrite(spec, args)
        return
      case 'special':
        this.runSpecial(spec.name, args)
        return
    }
  }

  /** An error found before running a command; inside MULTI it also dooms the transaction. */
  private reject(transaction: Transaction | null, reply: Reply): void {
    if (transaction !== null) transaction.failed = true
    this.queue.push(reply)
  }

  private queueCommand(transaction: Transaction, spec: CommandSpec, args: Buffer[]): void {
    let queued: QueuedCommand
    if (spec.kind === 'read' || spec.kind === 'write') {
      const op = spec.toOp(args)
      const custom = spec.reply
      if (Buffer.isBuffer(op)) queued = { t: 'fixed', reply: op }
      else queued = custom === undefined ? { t: 'op', op } : { t: 'op', op, reply: () => custom(this.context, args) }
    } else if (spec.kind === 'local' && spec.queueable === true) {
      queued = { t: 'local', run: () => spec.run(this.context, args) as Reply }
    } else if (spec.name === 'scan') {
      // Inside MULTI, SCAN is applied with the transaction's other commands (lib/kv/keyspace-scan.ts), as Redis allows.
      queued = { t: 'op', op: { t: 'call', name: 'scan', args: args.slice(1), seed: 0 } }
    } else if (spec.name === 'unwatch') {
      // EXEC forgets the watches anyway; Redis queues UNWATCH and answers OK.
      queued = { t: 'fixed', reply: replyOk }
    } else {
      this.server.stats.commands.rejected(spec.name)
      this.reject(transaction, notInMulti)
      return
    }
    transaction.queued.push(queued)
    this.queue.push(replyQueued)
  }

  /** Fills `slot` with the formatted outcome of `promise`, or with the error reply; never rejects. */
  private settleWith<T>(promise: Promise<T>, format: (value: T) => Reply, slot: ReplySlot, slotNumber = 0): void {
    // One reaction per request (the slow paths): format inside it rather than in a .then of its own.
    promise.then(
      (value) => {
        let reply: Reply
        try {
          reply = format(value)
        } catch (error) {
          reply = backendErrorReply(error, this.server.logger, slotNumber)
        }
        slot.settle(reply)
      },
      (error: unknown) => slot.settle(backendErrorReply(error, this.server.logger, slotNumber)),
    )
  }

  private runLocal(spec: LocalCommandSpec, args: Buffer[]): void {
    const reply = spec.run(this.context, args)
    if (Buffer.isBuffer(reply)) {
      this.queue.push(reply)
      return
    }
    this.settleWith(reply, asReply, this.queue.reserve())
  }

  private consistency(): ReadConsistency {
    return this.client.staleReads ? 'stale' : 'linearizable'
  }

  /** In MOVED mode a follower sends cluster clients to the leader instead of forwarding. */
  private movedReply(key: Buffer | undefined): Reply | null {
    if (!this.server.movedMode) return null
    const info = this.server.backend.info()
    if (info.role === 'leader') return null
    if (info.leaderRespAddr === null) return errorReply('CLUSTERDOWN The cluster is down: no leader is known')
    return errorReply(`MOVED ${key === undefined ? 0 : keySlot(key)} ${info.leaderRespAddr}`)
  }

  private runRead(spec: KvCommandSpec, args: Buffer[]): void {
    const op = spec.toOp(args)
    if (Buffer.isBuffer(op)) {
      this.queue.push(op)
      return
    }
    const consistency = this.consistency()
    const moved = consistency === 'linearizable' ? this.movedReply(args[spec.firstKey]) : null
    if (moved !== null) {
      this.queue.push(moved)
      return
    }
    this.sequencer.read(op, consistency, this.queue.reserveSlot(new CommandReply(this.server.logger, undefined, null)))
  }

  private runWrite(spec: KvCommandSpec, args: Buffer[]): void {
    const op = spec.toOp(args)
    if (Buffer.isBuffer(op)) {
      this.queue.push(op)
      return
    }
    const moved = this.movedReply(args[spec.firstKey])
    if (moved !== null) {
      this.queue.push(moved)
      return
    }
    const blocking = spec.blocking
    if (blocking === undefined) {
      // The hot path: the reply slot is the backend's target (command-reply.ts).
      const custom = spec.reply === undefined ? null : { spec, context: this.context, args }
      const reply = this.queue.reserveSlot(new CommandReply(this.server.logger, spec.firstKey > 0 ? args[spec.firstKey] : undefined, custom))
      this.sequencer.write({ ops: [op], watches: noWatches }, reply)
      return
    }
    const slot = spec.firstKey > 0 && args[spec.firstKey] !== undefined ? keySlot(args[spec.firstKey] as Buffer) : 0
    const result = this.sequencer.run('write', () => this.blockingPop(op, blocking.keys(args), blocking.timeout(args)))
    const custom = spec.reply
    this.settleWith(
      result,
      (outcome) => applyReply(outcome, (results) => (custom !== undefined && results[0]?.t !== 'error' ? custom(this.context, args) : formatResult(results[0] ?? { t: 'nil' }))),
      this.queue.reserve(),
      slot,
    )
  }

  /** A blocking pop outside MULTI: tried at once, then waited for on this node (blocking-pop.ts). */
  private async blockingPop(op: KvOp, keys: readonly Buffer[], timeoutArg: Buffer | undefined): Promise<KvApplyResult> {
    const backend = this.server.backend
    const first = await backend.write({ ops: [op], watches: [] })
    const timeoutMs = parseTimeoutMs(timeoutArg)
    // An error (a bad timeout, WRONGTYPE) or a pop that found data is the answer.
    if (!isEmptyPop(first) || typeof timeoutMs !== 'number') return first
    this.client.blocked = true
    try {
      const outcome = await waitAndPop(backend, { op, keys, timeoutMs, closed: () => this.closing })
      return outcome ?? { t: 'results', results: [NIL_ARRAY] }
    } finally {
      this.client.blocked = false
    }
  }

  private runSpecial(name: string, args: Buffer[]): void {
    switch (name) {
      case 'multi':
        if (this.client.transaction !== null) this.queue.push(errorReply('ERR MULTI calls can not be nested'))
        else {
          this.client.transaction = { queued: [], failed: false }
          this.queue.push(replyOk)
        }
        return
      case 'discard':
        if (this.client.transaction === null) this.queue.push(errorReply('ERR DISCARD without MULTI'))
        else {
          this.client.transaction = null
          this.client.watches = []
          this.queue.push(replyOk)
        }
        return
      case 'exec':
        this.exec()
        return
      case 'watch':
        this.watch(args.slice(1))
        return
      case 'unwatch':
        this.client.watches = []
        this.queue.push(replyOk)
        return
      case 'scan':
        this.scan(args)
        return
    }
    this.queue.push(errorReply(`ERR unknown command '${name}'`))
  }

  private watch(keys: Buffer[]): void {
    if (this.client.transaction !== null) {
      this.queue.push(errorReply('ERR WATCH inside MULTI is not allowed'))
      return
    }
    const moved = this.movedReply(keys[0])
    if (moved !== null && !this.client.staleReads) {
      this.queue.push(moved)
      return
    }
    const backend = this.server.backend
    const consistency = this.consistency()
    const versions = this.sequencer.run('read', () => backend.watchVersions(keys, consistency))
    const recorded = versions.then(
      (list): readonly KvWatch[] => keys.map((key, index) => ({ key, version: list[index] ?? -1 })),
      () => null,
    )
    this.client.watches.push(recorded)
    this.settleWith(versions, () => replyOk, this.queue.reserve())
  }

  private exec(): void {
    const transaction = this.client.transaction
    if (transaction === null) {
      this.queue.push(errorReply('ERR EXEC without MULTI'))
      return
    }
    this.client.transaction = null
    const watches = this.client.watches
    this.client.watches = []
    if (transaction.failed) {
      this.queue.push(execAbort)
      return
    }
    const ops: KvOp[] = []
    for (const queued of transaction.queued) if (queued.t === 'op') ops.push(queued.op)
    const moved = this.movedReply(firstKeyOf(ops))
    if (moved !== null) {
      this.queue.push(moved)
      return
    }
    const backend = this.server.backend
    const result = this.sequencer.run('write', async (): Promise<KvApplyResult> => {
      const recorded = await Promise.all(watches)
      if (recorded.includes(null)) return { t: 'watchAborted' }
      const flat = (recorded as (readonly KvWatch[])[]).flat()
      if (ops.length === 0 && flat.length === 0) return { t: 'results', results: [] }
      return backend.write({ ops, watches: flat })
    })
    this.settleWith(
      result,
      (outcome) => applyReply(outcome, (results) => execReply(transaction, results)),
      this.queue.reserve(),
    )
  }

  private scan(args: Buffer[]): void {
    const request = parseScan(args)
    if (Buffer.isBuffer(request)) {
      this.queue.push(request)
      return
    }
    const consistency = this.consistency()
    const moved = consistency === 'linearizable' ? this.movedReply(undefined) : null
    if (moved !== null) {
      this.queue.push(moved)
      return
    }
    const backend = this.server.backend
    const page = this.sequencer.run('read', async (): Promise<KvScanResult> => {
      const result = await backend.scan(request.cursor, request.match, request.count, consistency)
      if (result.t === 'error' || request.type === null || result.keys.length === 0) return result
      // TYPE filter: the page's keys' types, read locally right after the page (which had the barrier).
      const types = await backend.read(result.keys.map((key) => ({ t: 'type', key })), 'stale')
      const keys = result.keys.filter((_, i) => { const type = types[i]; return type?.t === 'status' && type.value === request.type })
      return { t: 'page', cursor: result.cursor, keys }
    })
    this.settleWith(
      page,
      (result) => {
        if (result.t === 'error') return errorReply(`${result.code} ${result.message}`)
        return array([bulk(result.cursor), bulkArray(result.keys)])
      },
      this.queue.reserve(),
    )
  }
}

function asReply(reply: Reply): Reply {
  return reply
}

function firstKeyOf(ops: readonly KvOp[]): Buffer | undefined {
  for (const op of ops) {
    if ('key' in op) return op.key
    if ('keys' in op) return op.keys[0]
    if ('pairs' in op) return op.pairs[0]?.key
    if ('args' in op) return op.args[0]
  }
  return undefined
}

/** EXEC's array: each queued command's reply in order, op results taken in turn. */
function execReply(transaction: Transaction, results: readonly KvOpResult[]): Reply {
  const replies: Reply[] = []
  let next = 0
  for (const queued of transaction.queued) {
    if (queued.t === 'op') {
      const result = results[next++] ?? { t: 'nil' }
      replies.push(queued.reply !== undefined && result.t !== 'error' ? queued.reply() : formatResult(result))
    }
    else if (queued.t === 'fixed') replies.push(queued.reply)
    else replies.push(queued.run())
  }
  return array(replies)
}
