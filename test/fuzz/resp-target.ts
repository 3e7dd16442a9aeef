// Fuzz targets for the RESP side: the request reader alone (fast, millions
// of cases), and the whole listener with its command layer over real
// sockets, where a sentinel client must keep being served.
import { startRespServer, type RespServer } from '../../lib/server/resp/resp-server.js'
import { ProtocolError, RequestReader, requestLimitsDefault } from '../../lib/server/resp/request-reader.js'
import { silentLogger } from '../../lib/util/logger.js'
import { Prng } from '../../lib/util/prng.js'
import { FakeBackend } from '../server/fake-backend.js'
import { encodeCommand } from '../server/helpers.js'
import { type FuzzResult, fail, newResult } from './fuzz-result.js'
import { chunks, exchange, runCases, runSocketCases } from './fuzz-loop.js'

const NAMES = [
  'GET', 'SET', 'DEL', 'MSET', 'MGET', 'INCR', 'INCRBY', 'DECRBY', 'APPEND', 'STRLEN', 'EXPIRE', 'PEXPIREAT', 'TTL', 'PERSIST',
  'SCAN', 'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'CLIENT', 'INFO', 'HELLO', 'AUTH', 'SELECT', 'COMMAND', 'CLUSTER',
  'RAFT', 'PING', 'ECHO', 'READONLY', 'READWRITE', 'TYPE', 'DBSIZE', 'GETDEL', 'SETNX', 'EXISTS', 'NOSUCH', 'set', 'Get',
]
const ARGS = [
  'k', 'v', 'EX', 'PX', 'EXAT', 'NX', 'XX', 'GET', 'KEEPTTL', '0', '-1', '10', '99999999999999999999', 'MATCH', '*', '[a-', 'COUNT',
  'TYPE', 'string', 'SETNAME', 'LIST', 'INFO', 'SETINFO', 'ID', '2', '3', 'default', 'pw', 'STATUS', 'ADD', 'SLOTS', 'everything', '',
  'é☃', '\r\n', '"', "'",
]

/** One plausible pipeline: a few commands, as RESP arrays or inline lines. */
export function respSeedInput(rng: Prng): Buffer {
  const parts: Buffer[] = []
  for (let n = 1 + rng.int(5); n > 0; n--) {
    const args = [rng.pick(NAMES)]
    for (let a = rng.int(5); a > 0; a--) args.push(rng.pick(ARGS))
    if (rng.chance(0.2)) parts.push(Buffer.from(`${args.map((x) => (x.includes(' ') ? `"${x}"` : x)).join(' ')}\r\n`))
    else parts.push(encodeCommand(args))
  }
  return Buffer.concat(parts)
}

/**
 * The reader alone: never throws, returns null or a ProtocolError, never
 * holds more than the (pre-AUTH) query buffer limit, and hands out only
 * arrays of Buffers within the argument limits.
 */
export function fuzzRequestReader(seed: number, cases: number): FuzzResult {
  const result = newResult('resp-reader', cases)
  runCases(result, seed, cases, ({ index: i, rng, mutator }) => {
    const authenticated = rng.chance(0.5)
    const input = rng.chance(0.1) ? mutator.noise(4096) : mutator.mutate(respSeedInput(rng))
    const limits = requestLimitsDefault
    const argsMax = authenticated ? limits.argsMax : limits.unauthArgsMax
    const bulkMax = authenticated ? limits.bulkBytesMax : limits.unauthBulkBytesMax
    const queryMax = authenticated ? limits.queryBufferBytesMax : limits.unauthQueryBufferBytesMax
    let badCommand = false
    const reader = new RequestReader(limits, () => authenticated, (args) => {
      if (!Array.isArray(args) || args.length === 0 || args.length > argsMax) badCommand = true
      for (const arg of args) if (!Buffer.isBuffer(arg) || arg.length > bulkMax) badCommand = true
    })
    try {
      for (const chunk of chunks(rng, input, 4)) {
        const outcome = reader.feed(chunk)
        if (outcome !== null && !(outcome instanceof ProtocolError)) fail(result, seed, i, 'feed returned something else', input)
        if (reader.pendingBytes > queryMax) fail(result, seed, i, 'query buffer over its limit', input)
        if (outcome !== null) break
      }
    } catch (error) {
      fail(result, seed, i, `feed threw: ${String(error)}`, input)
    }
    if (badCommand) fail(result, seed, i, 'a command outside the limits was handed out', input)
  })
  return result
}

async function sentinelPing(port: number, password: string | null): Promise<boolean> {
  const auth = password === null ? Buffer.alloc(0) : encodeCommand(['AUTH', password])
  const answer = await exchange(port, Buffer.concat([auth, encodeCommand(['PING'])]), 5000)
  return answer.bytes.toString() === `${password === null ? '' : '+OK\r\n'}+PONG\r\n`
}

/** Before AUTH only status and error lines may come back: no data. */
function leaksData(text: string): boolean {
  return text.split('\r\n').some((line) => line !== '' && line[0] !== '-' && line[0] !== '+')
}

/**
 * The listener and command layer: every input is answered or its connection
 * closed, a protocol error is the last thing said, and a sentinel client is
 * served after every batch. Runs `concurrency` connections at a time.
 */
export async function fuzzRespServer(seed: number, cases: number, options: { requirePass?: string; concurrency?: number } = {}): Promise<FuzzResult> {
  const result = newResult('resp-server', cases)
  const backend = new FakeBackend()
  const password = options.requirePass ?? null
  // Failed AUTHs are throttled per address (all of ours are 127.0.0.1): keep the delays tiny here.
  const limits = { authFailDelayMs: 1, authFailDelayMsMax: 10 }
  const server: RespServer = await startRespServer({ addr: '127.0.0.1:0', backend, logger: silentLogger(), requirePass: password, limits })
  const port = server.address.port
  try {
    await runSocketCases({
      result, seed, cases, port,
      concurrency: options.concurrency ?? 32,
      seedInput: respSeedInput,
      check: ({ bytes, closed }, i, input) => {
        if (!closed) fail(result, seed, i, 'connection neither answered to the end nor closed', input)
        const text = bytes.toString('latin1')
        const protocolAt = text.indexOf('-ERR Protocol error')
        if (protocolAt >= 0 && text.indexOf('\r\n', protocolAt) !== text.length - 2) {
          fail(result, seed, i, 'something was sent after a protocol error', input)
        }
        if (text.includes('internal error')) fail(result, seed, i, 'an internal error reached the client', input)
        if (password !== null && leaksData(text)) fail(result, seed, i, 'data was answered before AUTH', input)
      },
      sentinel: () => sentinelPing(port, password),
      sentinelRule: 'the sentinel client was not served',
    })
  } finally {
    await server.close()
  }
  return result
}
