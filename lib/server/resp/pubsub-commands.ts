// PUBLISH, SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE and PUBSUB, with
// Redis's RESP2 subscriber mode: once a connection holds a subscription it
// may only (un)subscribe, PING (answered as an array) and QUIT, and messages
// arrive on it between replies. PUBLISH goes through the Raft log (a
// `publish` op), so every subscriber on every node sees one order; its reply
// is the number of subscriptions on THIS node the message reaches (see README).
import type { FeedHub } from '../../feeds/feed-hub.js'
import type { Subscriber } from '../../feeds/pubsub-registry.js'
import type { KvOp } from '../../kv/command.js'
import type { CommandContext, KvCommandSpec, LocalCommandSpec } from './command-types.js'
import { localSpec, wrongArity } from './connection-commands.js'
import { array, bulk, bulkArray, errorReply, integer, type Reply } from './reply-writer.js'

/** What one connection is subscribed to; it is the registry's Subscriber for that connection. */
export class ClientSubscriptions implements Subscriber {
  readonly channels = new Set<string>()
  readonly patterns = new Set<string>()

  constructor(
    private readonly hub: FeedHub,
    /** Queues bytes on the connection, behind replies already queued. */
    readonly send: (reply: Buffer) => void,
  ) {}

  get count(): number {
    return this.channels.size + this.patterns.size
  }

  /** The connection closed: forget everything, and that it was a subscriber. */
  dropAll(): void {
    const wasSubscriber = this.count > 0
    for (const channel of this.channels) this.hub.pubsub.unsubscribe(this, channel)
    for (const pattern of this.patterns) this.hub.pubsub.punsubscribe(this, pattern)
    this.channels.clear()
    this.patterns.clear()
    if (wasSubscriber) this.hub.subscriberCount--
  }

  change(kind: 'subscribe' | 'unsubscribe' | 'psubscribe' | 'punsubscribe', name: string): void {
    const before = this.count
    const registry = this.hub.pubsub
    switch (kind) {
      case 'subscribe': if (!this.channels.has(name)) { this.channels.add(name); registry.subscribe(this, name) } break
      case 'unsubscribe': if (this.channels.delete(name)) registry.unsubscribe(this, name); break
      case 'psubscribe': if (!this.patterns.has(name)) { this.patterns.add(name); registry.psubscribe(this, name) } break
      case 'punsubscribe': if (this.patterns.delete(name)) registry.punsubscribe(this, name); break
    }
    if (before === 0 && this.count > 0) this.hub.subscriberCount++
    else if (before > 0 && this.count === 0) this.hub.subscriberCount--
  }
}

const noFeeds = errorReply('ERR Pub/Sub is not available on this server')

const tooManySubscribers = errorReply('ERR max number of subscribers reached')
const pongArray = array([bulk('pong'), bulk('')])

/** Commands a connection in subscriber mode may still send (Redis 7's RESP2 rule). */
const allowedWhenSubscribed = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ping', 'quit', 'reset'])

/**
 * For a connection in subscriber mode: the reply to a command it may not
 * send there, PING's array reply, or null to run the command as usual.
 */
export function subscriberModeReply(subscriptions: ClientSubscriptions | null, name: string, args: readonly Buffer[]): Reply | null {
  if (subscriptions === null || subscriptions.count === 0) return null
  if (name === 'ping') return args.length > 2 ? null : args.length === 2 ? array([bulk('pong'), bulk(args[1] as Buffer)]) : pongArray
  if (allowedWhenSubscribed.has(name)) return null
  const shown = name === 'pubsub' && args[1] !== undefined ? `pubsub|${args[1].subarray(0, 32).toString('latin1').toLowerCase()}` : name
  return errorReply(`ERR Can't execute '${shown}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`)
}

function subscribeRun(kind: 'subscribe' | 'psubscribe') {
  return (ctx: CommandContext, args: readonly Buffer[]): Reply => {
    const subs = ctx.subscriptions()
    if (subs === null) return noFeeds
    const hub = ctx.server.feeds as FeedHub
    if (subs.count === 0 && hub.subscriberCount >= hub.limits.subscribersMax) {
      hub.counters.subscribersRefused++
      return tooManySubscribers
    }
    const replies: Reply[] = []
    for (const name of args.slice(1)) {
      subs.change(kind, name.toString('latin1'))
      replies.push(array([bulk(kind), bulk(name), integer(subs.count)]))
    }
    return Buffer.concat(replies)
  }
}

function unsubscribeRun(kind: 'unsubscribe' | 'punsubscribe') {
  return (ctx: CommandContext, args: readonly Buffer[]): Reply => {
    const subs = ctx.subscriptions()
    if (subs === null) return noFeeds
    const held = kind === 'unsubscribe' ? subs.channels : subs.patterns
    const names = args.length > 1 ? args.slice(1).map((a) => a.toString('latin1')) : [...held]
    // Without arguments and nothing held, Redis still answers once, with a nil name.
    if (names.length === 0) return array([bulk(kind), bulk(null), integer(subs.count)])
    const replies: Reply[] = []
    for (const name of names) {
      subs.change(kind, name)
      replies.push(array([bulk(kind), bulk(Buffer.from(name, 'latin1')), integer(subs.count)]))
    }
    return Buffer.concat(replies)
  }
}

function pubsubRun(ctx: CommandContext, args: readonly Buffer[]): Reply {
  const hub = ctx.server.feeds
  if (hub === null) return noFeeds
  const sub = (args[1] as Buffer).toString('latin1').toLowerCase()
  switch (sub) {
    case 'channels': {
      if (args.length > 3) return wrongArity('pubsub|channels')
      const pattern = args[2] === undefined ? null : args[2].toString('latin1')
      return bulkArray(hub.pubsub.activeChannels(pattern).map((c) => Buffer.from(c, 'latin1')))
    }
    case 'numsub': {
      const replies: Reply[] = []
      for (const channel of args.slice(2)) replies.push(bulk(channel), integer(hub.pubsub.channelSubscribers(channel.toString('latin1'))))
      return array(replies)
    }
    case 'numpat':
      return args.length === 2 ? integer(hub.pubsub.patternCount()) : wrongArity('pubsub|numpat')
    case 'help':
      return bulkArray(['PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'CHANNELS [<pattern>]', 'NUMPAT', 'NUMSUB [<channel> ...]', 'HELP'])
    default:
      return errorReply(`ERR unknown subcommand '${(args[1] as Buffer).subarray(0, 128).toString()}'. Try PUBSUB HELP.`)
  }
}

export const pubsubCommands: readonly LocalCommandSpec[] = [
  localSpec('subscribe', { arity: -2, flags: ['loading', 'stale'], group: 'pubsub', summary: 'Listens for messages published to channels (published on any node, in log order).', since: '2.0.0', run: subscribeRun('subscribe') }),
  localSpec('psubscribe', { arity: -2, flags: ['loading', 'stale'], group: 'pubsub', summary: 'Listens for messages published to channels that match one or more patterns.', since: '2.0.0', run: subscribeRun('psubscribe') }),
  localSpec('unsubscribe', { arity: -1, flags: ['loading', 'stale'], group: 'pubsub', summary: 'Stops listening to messages posted to channels.', since: '2.0.0', run: unsubscribeRun('unsubscribe') }),
  localSpec('punsubscribe', { arity: -1, flags: ['loading', 'stale'], group: 'pubsub', summary: 'Stops listening to messages published to channels that match one or more patterns.', since: '2.0.0', run: unsubscribeRun('punsubscribe') }),
  localSpec('pubsub', { arity: -2, flags: ['loading', 'stale'], group: 'pubsub', summary: 'Inspects the state of the Pub/Sub subsystem on this node.', since: '2.8.0', subcommands: ['channels', 'help', 'numpat', 'numsub'], run: pubsubRun }),
]

/** PUBLISH: a write (one log entry); the reply counts this node's receivers once the write is done. */
export const publishCommand: KvCommandSpec = {
  name: 'publish',
  kind: 'write',
  arity: 3,
  flags: ['write', 'fast', 'loading', 'stale'],
  firstKey: 0,
  lastKey: 0,
  keyStep: 0,
  group: 'pubsub',
  summary: 'Posts a message to a channel, through the Raft log: subscribers on every node see it, in one order.',
  since: '2.0.0',
  toOp: (args): KvOp => ({ t: 'publish', channel: args[1] as Buffer, message: args[2] as Buffer }),
  reply: (ctx, args) => integer(ctx.server.feeds?.pubsub.receivers(args[1] as Buffer) ?? 0),
}
