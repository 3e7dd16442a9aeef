// The change feeds' gauges and counters for /metrics (prom-client), read from
// the hub when scraped. Kept next to the hub so a test can scrape them from a
// hub alone, without a node around it.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { FeedHub } from './feed-hub.js'

export function registerFeedMetrics(registry: Registry, feeds: FeedHub): void {
  const registers = [registry]
  new Gauge({ name: 'raftkv_pubsub_subscribers', help: 'RESP connections in subscriber mode', registers, collect() { this.set(feeds.subscriberCount) } })
  new Gauge({ name: 'raftkv_watchers', help: 'Open /watch streams', registers, collect() { this.set(feeds.watchers.size) } })
  new Counter({ name: 'raftkv_pubsub_messages_sent_total', help: 'Pub/Sub messages (PUBLISH and keyspace notifications) handed to subscribers', registers, collect() { this.reset(); this.inc(feeds.pubsub.messagesSent) } })
  new Counter({ name: 'raftkv_watch_events_sent_total', help: 'Keyspace events handed to /watch streams', registers, collect() { this.reset(); this.inc(feeds.watchers.eventsSent) } })
  new Counter({ name: 'raftkv_slow_consumer_disconnects_total', help: 'Subscribers and watchers disconnected for going over their output limit', labelNames: ['kind'], registers, collect() {
    this.reset()
    this.inc({ kind: 'subscriber' }, feeds.counters.slowSubscriberDisconnects)
    this.inc({ kind: 'watcher' }, feeds.counters.slowWatcherDisconnects)
  } })
  new Counter({ name: 'raftkv_feed_refusals_total', help: 'SUBSCRIBE and /watch requests refused because SUBSCRIBERS_MAX or WATCHERS_MAX was reached', labelNames: ['kind'], registers, collect() {
    this.reset()
    this.inc({ kind: 'subscriber' }, feeds.counters.subscribersRefused)
    this.inc({ kind: 'watcher' }, feeds.counters.watchersRefused)
  } })
  new Gauge({ name: 'raftkv_watch_history_events', help: 'Keyspace events held for /watch resumes', registers, collect() { this.set(feeds.history.size) } })
}
