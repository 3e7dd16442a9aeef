// Tuning variables parse to what the README's configuration table says, and
// a bad value stops start-up with one line naming the variable.
import t from 'tap'
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
