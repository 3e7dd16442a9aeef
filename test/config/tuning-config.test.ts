// Tuning variables parse to what the README's configuration table says, and
// a bad value stops start-up with one line naming the variable.
import t from 'tap'
import { feedLimitsDefault } from '../../lib/config/feed-limits.js'
import { ConfigError, parseNodeConfig, tuningDefaults } from '../../lib/config/node-config.js'
import { minimalEnv } from './fixtures/minimal-env.js'

const base = minimalEnv

t.test('snapshot and segment defaults match the documented table', async (t) => {
  const c = parseNodeConfig(base)
  t.equal(c.snapshotEntries, tuningDefaults.SNAPSHOT_ENTRIES)
  t.equal(c.snapshotEntries, 100_000)
  t.equal(c.snapshotLogBytes, 256 * 1024 * 1024)
  t.equal(c.snapshotLogPercent, 50)
  t.equal(c.logCacheBytes, 8 * 1024 * 1024)
  t.equal(c.preallocateSegments, true)
})

t.test('LOG_CACHE_BYTES is read within its bounds; a bad value is refused with the variable named', async (t) => {
  t.equal(parseNodeConfig({ ...base, LOG_CACHE_BYTES: '1048576' }).logCacheBytes, 1024 * 1024)
  t.throws(() => parseNodeConfig({ ...base, LOG_CACHE_BYTES: '100' }), new ConfigError('LOG_CACHE_BYTES must be between 4096 and 68719476736 (got 100)'))
  t.throws(() => parseNodeConfig({ ...base, LOG_CACHE_BYTES: 'lots' }), new ConfigError('LOG_CACHE_BYTES must be an integer (got "lots")'))
})

t.test('SNAPSHOT_LOG_PERCENT is read within its bounds; one past 10000 or not an integer is refused with the variable named', async (t) => {
  t.equal(parseNodeConfig({ ...base, SNAPSHOT_LOG_PERCENT: '50' }).snapshotLogPercent, 50)
  t.throws(() => parseNodeConfig({ ...base, SNAPSHOT_LOG_PERCENT: '10001' }), new ConfigError('SNAPSHOT_LOG_PERCENT must be between 0 and 10000 (got 10001)'))
  t.throws(() => parseNodeConfig({ ...base, SNAPSHOT_LOG_PERCENT: 'half' }), new ConfigError('SNAPSHOT_LOG_PERCENT must be an integer (got "half")'))
})

t.test('SEGMENT_PREALLOCATE=no turns preallocation off', async (t) => {
  t.equal(parseNodeConfig({ ...base, SEGMENT_PREALLOCATE: 'no' }).preallocateSegments, false)
})

t.test('a bad SEGMENT_PREALLOCATE or SNAPSHOT_LOG_BYTES is refused with the variable named', async (t) => {
  t.throws(() => parseNodeConfig({ ...base, SEGMENT_PREALLOCATE: 'maybe' }), new ConfigError('SEGMENT_PREALLOCATE must be yes or no (got "maybe")'))
  t.throws(() => parseNodeConfig({ ...base, SNAPSHOT_LOG_BYTES: '10' }), { name: 'ConfigError', message: /SNAPSHOT_LOG_BYTES/ })
})

t.test('HIGH_WATER_FILE defaults to beside DATA_DIR, may be set or turned off, and is refused inside DATA_DIR', async (t) => {
  t.equal(parseNodeConfig(base).highWaterFile, './data/n1.high-water')
  t.equal(parseNodeConfig({ ...base, DATA_DIR: './data/n1/' }).highWaterFile, './data/n1.high-water', 'a trailing slash does not put it inside')
  t.equal(parseNodeConfig({ ...base, HIGH_WATER_FILE: '/var/lib/raftkv/n1.high-water' }).highWaterFile, '/var/lib/raftkv/n1.high-water')
  t.equal(parseNodeConfig({ ...base, HIGH_WATER_FILE: 'off' }).highWaterFile, null)
  t.throws(() => parseNodeConfig({ ...base, HIGH_WATER_FILE: './data/n1/hw' }), new ConfigError('HIGH_WATER_FILE must be outside DATA_DIR (a copy of the directory would carry it): got "./data/n1/hw"'))
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
