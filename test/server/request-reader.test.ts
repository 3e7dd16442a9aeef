import t from 'tap'
import { RequestReader, requestLimitsDefault, splitInlineArgs, type RequestLimits } from '../../lib/server/resp/request-reader.js'
import RedisParser from 'redis-parser'
import { Prng } from '../../lib/util/prng.js'
import { encodeCommand } from './helpers.js'

function reader(limits: Partial<RequestLimits> = {}, authenticated = true) {
  const commands: string[][] = []
  const r = new RequestReader({ ...requestLimitsDefault, ...limits }, () => authenticated, (args) => commands.push(args.map((a) => a.toString('latin1'))))
  return { r, commands }
}

t.test('a command split at every byte boundary parses the same as whole', async (t) => {
  const stream = Buffer.concat([
    encodeCommand(['SET', 'key', 'value with\r\nCRLF']),
    Buffer.from('*0\r\n*-1\r\n'),
    encodeCommand(['GET', '']),
    Buffer.from('PING inline\r\n'),
    encodeCommand(['MSET', 'a', '1', 'b', '2']),
  ])
  const expected = [['SET', 'key', 'value with\r\nCRLF'], ['GET', ''], ['PING', 'inline'], ['MSET', 'a', '1', 'b', '2']]
  for (let split = 0; split <= stream.length; split++) {
    const { r, commands } = reader()
    t.equal(r.feed(stream.subarray(0, split)), null)
    t.equal(r.feed(stream.subarray(split)), null)
    t.same(commands, expected, `split at ${split}`)
  }
})

t.test('one byte at a time parses every command', async (t) => {
  const stream = Buffer.concat([encodeCommand(['SET', 'k', 'x'.repeat(1000)]), encodeCommand(['GET', 'k'])])
  const { r, commands } = reader()
  for (const byte of stream) t.equal(r.feed(Buffer.from([byte])), null)
  t.same(commands, [['SET', 'k', 'x'.repeat(1000)], ['GET', 'k']])
})

t.test('random chunking of many commands keeps every argument intact', async (t) => {
  const rng = new Prng(7)
  const expected: string[][] = []
  const parts: Buffer[] = []
  for (let i = 0; i < 300; i++) {
    const args = Array.from({ length: 1 + rng.int(5) }, () => String.fromCharCode(...Array.from({ length: rng.int(rng.chance(0.1) ? 5000 : 20) }, () => rng.int(256))))
    expected.push(args)
    parts.push(encodeCommand(args.map((a) => Buffer.from(a, 'latin1'))))
  }
  const stream = Buffer.concat(parts)
  const { r, commands } = reader()
  for (let at = 0; at < stream.length; ) {
    const size = 1 + rng.int(3000)
    t.equal(r.feed(stream.subarray(at, at + size)), null)
    at += size
  }
  t.same(commands, expected)
})

t.test('inline commands honour quotes and escapes like redis-cli', async (t) => {
  t.same(splitInlineArgs(Buffer.from('set "a b" \'c d\' "\\x41\\n" plain')), [
    Buffer.from('set'),
    Buffer.from('a b'),
    Buffer.from('c d'),
    Buffer.from('A\n'),
    Buffer.from('plain'),
  ])
  t.equal(splitInlineArgs(Buffer.from('set "unbalanced')), null)
  t.equal(splitInlineArgs(Buffer.from('set "a"b')), null)
  t.same(splitInlineArgs(Buffer.from('   ')), [])
})

t.test('an array count above the limit is a protocol error before any allocation', async (t) => {
  const { r, commands } = reader()
  t.match(r.feed(Buffer.from('*4294967296\r\n')), { message: 'invalid multibulk length' })
  t.same(commands, [])
})

t.test('a bulk length above the limit is a protocol error', async (t) => {
  const { r } = reader()
  t.match(r.feed(Buffer.from('*1\r\n$999999999999\r\n')), { message: 'invalid bulk length' })
})

t.test('negative and malformed lengths are protocol errors', async (t) => {
  t.match(reader().r.feed(Buffer.from('*1\r\n$-5\r\n')), { message: 'invalid bulk length' })
  t.match(reader().r.feed(Buffer.from('*1\r\n$1x\r\n')), { message: 'invalid bulk length' })
  t.match(reader().r.feed(Buffer.from('*1x\r\n')), { message: 'invalid multibulk length' })
  t.match(reader().r.feed(Buffer.from('*\r\n')), { message: 'invalid multibulk length' })
  t.match(reader().r.feed(Buffer.from('*99999999999999999999999\r\n')), { message: 'invalid multibulk length' })
})

t.test('negative array counts are empty requests, as in Redis', async (t) => {
  const { r, commands } = reader()
  t.equal(r.feed(Buffer.from('*-5\r\n*0\r\n')), null)
  t.equal(r.feed(encodeCommand(['PING'])), null)
  t.same(commands, [['PING']])
})

t.test('nested arrays are refused: a request holds bulk strings only', async (t) => {
  t.match(reader().r.feed(Buffer.from('*1\r\n*1\r\n*1\r\n$1\r\na\r\n')), { message: "expected '$', got '*'" })
})

t.test('a bulk string not followed by CRLF is a protocol error', async (t) => {
  t.match(reader().r.feed(Buffer.from('*1\r\n$1\r\nabc\r\n')), { message: 'expected CRLF after bulk string' })
})

t.test('an inline line longer than the limit is refused without waiting for its end', async (t) => {
  const { r } = reader({ inlineBytesMax: 100 })
  t.equal(r.feed(Buffer.from('x'.repeat(60))), null)
  t.match(r.feed(Buffer.from('x'.repeat(60))), { message: 'too big inline request' })
})

t.test('the query buffer of an incomplete command is bounded', async (t) => {
  const { r } = reader({ queryBufferBytesMax: 1000 })
  t.equal(r.feed(Buffer.from('*1\r\n$100000\r\n')), null)
  t.match(r.feed(Buffer.alloc(2000)), { message: 'query buffer limit exceeded' })
})

t.test('before AUTH at most 10 arguments of 16 KiB each are accepted', async (t) => {
  t.match(reader({}, false).r.feed(Buffer.from('*11\r\n')), { message: 'unauthenticated multibulk length' })
  t.match(reader({}, false).r.feed(Buffer.from('*1\r\n$16385\r\n')), { message: 'unauthenticated bulk length' })
  const { r, commands } = reader({}, false)
  t.equal(r.feed(encodeCommand(['AUTH', 'x'.repeat(16384)])), null)
  t.equal(commands.length, 1)
})

t.test('a command can lift the limits for the next one in the same chunk', async (t) => {
  let authenticated = false
  const commands: string[] = []
  const r = new RequestReader(requestLimitsDefault, () => authenticated, (args) => {
    commands.push(args[0]?.toString() ?? '')
    if (args[0]?.toString() === 'AUTH') authenticated = true
  })
  const big = Array.from({ length: 20 }, (_, i) => `k${i}`)
  t.equal(r.feed(Buffer.concat([encodeCommand(['AUTH', 'pw']), encodeCommand(['MGET', ...big])])), null)
  t.same(commands, ['AUTH', 'MGET'])
})

t.test('random bytes never throw out of the reader', async (t) => {
  const rng = new Prng(42)
  for (let round = 0; round < 2000; round++) {
    const { r } = reader({}, rng.chance(0.5))
    const chunk = Buffer.alloc(1 + rng.int(200))
    for (let i = 0; i < chunk.length; i++) chunk[i] = rng.chance(0.3) ? rng.pick([42, 36, 13, 10, 45, 48, 49, 57]) : rng.int(256)
    t.doesNotThrow(() => r.feed(chunk))
  }
  t.end()
})

t.test('arguments handed out do not change when the socket chunk is reused', async (t) => {
  const kept: Buffer[][] = []
  const r = new RequestReader(requestLimitsDefault, () => true, (args) => kept.push(args))
  const whole = encodeCommand(['SET', 'key', 'value'])
  const split = encodeCommand(['SET', 'key2', 'value2'])
  const chunk = Buffer.concat([whole, split.subarray(0, 20)])
  const rest = Buffer.from(split.subarray(20))
  t.equal(r.feed(chunk), null)
  chunk.fill(0x21)
  t.equal(r.feed(rest), null)
  rest.fill(0x21)
  t.same(kept.map((args) => args.map((a) => a.toString())), [['SET', 'key', 'value'], ['SET', 'key2', 'value2']])
})

// The reader relies on this much of redis-parser 3.0.0's internals
// (node_modules/redis-parser/lib/parser.js): given one buffer holding exactly
// one whole array of bulk strings, execute() returns it synchronously as views
// into that buffer and then holds nothing (`buffer` back to null, no cached
// chunk or partial array), so the next command starts clean and nothing of
// the previous one is copied or kept.
t.test('redis-parser returns a whole command synchronously as views and keeps nothing', async (t) => {
  const replies: unknown[] = []
  const parser = new RedisParser({ returnBuffers: true, returnReply: (reply: unknown) => replies.push(reply), returnError: (error) => replies.push(error) })
  const bytes = encodeCommand(['SET', 'key', 'value'])
  parser.execute(bytes)
  t.equal(replies.length, 1)
  const args = replies[0] as Buffer[]
  t.same(args.map((a) => a.toString()), ['SET', 'key', 'value'])
  t.ok(args.every((a) => a.buffer === bytes.buffer), 'views into the buffer given')
  const internals = parser as unknown as { buffer: Buffer | null; bufferCache: Buffer[]; arrayCache: unknown[] }
  t.equal(internals.buffer, null)
  t.equal(internals.bufferCache.length, 0)
  t.equal(internals.arrayCache.length, 0)
})

t.test('a value spanning many chunks leaves no redis-parser timer running', async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length
  const before = timers()
  const { r, commands } = reader()
  const stream = encodeCommand(['SET', 'k', 'x'.repeat(1024 * 1024)])
  for (let at = 0; at < stream.length; at += 65536) t.equal(r.feed(stream.subarray(at, at + 65536)), null)
  t.equal(commands.length, 1)
  t.equal(commands[0]?.[2]?.length, 1024 * 1024)
  t.equal(timers(), before)
})
