// CONFIG GET and CONFIG SET: replicated parameters change through the log
// (they are state-machine state, kept by snapshots), Redis's encoding
// thresholds are accepted without effect, the rest is refused with a clear
// error. Expected texts are redis-server 7.0.15's where Redis has them.
import t from 'tap'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { RawClient, startTestServer } from './helpers.js'

async function setup(t: Parameters<typeof startTestServer>[0]) {
  const started = await startTestServer(t)
  const client = await RawClient.connect(started.port, t)
  return { ...started, client }
}

t.test('CONFIG SET notify-keyspace-events goes through the log and CONFIG GET shows it as Redis writes it', async (t) => {
  const { client, backend } = await setup(t)
  t.same(await client.command('CONFIG', 'GET', 'notify-keyspace-events'), ['notify-keyspace-events', ''])
  t.equal(await client.command('CONFIG', 'SET', 'notify-keyspace-events', 'KEA'), 'OK')
  t.same(await client.command('CONFIG', 'GET', 'notify-keyspace-events'), ['notify-keyspace-events', 'AKE'])
  t.equal(await client.command('CONFIG', 'SET', 'notify-keyspace-events', 'Elg'), 'OK')
  t.same(await client.command('CONFIG', 'GET', 'notify-keyspace-events'), ['notify-keyspace-events', 'glE'])
  t.same(await client.command('CONFIG', 'SET', 'notify-keyspace-events', 'Kq'), {
    error: "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
  })
  t.ok(backend.calls.some((c) => c.kind === 'write'), 'CONFIG SET was a write')
  const restored = KvStateMachine.restore(backend.machine.snapshot())
  const got = restored.read({ t: 'call', name: 'config-get', args: [Buffer.from('notify-*')], seed: 0 }, Date.now())
  t.same(got.t === 'array' && got.items.map((item) => (item.t === 'bulk' ? item.value.toString() : item.t)), ['notify-keyspace-events', 'glE'])
})

t.test('encoding thresholds are accepted as no-ops, the rest is refused', async (t) => {
  const { client } = await setup(t)
  t.equal(await client.command('CONFIG', 'SET', 'hash-max-listpack-entries', '1024', 'zset-max-listpack-value', '32'), 'OK')
  t.same(await client.command('CONFIG', 'GET', 'hash-max-listpack-entries'), ['hash-max-listpack-entries', '1024'])
  t.same(await client.command('CONFIG', 'SET', 'hash-max-listpack-entries', 'x'), {
    error: "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument couldn't be parsed into an integer",
  })
  t.same(await client.command('CONFIG', 'SET', 'bogus', '1'), { error: "ERR Unknown option or number of arguments for CONFIG SET - 'bogus'" })
  t.match(await client.command('CONFIG', 'SET', 'maxclients', '5'), { error: /^ERR CONFIG SET 'maxclients' is not supported: raftkv takes it from the node's environment/ })
  t.match(await client.command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'), { error: /only noeviction is supported/ })
  t.same(await client.command('CONFIG', 'SET', 'notify-keyspace-events'), { error: "ERR wrong number of arguments for 'config|set' command" })
  t.same(await client.command('CONFIG', 'GET', 'maxmemory-policy', 'databases'), ['maxmemory-policy', 'noeviction', 'databases', '1'])
})
