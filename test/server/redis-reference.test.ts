// The same exchanges against raftkv's RESP server and a real redis-server
// (Debian's redis-server, the reference where Redis defines a behaviour):
// both must answer alike. Skipped without redis-server, failed under CI=true.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import t, { type Test } from 'tap'
import { skipWhenMissing } from '../util/missing-tool.js'
import { freePort } from '../cluster/process-cluster.js'
import { RawClient, startTestServer, type RawReply } from './helpers.js'

const haveRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
const skip = skipWhenMissing(haveRedis ? false : 'redis-server is not on PATH (apt-get install redis-server)')

/** A throwaway redis-server on a free loopback port, no persistence. */
async function startRedis(t: Test): Promise<number> {
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  const deadline = Date.now() + 20_000
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = net.connect(port, '127.0.0.1', () => {
        probe.destroy()
        resolve(true)
      })
      probe.on('error', () => resolve(false))
    })
    if (up) break
    if (Date.now() > deadline) throw new Error('redis-server did not start listening')
    await new Promise((r) => setTimeout(r, 50))
  }
  return port
}

async function bothPorts(t: Test): Promise<{ name: string; port: number }[]> {
  return [
    { name: 'raftkv', port: (await startTestServer(t)).port },
    { name: 'redis-server', port: await startRedis(t) },
  ]
}

/** Writes `bad`, then goes on writing PING without reading; resolves with the first reply and whether a write failed. */
function afterProtocolError(port: number, bad: string): Promise<{ reply: string; writeFailed: boolean }> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: like a C client, this one does not close its side when the server sends FIN.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    let reply = ''
    let writes = 0
    let timer: NodeJS.Timeout | null = null
    const finish = (writeFailed: boolean): void => {
      if (timer !== null) clearInterval(timer)
      socket.destroy()
      resolve({ reply, writeFailed })
    }
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')))
    socket.on('error', () => finish(true))
    socket.on('connect', () => {
      socket.write(bad)
      timer = setInterval(() => {
        // 2000 writes 10 ms apart: 20 s, far past any close; a server that only half-closed never fails one.
        if (++writes > 2000) return finish(false)
        if (socket.destroyed) return
        socket.write('PING\r\n')
      }, 10)
    })
    socket.on('timeout', () => reject(new Error('timeout')))
  })
}

for (const bad of ['*abc\r\n', '*1\r\n$abc\r\n']) {
  t.test(`after a protocol error (${JSON.stringify(bad)}) the connection is closed at once, as Redis does`, { skip }, async (t) => {
    for (const { name, port } of await bothPorts(t)) {
      const r = await afterProtocolError(port, bad)
      t.match(r.reply, /^-ERR Protocol error: /, `${name}: the error is answered`)
      t.equal(r.writeFailed, true, `${name}: a client that goes on writing gets an error`)
    }
  })
}

// A NUL in a length line: raftkv refuses it at once. Redis 7.0 does not answer
// it at all (it looks for the line's CR with strchr, which stops at the NUL, so
// it waits for more bytes until its 64 KiB limit): no reference to compare with.
for (const bad of ['*\x00\r\n', '*1\r\n$\x00\r\n']) {
  t.test(`a NUL in a length line (${JSON.stringify(bad)}) is a protocol error that closes the connection`, async (t) => {
    const { port } = await startTestServer(t)
    const r = await afterProtocolError(port, bad)
    t.match(r.reply, /^-ERR Protocol error: /, 'the error is answered')
    t.equal(r.writeFailed, true, 'a client that goes on writing gets an error')
  })
}

t.test('an inline request over 64 KiB closes the connection, as Redis does', { skip }, async (t) => {
  for (const { name, port } of await bothPorts(t)) {
    const r = await afterProtocolError(port, 'x'.repeat(70_000))
    t.equal(r.writeFailed, true, `${name}: further bytes are refused`)
  }
})

/** Runs commands in order on one connection and returns their replies. */
async function session(t: Test, port: number, commands: string[][]): Promise<RawReply[]> {
  const c = await RawClient.connect(port, t)
  const out: RawReply[] = []
  for (const command of commands) out.push(await c.command(...command))
  c.destroy()
  return out
}

for (const flush of ['FLUSHALL', 'FLUSHDB']) {
  t.test(`${flush} does not abort a WATCH on a key that did not exist, and aborts one on a key that did`, { skip }, async (t) => {
    for (const { name, port } of await bothPorts(t)) {
      const absent = await session(t, port, [['DEL', 'x'], ['WATCH', 'x'], [flush], ['MULTI'], ['PING'], ['EXEC']])
      t.same(absent.at(-1), ['PONG'], `${name}: EXEC runs`)
      const present = await session(t, port, [['SET', 'y', '1'], ['WATCH', 'y'], [flush], ['MULTI'], ['PING'], ['EXEC']])
      t.equal(present.at(-1), null, `${name}: EXEC is aborted`)
    }
  })
}

/** `name:k=v,k=v` lines of one INFO section, as a map of maps. */
function infoFields(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':')
    if (line.startsWith('#') || colon < 0) continue
    out.set(line.slice(0, colon), new Map(line.slice(colon + 1).split(',').map((kv) => kv.split('=') as [string, string])))
  }
  return out
}

t.test('INFO commandstats and errorstats count calls, rejected and failed calls, and errors by prefix, as Redis does', { skip }, async (t) => {
  for (const { name, port } of await bothPorts(t)) {
    await session(t, port, [['SET', 'k', 'v'], ['GET', 'k'], ['GET'], ['INCR', 'k'], ['NOSUCHCOMMAND'], ['MULTI'], ['GET'], ['DISCARD']])
    const stats = infoFields(String((await session(t, port, [['INFO', 'commandstats']]))[0]))
    const get = stats.get('cmdstat_get')
    t.equal(get?.get('calls'), '1', `${name}: GET ran once`)
    t.equal(get?.get('rejected_calls'), '2', `${name}: GET was refused twice (arity, once inside MULTI)`)
    t.equal(get?.get('failed_calls'), '0', `${name}: GET never failed`)
    t.match(get?.get('usec') ?? '', /^\d+$/, `${name}: usec is counted`)
    const incr = stats.get('cmdstat_incr')
    t.equal(incr?.get('calls'), '1', `${name}: INCR ran once`)
    t.equal(incr?.get('failed_calls'), '1', `${name}: INCR failed (not an integer)`)
    t.equal(incr?.get('rejected_calls'), '0', `${name}: INCR was not refused`)
    const errors = infoFields(String((await session(t, port, [['INFO', 'errorstats']]))[0]))
    t.equal(errors.get('errorstat_ERR')?.get('count'), '4', `${name}: four ERR replies (two arity, the integer, the unknown command)`)
    t.equal(errors.get('errorstat_EXECABORT'), undefined, `${name}: DISCARD is no error`)
    const plain = String((await session(t, port, [['INFO']]))[0])
    t.notMatch(plain, /# Commandstats/, `${name}: a plain INFO leaves commandstats out`)
    t.match(plain, /# Errorstats/, `${name}: a plain INFO has errorstats`)
    t.match(String((await session(t, port, [['INFO', 'replication']]))[0]), /\r\nmaster_repl_offset:\d+\r\n/, `${name}: master_repl_offset`)
  }
})
