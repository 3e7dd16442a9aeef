// The bounds of the change feeds on one node (lib/feeds): each is a tuning
// variable and a row of the README's limits table. The table below is the
// one place each is written: FeedHub's defaults and NodeConfig's parsing
// both come from it.
import { intDefaults, type IntVariables } from './int-variables.js'

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

const MiB = 1024 * 1024

export const feedLimitVariables: IntVariables<FeedLimits> = Object.freeze({
  subscribersMax: { name: 'SUBSCRIBERS_MAX', default: 1000, min: 0, max: 1_000_000 },
  subscriberOutputBytesMax: { name: 'SUBSCRIBER_OUTPUT_BYTES_MAX', default: 32 * MiB, min: 1024, max: 4096 * MiB },
  watchersMax: { name: 'WATCHERS_MAX', default: 1000, min: 0, max: 1_000_000 },
  watcherOutputBytesMax: { name: 'WATCHER_OUTPUT_BYTES_MAX', default: 32 * MiB, min: 1024, max: 4096 * MiB },
  historyEventsMax: { name: 'WATCH_HISTORY_ENTRIES', default: 100_000, min: 1, max: 100_000_000 },
  historyBytesMax: { name: 'WATCH_HISTORY_BYTES', default: 64 * MiB, min: 1024, max: 64 * 1024 * MiB },
  heartbeatMs: { name: 'WATCH_HEARTBEAT_MS', default: 15_000, min: 10, max: 3_600_000 },
})

export const feedLimitsDefault: FeedLimits = intDefaults(feedLimitVariables)
