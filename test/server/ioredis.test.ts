// ioredis against the RESP server: its connect sequence (HELLO 3, CLIENT
// SETINFO, INFO ready check), pipelining, MULTI/EXEC and WATCH.
import { Redis } from 'ioredis'
import t from 'tap'
import { startTestServer } from './helpers.js'

async function connect(t: Parameters<typeof startTestServer>[0], options: Record<string, unknown> = {}) {
  const started = await startTestServer(t, options)
  const redis = new Redis({ host: '127.0.0.1', port: started.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  t.teardown(() => redis.disconnect())
  await redis.connect()
  return { ...started, redis }
}

t.test('ioredis connects and passes its ready check', async (t) => {
  const { redis } = await connect(t)
  t.equal(redis.status, 'ready')
  t.equal(await redis.ping(), 'PONG')
})

t.test('ioredis pipelines 10,000 commands and gets every reply in order', async (t) => {
  const { redis, backend } = await connect(t)
  const pipeline = redis.pipeline()
  for (let i = 0; i < 5000; i++) pipeline.set(`key:${i}`, String(i))
  for (let i = 0; i < 5000; i++) pipeline.get(`key:${i}`)
  const results = (await pipeline.exec()) ?? []
  t.equal(results.length, 10_000)
  t.ok(results.slice(0, 5000).every(([error, value]) => error === null && value === 'OK'))
  t.ok(results.slice(5000).every(([error, value], i) => error === null && value === String(i)))
  const batches = new Set(backend.calls.filter((call) => call.kind === 'write').map((call) => call.batch))
  t.ok(batches.size < 100, `5000 writes arrived in ${batches.size} batches`)
})

t.test('ioredis MULTI/EXEC runs the transaction atomically', async (t) => {
  const { redis } = await connect(t)
  const result = await redis.multi().set('a', '1').incr('a').get('a').exec()
  t.same(result, [[null, 'OK'], [null, 2], [null, '2']])
})

t.test('ioredis WATCH makes EXEC fail when another client changed the key', async (t) => {
  const { redis, port } = await connect(t)
  const other = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null })
  t.teardown(() => other.disconnect())
  await redis.set('balance', '10')
  await redis.watch('balance')
  await other.set('balance', '20')
  const result = await redis.multi().set('balance', '0').exec()
  t.equal(result, null)
  t.equal(await redis.get('balance'), '20')
})

t.test('ioredis with a password authenticates on connect', async (t) => {
  const started = await startTestServer(t, { requirePass: 'sesame' })
  const redis = new Redis({ host: '127.0.0.1', port: started.port, password: 'sesame', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  t.teardown(() => redis.disconnect())
  await redis.connect()
  t.equal(await redis.set('k', 'v'), 'OK')
})

t.test('ioredis sees -CLUSTERDOWN as a command error', async (t) => {
  const { redis, backend } = await connect(t)
  backend.clusterDown = true
  await t.rejects(redis.set('k', 'v'), /CLUSTERDOWN/)
})
