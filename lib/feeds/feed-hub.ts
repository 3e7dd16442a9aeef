// The change feeds of one node: the state machine's event sink
// (kv/key-events.ts) fanned out to PUBLISH/SUBSCRIBE, keyspace notifications,
// the /watch history and the open /watch streams. Everything here runs
// synchronously inside apply, so it only queues: subscribers' bytes go to
// their connection's bounded buffer, watchers' events to a batch flushed
// once per turn.
import type { KvEventClass, KvEventSink } from '../kv/key-events.js'
import { storedValueOfRange, type StoredValue } from '../kv/keyspace.js'
import type { Logger } from '../util/logger.js'
import { feedLimitsDefault, type FeedLimits } from '../config/feed-limits.js'
import { NOTIFY_NONE, notifies, parseNotifyFlags, type NotifyFlags } from './notify-flags.js'
import { PubSubRegistry } from './pubsub-registry.js'
import { WatchHistory, type AppliedEntryReader } from './watch-history.js'
import { WatchRegistry } from './watch-registry.js'

const keyspacePrefix = Buffer.from('__keyspace@0__:')
const keyeventPrefix = Buffer.from('__keyevent@0__:')

/** Counters for /metrics and INFO. */
export interface FeedCounters {
  /** Subscribers disconnected because their output buffer went over the limit. */
  slowSubscriberDisconnects: number
  /** Watch streams closed because their output went over the limit. */
  slowWatcherDisconnects: number
  /** SUBSCRIBEs refused because SUBSCRIBERS_MAX connections were already subscribers. */
  subscribersRefused: number
  /** /watch requests refused (503) because WATCHERS_MAX streams were already open. */
  watchersRefused: number
}

export class FeedHub implements KvEventSink {
  readonly limits: FeedLimits
  readonly pubsub = new PubSubRegistry()
  readonly watchers = new WatchRegistry()
  readonly history: WatchHistory
  readonly counters: FeedCounters = { slowSubscriberDisconnects: 0, slowWatcherDisconnects: 0, subscribersRefused: 0, watchersRefused: 0 }
  /** RESP connections in subscriber mode (bounded by limits.subscribersMax). */
  subscriberCount = 0
  /** notify-keyspace-events; may change at run time (CONFIG SET). */
  notifyFlags: NotifyFlags

  constructor(
    startIndex: number,
    readonly logger: Logger,
    options: { limits?: Partial<FeedLimits>; notifyFlags?: NotifyFlags; readEntry?: AppliedEntryReader } = {},
  ) {
    this.limits = Object.freeze({ ...feedLimitsDefault, ...options.limits })
    this.notifyFlags = options.notifyFlags ?? NOTIFY_NONE
    this.history = new WatchHistory(this.limits.historyEventsMax, this.limits.historyBytesMax, startIndex, options.readEntry ?? null)
  }

  keyEvent(index: number, event: string, typeClass: KvEventClass, key: string, value: StoredValue | null): void {
    this.history.append(index, event, typeClass, key, value)
    // An event object only when a stream is open to take it.
    if (this.watchers.size > 0) this.watchers.offer({ index, op: event, typeClass, key, value })
    this.notifySubscribers(event, typeClass, key)
  }

  keyEventBytes(index: number, event: string, typeClass: KvEventClass, key: string, bytes: Buffer, start: number, end: number, fromEntry: boolean): void {
    if (fromEntry && this.history.readsEntries) this.history.appendFromEntry(index, event, typeClass, key.length, end - start)
    else this.history.appendBytes(index, event, typeClass, key, bytes, start, end)
    // A string only when a stream is open to take it.
    if (this.watchers.size > 0) this.watchers.offer({ index, op: event, typeClass, key, value: storedValueOfRange(bytes, start, end) })
    this.notifySubscribers(event, typeClass, key)
  }

  /** Keyspace notifications for one event, when someone subscribed and the flags ask for its class. */
  private notifySubscribers(event: string, typeClass: KvEventClass, key: string): void {
    if (this.pubsub.empty || !notifies(this.notifyFlags, typeClass)) return
    // notify.c: the keyspace channel carries the event name, the keyevent channel the key.
    const keyBytes = Buffer.from(key, 'latin1')
    const eventBytes = Buffer.from(event, 'latin1')
    if (this.notifyFlags.keyspace) this.pubsub.publish(Buffer.concat([keyspacePrefix, keyBytes]), eventBytes)
    if (this.notifyFlags.keyevent) this.pubsub.publish(Buffer.concat([keyeventPrefix, eventBytes]), keyBytes)
  }

  /**
   * A snapshot at `snapshotIndex` is about to compact the log: the index
   * after which the history still needs entries (the SETs it keeps as their
   * entry's index). It never asks for more than WATCH_HISTORY_ENTRIES entries
   * before the snapshot: events older than that are dropped, so a history
   * that stops moving (only PUBLISH, or writes that change nothing) cannot
   * keep the log on disk growing.
   */
  logNeededAfter(snapshotIndex: number): number {
    const history = this.history
    if (history.entryEventCount === 0) return snapshotIndex
    const floor = snapshotIndex - this.limits.historyEventsMax
    // Raises the horizon to at least `floor`.
    history.evictThrough(floor)
    return history.entryEventCount === 0 ? snapshotIndex : history.horizon
  }

  message(_index: number, channel: Buffer, message: Buffer): void {
    this.pubsub.publish(channel, message)
  }

  /** CONFIG SET notify-keyspace-events, applied through the log: every node follows it. */
  config(_index: number, name: string, value: string): void {
    if (name !== 'notify-keyspace-events') return
    const flags = parseNotifyFlags(value)
    if (flags !== null) this.notifyFlags = flags
  }

  reset(index: number): void {
    this.history.reset(index)
    this.logger.info({ index, watchers: this.watchers.size }, 'state replaced by a snapshot: watch history restarts here, open watch streams end')
    this.watchers.endAll('the node installed a snapshot; resume from your last event id')
  }
}
