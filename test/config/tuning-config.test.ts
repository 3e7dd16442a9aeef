// Tuning variables parse to what the README's configuration table says, and
// a bad value stops start-up with one line naming the variable.
import t from 'tap'
import { feedLimitsDefault } from '../../lib/config/feed-limits.js'
import { ConfigError, parseNodeConfig, tuningDefaults } from '../../lib/config/node-config.js'

const base = {
  NODE_ID: 'n1',
  RAFT_ADDR: '127.0.0.1:7001',
  RESP_ADDR: '127.0.0.1:6381',
  HTTP_ADDR: '127.0.0.1:8001',
  DATA_DIR: './data/n1',
  JOIN: '',
  CLUSTER_SECRET: 'tuning-config-secret',
}

t.test('snapshot and segment defaults match the documented table', async (t) => {
  const c = parseNodeConfig(base)
  t.equal(c.snapshotEntries, tuningDefaults.SNAPSHOT_ENTRIES)
  t.equal(c.snapshotEntries, 100_000)
  t.equal(c.snapshotLogBytes, 256 * 1024 * 1024)
  t.equal(c.preallocateSegments, true)
})

t.test('SEGMENT_PREALLOCATE=no turns preallocation off', async (t) => {
  t.equal(parseNodeConfig({ ...base, SEGMENT_PREALLOCATE: 'no' }).preallocateSegments, false)
})

t.test('a bad SEGMENT_PREALLOCATE or SNAPSHOT_LOG_BYTES is refused with the variable named', async (t) => {
  t.throws(() => parseNodeConfig({ ...base, SEGMENT_PREALLOCATE: 'maybe' }), new ConfigError('SEGMENT_PREALLOCATE must be yes or no (got "maybe")'))
  t.throws(() => parseNodeConfig({ ...base, SNAPSHOT_LOG_BYTES: '10' }), { name: 'ConfigError', message: /SNAPSHOT_LOG_BYTES/ })
})

t.test('the change feeds\' limits come from one table: the documented defaults, each variable read and range-checked by name', async (t) => {
  const MiB = 1024 * 1024
  const documented = { subscribersMax: 1000, subscriberOutputBytesMax: 32 * MiB, watchersMax: 1000, watcherOutputBytesMax: 32 * MiB, historyEventsMax: 100_000, historyBytesMax: 64 * MiB, heartbeatMs: 15_000 }
  t.same(parseNodeConfig(base).feedLimits, documented)
  t.same(feedLimitsDefault, documented, 'a FeedHub built without a config has the same bounds')
  const env = { SUBSCRIBERS_MAX: '5', SUBSCRIBER_OUTPUT_BYTES_MAX: '2048', WATCHERS_MAX: '0', WATCHER_OUTPUT_BYTES_MAX: '4096', WATCH_HISTORY_ENTRIES: '10', WATCH_HISTORY_BYTES: '8192', WATCH_HEARTBEAT_MS: '500' }
  t.same(parseNodeConfig({ ...base, ...env }).feedLimits, { subscribersMax: 5, subscriberOutputBytesMax: 2048, watchersMax: 0, watcherOutputBytesMax: 4096, historyEventsMax: 10, historyBytesMax: 8192, heartbeatMs: 500 })
  t.throws(() => parseNodeConfig({ ...base, WATCHERS_MAX: 'many' }), new ConfigError('WATCHERS_MAX must be an integer (got "many")'))
  t.throws(() => parseNodeConfig({ ...base, SUBSCRIBER_OUTPUT_BYTES_MAX: '10' }), new ConfigError('SUBSCRIBER_OUTPUT_BYTES_MAX must be between 1024 and 4294967296 (got 10)'))
})
