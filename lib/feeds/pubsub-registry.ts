// Who is subscribed to what on this node: channels and patterns to their
// subscribers, and the encoded messages handed to each. Delivery is a
// synchronous hand-off to each subscriber's `send`, which only queues bytes
// (the connection bounds them and drops a subscriber that falls behind), so a
// slow subscriber costs a publisher one queue append, never a wait.
import { globMatch } from '../kv/glob.js'

/** One subscribed client, as the registry sees it. */
export interface Subscriber {
  /** Queues an encoded message; must not throw or block. */
  send(reply: Buffer): void
}

const crlf = Buffer.from('\r\n')
const messageHeader = Buffer.from('*3\r\n$7\r\nmessage\r\n')
const pmessageHeader = Buffer.from('*4\r\n$8\r\npmessage\r\n')

function bulkParts(value: Buffer): Buffer[] {
  return [Buffer.from(`$${value.length}\r\n`), value, crlf]
}

/** RESP2 `message`: [message, channel, payload]. */
export function encodeMessage(channel: Buffer, message: Buffer): Buffer {
  return Buffer.concat([messageHeader, ...bulkParts(channel), ...bulkParts(message)])
}

/** RESP2 `pmessage`: [pmessage, pattern, channel, payload]. */
export function encodePmessage(pattern: Buffer, channel: Buffer, message: Buffer): Buffer {
  return Buffer.concat([pmessageHeader, ...bulkParts(pattern), ...bulkParts(channel), ...bulkParts(message)])
}

export class PubSubRegistry {
  /** Channel (latin1, one char per byte) → subscribers; a channel with none is removed. */
  private readonly channels = new Map<string, Set<Subscriber>>()
  private readonly patterns = new Map<string, Set<Subscriber>>()
  /** Subscriptions held, channels and patterns together (a client with both counts twice). */
  private subscriptionCount = 0
  /** Messages handed to subscribers since start (the events-sent metric). */
  messagesSent = 0

  /** True when nobody on this node is subscribed to anything: publishing is then a no-op here. */
  get empty(): boolean {
    return this.subscriptionCount === 0
  }

  get subscriptions(): number {
    return this.subscriptionCount
  }

  subscribe(sub: Subscriber, channel: string): void {
    this.subscriptionCount += add(this.channels, channel, sub)
  }

  unsubscribe(sub: Subscriber, channel: string): void {
    this.subscriptionCount -= remove(this.channels, channel, sub)
  }

  psubscribe(sub: Subscriber, pattern: string): void {
    this.subscriptionCount += add(this.patterns, pattern, sub)
  }

  punsubscribe(sub: Subscriber, pattern: string): void {
    this.subscriptionCount -= remove(this.patterns, pattern, sub)
  }

  /**
   * Hands `message` to every subscriber of `channel` and of every matching
   * pattern (a client subscribed both ways gets it twice, as in Redis).
   * Returns how many deliveries were made.
   */
  publish(channel: Buffer, message: Buffer): number {
    if (this.subscriptionCount === 0) return 0
    const name = channel.toString('latin1')
    let delivered = 0
    const direct = this.channels.get(name)
    if (direct !== undefined) {
      const encoded = encodeMessage(channel, message)
      for (const sub of direct) sub.send(encoded)
      delivered += direct.size
    }
    for (const [pattern, subs] of this.patterns) {
      if (!globMatch(pattern, name)) continue
      const encoded = encodePmessage(Buffer.from(pattern, 'latin1'), channel, message)
      for (const sub of subs) sub.send(encoded)
      delivered += subs.size
    }
    this.messagesSent += delivered
    return delivered
  }

  /** How many subscriptions a PUBLISH to `channel` would reach now (PUBLISH's reply). */
  receivers(channel: Buffer): number {
    if (this.subscriptionCount === 0) return 0
    const name = channel.toString('latin1')
    let count = this.channels.get(name)?.size ?? 0
    for (const [pattern, subs] of this.patterns) if (globMatch(pattern, name)) count += subs.size
    return count
  }

  /** PUBSUB CHANNELS [pattern]: channels with at least one subscriber. */
  activeChannels(pattern: string | null): string[] {
    const out: string[] = []
    for (const name of this.channels.keys()) if (pattern === null || globMatch(pattern, name)) out.push(name)
    return out
  }

  /** PUBSUB NUMSUB: subscribers of one channel (patterns not counted, as in Redis). */
  channelSubscribers(channel: string): number {
    return this.channels.get(channel)?.size ?? 0
  }

  /** Channels with at least one subscriber (INFO's pubsub_channels). */
  channelCount(): number {
    return this.channels.size
  }

  /** PUBSUB NUMPAT: distinct patterns subscribed (Redis 7 counts patterns, not clients). */
  patternCount(): number {
    return this.patterns.size
  }
}

function add(map: Map<string, Set<Subscriber>>, name: string, sub: Subscriber): number {
  let subs = map.get(name)
  if (subs === undefined) {
    subs = new Set()
    map.set(name, subs)
  }
  if (subs.has(sub)) return 0
  subs.add(sub)
  return 1
}

function remove(map: Map<string, Set<Subscriber>>, name: string, sub: Subscriber): number {
  const subs = map.get(name)
  if (subs === undefined || !subs.delete(sub)) return 0
  if (subs.size === 0) map.delete(name)
  return 1
}
