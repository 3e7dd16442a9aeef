// The bounds of the change feeds on one node; each is a tuning variable
// (node-config.ts) and a row of the README's limits table.

export interface FeedLimits {
  /** RESP clients in subscriber mode at once; one more SUBSCRIBE is refused. */
  readonly subscribersMax: number
  /**
   * Message bytes waiting for one subscriber before it is disconnected (Redis's
   * client-output-buffer-limit pubsub hard limit, 32 MB).
   */
  readonly subscriberOutputBytesMax: number
  /** /watch streams at once; one more is answered 503. */
  readonly watchersMax: number
  /** Event bytes waiting for one watcher before its stream is closed (it resumes with Last-Event-ID). */
  readonly watcherOutputBytesMax: number
  /** Keyspace events kept for watchers that resume (WATCH_HISTORY_ENTRIES). */
  readonly historyEventsMax: number
  /** The same history bounded by key and value bytes. */
  readonly historyBytesMax: number
  /** A comment line on an idle /watch stream this often, so proxies keep it open. */
  readonly heartbeatMs: number
}

export const feedLimitsDefault: FeedLimits = Object.freeze({
  subscribersMax: 1000,
  subscriberOutputBytesMax: 32 * 1024 * 1024,
  watchersMax: 1000,
  watcherOutputBytesMax: 32 * 1024 * 1024,
  historyEventsMax: 100_000,
  historyBytesMax: 64 * 1024 * 1024,
  heartbeatMs: 15_000,
})
