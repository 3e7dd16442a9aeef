// The tools users already have, against a real 3-node cluster: redis-cli on
// every node (including --pipe and --scan), redis-benchmark, and ioredis
// reconnecting after its node is killed and restarted.
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { skipWhenMissing } from '../util/missing-tool.js'
import { ProcessCluster, type ProcessNode } from './process-cluster.js'

const run = promisify(execFile)
const haveRedisTools = await run('redis-cli', ['--version']).then(
  () => true,
  () => false,
)

async function redisCli(node: ProcessNode, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-p', String(node.spec.respPort), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', reject)
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli exited ${String(code)}: ${err}${out}`))))
    // redis-cli given its command as arguments may exit before we close its
    // stdin: that EPIPE is no failure (the exit code and output say how it went).
    p.stdin.on('error', () => {})
    p.stdin.end(input ?? '')
  })
}

t.test('real clients against a three-node cluster', { skip: skipWhenMissing(haveRedisTools ? false : 'redis-cli is not installed (apt-get install redis-tools)') }, async (t) => {
  const cluster = new ProcessCluster()
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const [n1, n2, n3] = cluster.nodes as [ProcessNode, ProcessNode, ProcessNode]

  await t.test('redis-cli runs the string commands on every node', async (t) => {
    t.equal((await redisCli(n1, ['SET', 'k1', 'v1'])).trim(), 'OK')
    t.equal((await redisCli(n2, ['GET', 'k1'])).trim(), 'v1')
    t.equal((await redisCli(n3, ['INCR', 'counter'])).trim(), '1')
    t.equal((await redisCli(n2, ['INCR', 'counter'])).trim(), '2')
    t.equal((await redisCli(n3, ['MSET', 'a', '1', 'b', '2'])).trim(), 'OK')
    t.same((await redisCli(n1, ['MGET', 'a', 'b', 'missing'])).replace(/\n$/, '').split('\n'), ['1', '2', ''])
    t.equal((await redisCli(n2, ['EXPIRE', 'a', '100'])).trim(), '1')
    const ttl = Number((await redisCli(n3, ['TTL', 'a'])).trim())
    t.ok(ttl > 90 && ttl <= 100, `TTL ${ttl}`)
    t.equal((await redisCli(n1, ['DEL', 'b'])).trim(), '1')
    t.equal((await redisCli(n2, ['EXISTS', 'b'])).trim(), '0')
  })

  await t.test('redis-cli --pipe loads a file through a follower', async (t) => {
    let input = ''
    for (let i = 0; i < 1000; i++) input += `SET pipe:${i} value-${i}\r\n`
    const out = await redisCli(n2, ['--pipe'], input)
    t.match(out, /errors: 0, replies: 1000/)
    t.equal((await redisCli(n3, ['GET', 'pipe:999'])).trim(), 'value-999')
  })

  await t.test('redis-cli --scan lists matching keys', async (t) => {
    const keys = (await redisCli(n3, ['--scan', '--pattern', 'pipe:99*'])).trim().split('\n').sort()
    t.same(keys, ['pipe:99', ...Array.from({ length: 10 }, (_, i) => `pipe:99${i}`)].sort())
  })

  await t.test('MULTI/EXEC through redis-cli is applied atomically', async (t) => {
    const out = await redisCli(n3, [], 'MULTI\nSET tx:a 1\nINCR tx:a\nGET tx:a\nEXEC\n')
    t.match(out, /OK\nQUEUED\nQUEUED\nQUEUED\nOK\n2\n2/)
  })

  await t.test('an unknown command is an error and the connection stays open', async (t) => {
    const out = await redisCli(n1, [], 'NOSUCHCOMMAND x\nPING\n')
    t.match(out, /ERR unknown command 'NOSUCHCOMMAND'/)
    t.match(out, /PONG/)
  })

  await t.test('redis-benchmark completes without errors', async (t) => {
    const { stdout } = await run('redis-benchmark', ['-p', String(n2.spec.respPort), '-t', 'set,get,incr,mset', '-n', '4000', '-c', '20', '-q'], { timeout: 240_000 })
    t.comment(stdout.replace(/\r/g, '\n').split('\n').filter((l) => l.includes('per second')).join('; '))
    for (const test of ['SET', 'GET', 'INCR', 'MSET']) t.match(stdout, new RegExp(`${test}.*requests per second`), `${test} ran`)
    t.notMatch(stdout, /error/i)
  })

  await t.test('ioredis reconnects after its node is killed and restarted', async (t) => {
    const { Redis } = await import('ioredis')
    const c = new Redis({ port: n3.spec.respPort, host: '127.0.0.1', retryStrategy: () => 100, maxRetriesPerRequest: 50 })
    c.on('error', () => {})
    t.teardown(() => c.disconnect())
    t.equal(await c.set('before', '1'), 'OK')
    await n3.kill('SIGKILL')
    n3.start()
    t.equal(await c.set('after', '2'), 'OK')
    t.equal(await c.get('before'), '1')
  })
})
