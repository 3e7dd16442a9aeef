// redis-cli (Debian's redis-tools) against the RESP server. Skipped when
// redis-cli is not on PATH, failed when it is missing under CI=true; CI installs it.
import { execFile, execFileSync } from 'node:child_process'
import t from 'tap'
import { skipWhenMissing } from '../util/missing-tool.js'
import { encodeCommand, startTestServer } from './helpers.js'

function which(command: string): boolean {
  try {
    execFileSync('which', [command], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const skip = skipWhenMissing(which('redis-cli') ? false : 'redis-cli is not on PATH (apt-get install redis-tools)')

function cli(port: number, args: string[], input?: string | Buffer): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 20_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1 })
    })
    child.stdin?.end(input ?? '')
  })
}

t.test('redis-cli runs SET, GET, DEL, INCR, MSET and MGET', { skip }, async (t) => {
  const { port } = await startTestServer(t)
  t.equal((await cli(port, ['SET', 'k', 'v'])).stdout, 'OK\n')
  t.equal((await cli(port, ['GET', 'k'])).stdout, 'v\n')
  t.equal((await cli(port, ['INCR', 'n'])).stdout, '1\n')
  t.equal((await cli(port, ['MSET', 'a', '1', 'b', '2'])).stdout, 'OK\n')
  t.equal((await cli(port, ['MGET', 'a', 'b', 'zz'])).stdout, '1\n2\n\n')
  t.equal((await cli(port, ['DEL', 'k', 'a'])).stdout, '2\n')
})

t.test('redis-cli sets an expiry and reads the TTL', { skip }, async (t) => {
  const { port } = await startTestServer(t)
  await cli(port, ['SET', 'k', 'v'])
  t.equal((await cli(port, ['EXPIRE', 'k', '100'])).stdout, '1\n')
  t.equal((await cli(port, ['TTL', 'k'])).stdout, '100\n')
})

t.test('redis-cli --scan lists every key', { skip }, async (t) => {
  const { port } = await startTestServer(t)
  const keys = Array.from({ length: 120 }, (_, i) => `key:${i}`)
  await cli(port, ['MSET', ...keys.flatMap((key) => [key, 'x'])])
  const listed = (await cli(port, ['--scan', '--pattern', 'key:*'])).stdout.trim().split('\n')
  t.same(listed.sort(), keys.sort())
})

t.test('redis-cli --pipe loads a file of commands with no errors', { skip }, async (t) => {
  const { port, backend } = await startTestServer(t)
  const input = Buffer.concat(Array.from({ length: 2000 }, (_, i) => encodeCommand(['SET', `pipe:${i}`, String(i)])))
  const { stdout } = await cli(port, ['--pipe'], input)
  t.match(stdout, /errors: 0, replies: 2000/)
  t.equal(backend.machine.size(), 2000)
})

t.test('redis-cli -a authenticates against REQUIREPASS', { skip }, async (t) => {
  const { port } = await startTestServer(t, { requirePass: 'sesame' })
  t.match((await cli(port, ['GET', 'k'])).stdout, /NOAUTH/)
  t.equal((await cli(port, ['--no-auth-warning', '-a', 'sesame', 'PING'])).stdout, 'PONG\n')
})

t.test('redis-cli runs MULTI/EXEC on one connection', { skip }, async (t) => {
  const { port } = await startTestServer(t)
  const { stdout } = await cli(port, [], 'MULTI\nSET a 1\nINCR a\nEXEC\n')
  t.equal(stdout, 'OK\nQUEUED\nQUEUED\nOK\n2\n')
})

t.test('redis-cli shows the unknown-command error', { skip }, async (t) => {
  const { port } = await startTestServer(t)
  const { stdout } = await cli(port, ['FROB', 'x'])
  t.match(stdout, /ERR unknown command 'FROB', with args beginning with: 'x'/)
})
