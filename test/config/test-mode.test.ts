// The test-only switches (RAFTKV_UNSAFE_STALE_READS, RAFTKV_TRACK_SYNCED_LENGTHS)
// cannot be turned on by a production config: each needs RAFTKV_TEST_MODE=yes,
// which a node refuses on a non-loopback address; when one is on, INFO,
// /status and /metrics say so.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startNode } from '../../lib/app/start-node.js'
import { ConfigError, parseNodeConfig, unsafeSwitchesOn } from '../../lib/config/node-config.js'
import { silentLogger } from '../../lib/util/logger.js'
import { freePort } from '../cluster/process-cluster.js'
import { RawClient } from '../server/helpers.js'
import { minimalEnv } from './fixtures/minimal-env.js'

const base = minimalEnv

t.test('an unsafe switch without RAFTKV_TEST_MODE=yes is refused with one line naming both', async (t) => {
  t.throws(() => parseNodeConfig({ ...base, RAFTKV_UNSAFE_STALE_READS: 'yes' }), new ConfigError('RAFTKV_UNSAFE_STALE_READS is test-only: set RAFTKV_TEST_MODE=yes as well (refused on non-loopback addresses)'))
  t.throws(() => parseNodeConfig({ ...base, RAFTKV_TRACK_SYNCED_LENGTHS: 'yes' }), { name: 'ConfigError', message: /RAFTKV_TRACK_SYNCED_LENGTHS is test-only/ })
  t.throws(() => parseNodeConfig({ ...base, RAFTKV_UNSAFE_STALE_READS: 'yes', RAFTKV_TRACK_SYNCED_LENGTHS: 'yes', RAFTKV_TEST_MODE: 'no' }), { name: 'ConfigError', message: /RAFTKV_UNSAFE_STALE_READS and RAFTKV_TRACK_SYNCED_LENGTHS are test-only/ })
})

t.test('RAFTKV_TEST_MODE=yes is refused when any listener is not on loopback', async (t) => {
  const on = { RAFTKV_TEST_MODE: 'yes', RAFTKV_UNSAFE_STALE_READS: 'yes', REQUIREPASS: 'pw' }
  t.throws(() => parseNodeConfig({ ...base, ...on, RAFT_ADDR: '10.0.0.5:7001' }), new ConfigError('RAFTKV_TEST_MODE=yes is refused: RAFT_ADDR 10.0.0.5 is not a loopback address'))
  t.throws(() => parseNodeConfig({ ...base, ...on, RESP_ADDR: '0.0.0.0:6381' }), { name: 'ConfigError', message: /RESP_ADDR 0\.0\.0\.0 is not a loopback/ })
  t.throws(() => parseNodeConfig({ ...base, ...on, HTTP_ADDR: '192.168.1.2:8001' }), { name: 'ConfigError', message: /HTTP_ADDR 192\.168\.1\.2 is not a loopback/ })
  t.throws(() => parseNodeConfig({ ...base, RAFTKV_TEST_MODE: 'yes', RAFT_ADDR: '10.0.0.5:7001' }), { name: 'ConfigError' }, 'test mode alone is refused there too')
})

t.test('with RAFTKV_TEST_MODE=yes on loopback the switches take effect, and none is on by default', async (t) => {
  t.same(unsafeSwitchesOn(parseNodeConfig(base)), [])
  const c = parseNodeConfig({ ...base, RAFTKV_TEST_MODE: 'yes', RAFTKV_UNSAFE_STALE_READS: 'yes', RAFTKV_TRACK_SYNCED_LENGTHS: 'yes' })
  t.equal(c.testMode, true)
  t.same(unsafeSwitchesOn(c), ['RAFTKV_UNSAFE_STALE_READS', 'RAFTKV_TRACK_SYNCED_LENGTHS'])
})

t.test('a node with an unsafe switch on says so in INFO, /status and /metrics; a normal node says none', async (t) => {
  for (const unsafe of [true, false]) {
    const root = mkdtempSync(join(tmpdir(), 'raftkv-testmode-'))
    const respPort = await freePort()
    const httpPort = await freePort()
    const config = parseNodeConfig({
      ...base,
      RAFT_ADDR: `127.0.0.1:${await freePort()}`,
      RESP_ADDR: `127.0.0.1:${respPort}`,
      HTTP_ADDR: `127.0.0.1:${httpPort}`,
      DATA_DIR: join(root, 'n1'),
      ...(unsafe ? { RAFTKV_TEST_MODE: 'yes', RAFTKV_UNSAFE_STALE_READS: 'yes' } : {}),
    })
    const node = await startNode(config, silentLogger(), { processMetrics: false })
    try {
      const client = await RawClient.connect(respPort, t)
      const info = String(await client.command('INFO', 'raft'))
      const status = (await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()) as { unsafeSwitches: string[] }
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
      client.destroy()
      if (unsafe) {
        t.match(info, /\r\nraft_unsafe_switches:RAFTKV_UNSAFE_STALE_READS\r\n/, 'INFO raft names the switch')
        t.same(status.unsafeSwitches, ['RAFTKV_UNSAFE_STALE_READS'], '/status names it')
        t.match(metrics, /raftkv_unsafe_switch\{switch="RAFTKV_UNSAFE_STALE_READS",node="n1"\} 1/, 'the metric is 1')
      } else {
        t.match(info, /\r\nraft_unsafe_switches:\r\n/, 'INFO raft lists none')
        t.same(status.unsafeSwitches, [], '/status lists none')
        t.match(metrics, /raftkv_unsafe_switch\{switch="RAFTKV_UNSAFE_STALE_READS",node="n1"\} 0/, 'the metric is 0')
      }
    } finally {
      await node.stop()
      rmSync(root, { recursive: true, force: true })
    }
  }
})

t.test('RAFTKV_TEST_CLOCK_OFFSET_MS skews a node only in test mode, and is listed as an unsafe switch', async (t) => {
  t.throws(() => parseNodeConfig({ ...base, RAFTKV_TEST_CLOCK_OFFSET_MS: '5000' }), new ConfigError('RAFTKV_TEST_CLOCK_OFFSET_MS is test-only: set RAFTKV_TEST_MODE=yes as well (refused on non-loopback addresses)'))
  t.throws(() => parseNodeConfig({ ...base, RAFTKV_TEST_MODE: 'yes', RAFTKV_TEST_CLOCK_OFFSET_MS: '5s' }), { name: 'ConfigError', message: /RAFTKV_TEST_CLOCK_OFFSET_MS must be an integer/ })
  const behind = parseNodeConfig({ ...base, RAFTKV_TEST_MODE: 'yes', RAFTKV_TEST_CLOCK_OFFSET_MS: '-7000' })
  t.equal(behind.testClockOffsetMs, -7000)
  t.same(unsafeSwitchesOn(behind), ['RAFTKV_TEST_CLOCK_OFFSET_MS'])
  t.equal(parseNodeConfig(base).testClockOffsetMs, 0)
})
