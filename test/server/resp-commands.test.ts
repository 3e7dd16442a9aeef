import t from 'tap'
import { ClusterDownError } from '../../lib/replica/client-api.js'
import { RawClient, encodeCommand, startTestServer, type RawReply } from './helpers.js'

async function setup(t: Parameters<typeof startTestServer>[0], options: Parameters<typeof startTestServer>[1] = {}) {
  const started = await startTestServer(t, options)
  const client = await RawClient.connect(started.port, t)
  return { ...started, client }
}

t.test('PING, ECHO and SELECT 0 answer like Redis', async (t) => {
  const { client } = await setup(t)
  t.equal(await client.command('PING'), 'PONG')
  t.equal(await client.command('PING', 'hi'), 'hi')
  t.equal(await client.command('ECHO', 'x y'), 'x y')
  t.equal(await client.command('SELECT', '0'), 'OK')
  t.same(await client.command('SELECT', '1'), { error: 'ERR DB index is out of range' })
})

t.test('TIME answers this node\'s clock as seconds and microseconds, like Redis', async (t) => {
  const { client } = await setup(t)
  const before = Date.now()
  const reply = await client.command('TIME')
  const after = Date.now()
  t.ok(Array.isArray(reply) && reply.length === 2, 'two bulk strings')
  const [seconds, micros] = (reply as string[]).map(Number) as [number, number]
  t.ok(Number.isInteger(seconds) && Number.isInteger(micros) && micros >= 0 && micros < 1_000_000, `integers, microseconds below a million (${String(reply)})`)
  const ms = seconds * 1000 + micros / 1000
  t.ok(ms >= before - 1 && ms <= after + 1, 'between the clock readings taken around it')
  t.same(await client.command('TIME', 'x'), { error: "ERR wrong number of arguments for 'time' command" })
})

t.test('SET, GET, DEL, EXISTS, INCR, APPEND and STRLEN go through the backend', async (t) => {
  const { client } = await setup(t)
  t.equal(await client.command('SET', 'k', 'v'), 'OK')
  t.equal(await client.command('GET', 'k'), 'v')
  t.equal(await client.command('APPEND', 'k', 'w'), 2)
  t.equal(await client.command('STRLEN', 'k'), 2)
  t.equal(await client.command('EXISTS', 'k', 'nope', 'k'), 2)
  t.equal(await client.command('DEL', 'k', 'nope'), 1)
  t.equal(await client.command('GET', 'k'), null)
  t.equal(await client.command('INCR', 'n'), 1)
  t.equal(await client.command('INCRBY', 'n', '10'), 11)
  t.equal(await client.command('DECR', 'n'), 10)
  t.equal(await client.command('DECRBY', 'n', '4'), 6)
  t.same(await client.command('INCRBY', 'n', 'x'), { error: 'ERR value is not an integer or out of range' })
  t.equal(await client.command('GETDEL', 'n'), '6')
  t.equal(await client.command('SETNX', 'n', 'a'), 1)
  t.equal(await client.command('SETNX', 'n', 'b'), 0)
})

t.test('SET options NX, XX, GET, EX and KEEPTTL', async (t) => {
  const { client } = await setup(t)
  t.equal(await client.command('SET', 'k', '1', 'XX'), null)
  t.equal(await client.command('SET', 'k', '1', 'NX'), 'OK')
  t.equal(await client.command('SET', 'k', '2', 'GET'), '1')
  t.equal(await client.command('SET', 'k', '3', 'EX', '100'), 'OK')
  t.equal(await client.command('TTL', 'k'), 100)
  t.equal(await client.command('SET', 'k', '4', 'KEEPTTL'), 'OK')
  t.ok(((await client.command('PTTL', 'k')) as number) > 99_000)
  t.same(await client.command('SET', 'k', '1', 'NX', 'XX'), { error: 'ERR syntax error' })
  t.same(await client.command('SET', 'k', '1', 'EX', 'soon'), { error: 'ERR value is not an integer or out of range' })
  t.same(await client.command('SET', 'k', '1', 'EX', '0'), { error: "ERR invalid expire time in 'set' command" })
})

t.test('EXPIRE family, TTL, PTTL and PERSIST', async (t) => {
  const { client } = await setup(t)
  await client.command('SET', 'k', 'v')
  t.equal(await client.command('TTL', 'k'), -1)
  t.equal(await client.command('TTL', 'missing'), -2)
  t.equal(await client.command('EXPIRE', 'k', '50'), 1)
  t.equal(await client.command('TTL', 'k'), 50)
  t.equal(await client.command('PEXPIRE', 'k', '5000'), 1)
  t.equal(await client.command('TTL', 'k'), 5)
  t.equal(await client.command('PERSIST', 'k'), 1)
  t.equal(await client.command('TTL', 'k'), -1)
  t.equal(await client.command('EXPIREAT', 'k', String(Math.floor(Date.now() / 1000) + 1000)), 1)
  t.equal(await client.command('PEXPIREAT', 'k', String(Date.now() + 1_000_000)), 1)
  t.same(await client.command('EXPIRE', 'k', '10', 'NX', 'XX'), { error: 'ERR NX and XX, GT or LT options at the same time are not compatible' })
})

t.test('EXPIRE XX LT does not give a key without a deadline one, as in Redis 7', async (t) => {
  const { client } = await setup(t)
  await client.command('SET', 'k', 'v')
  t.equal(await client.command('EXPIRE', 'k', '10', 'XX', 'LT'), 0)
  t.equal(await client.command('TTL', 'k'), -1)
})

t.test('MSET and MGET answer in key order with nil for missing keys', async (t) => {
  const { client } = await setup(t)
  t.equal(await client.command('MSET', 'a', '1', 'b', '2'), 'OK')
  t.same(await client.command('MGET', 'a', 'x', 'b'), ['1', null, '2'])
  t.same(await client.command('MSET', 'a', '1', 'b'), { error: "ERR wrong number of arguments for 'mset' command" })
})

t.test('SCAN with MATCH and COUNT iterates every key once', async (t) => {
  const { client } = await setup(t)
  for (let i = 0; i < 50; i++) await client.command('SET', `user:${i}`, 'x')
  await client.command('SET', 'other', 'x')
  const seen = new Set<string>()
  let cursor = '0'
  do {
    const [next, keys] = (await client.command('SCAN', cursor, 'MATCH', 'user:*', 'COUNT', '7')) as [string, string[]]
    for (const key of keys) seen.add(key)
    cursor = next
  } while (cursor !== '0')
  t.equal(seen.size, 50)
  t.notOk(seen.has('other'))
  t.same(await client.command('SCAN', 'abc'), { error: 'ERR invalid cursor' })
})

t.test('DBSIZE counts the keys', async (t) => {
  const { client } = await setup(t)
  await client.command('MSET', 'a', '1', 'b', '2')
  t.equal(await client.command('DBSIZE'), 2)
})

t.test('an unknown command is answered with Redis 7 text and the connection stays open', async (t) => {
  const { client } = await setup(t)
  t.same(await client.command('NOSUCH', 'a', 'b'), { error: "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' " })
  const reply = (await client.command('NOSUCH', 'x'.repeat(500))) as { error: string }
  t.ok(reply.error.length < 300, 'echoed input is truncated')
  t.equal(await client.command('PING'), 'PONG')
})

t.test('a wrong number of arguments names the command', async (t) => {
  const { client } = await setup(t)
  t.same(await client.command('GET'), { error: "ERR wrong number of arguments for 'get' command" })
  t.same(await client.command('GET', 'a', 'b'), { error: "ERR wrong number of arguments for 'get' command" })
})

t.test('inline commands typed as in telnet work', async (t) => {
  const { client } = await setup(t)
  client.write('SET greeting "hello world"\r\nGET greeting\nPING\r\n')
  t.same(await client.waitReplies(3), ['OK', 'hello world', 'PONG'])
})

t.test('pipelined replies arrive in command order even when earlier ones are slower', async (t) => {
  const { client, backend } = await setup(t)
  backend.delayMs = 30
  client.write(Buffer.concat([encodeCommand(['SET', 'k', '1']), encodeCommand(['PING']), encodeCommand(['GET', 'k']), encodeCommand(['ECHO', 'e'])]))
  t.same(await client.waitReplies(4), ['OK', 'PONG', '1', 'e'])
})

t.test('a read pipelined after a write sees it, and a write after a read does not leak into it', async (t) => {
  const { client } = await setup(t)
  const commands: Buffer[] = []
  for (let i = 0; i < 20; i++) commands.push(encodeCommand(['GET', 'k']), encodeCommand(['SET', 'k', String(i)]))
  commands.push(encodeCommand(['GET', 'k']))
  client.write(Buffer.concat(commands))
  const replies = await client.waitReplies(41)
  for (let i = 0; i < 20; i++) {
    t.equal(replies[2 * i], i === 0 ? null : String(i - 1))
    t.equal(replies[2 * i + 1], 'OK')
  }
  t.equal(replies[40], '19')
})

t.test('writes pipelined in one read are issued together, reads merged into one call', async (t) => {
  const { client, backend } = await setup(t)
  const commands: Buffer[] = []
  for (let i = 0; i < 50; i++) commands.push(encodeCommand(['SET', `k${i}`, 'v']))
  for (let i = 0; i < 50; i++) commands.push(encodeCommand(['GET', `k${i}`]))
  client.write(Buffer.concat(commands))
  await client.waitReplies(100)
  const writes = backend.calls.filter((call) => call.kind === 'write')
  const reads = backend.calls.filter((call) => call.kind === 'read')
  t.equal(writes.length, 50)
  t.equal(new Set(writes.map((call) => call.batch)).size, 1, 'all writes issued in the same tick')
  t.equal(reads.length, 1, 'the 50 GETs became one backend.read')
})

t.test('MULTI/EXEC sends one write and answers each command', async (t) => {
  const { client, backend } = await setup(t)
  t.equal(await client.command('MULTI'), 'OK')
  t.equal(await client.command('SET', 'a', '1'), 'QUEUED')
  t.equal(await client.command('INCR', 'a'), 'QUEUED')
  t.equal(await client.command('GET', 'a'), 'QUEUED')
  t.equal(await client.command('PING'), 'QUEUED')
  const before = backend.calls.length
  t.same(await client.command('EXEC'), ['OK', 2, '2', 'PONG'])
  t.same(backend.calls.slice(before).map((call) => call.kind), ['write'])
})

t.test('an error while queueing aborts EXEC with EXECABORT', async (t) => {
  const { client } = await setup(t)
  await client.command('MULTI')
  t.equal(await client.command('SET', 'a', '1'), 'QUEUED')
  t.same(await client.command('GET'), { error: "ERR wrong number of arguments for 'get' command" })
  t.same(await client.command('EXEC'), { error: 'EXECABORT Transaction discarded because of previous errors.' })
  t.equal(await client.command('GET', 'a'), null)
})

t.test('a run-time error inside EXEC answers in its slot and the rest applies', async (t) => {
  const { client } = await setup(t)
  await client.command('SET', 's', 'text')
  await client.command('MULTI')
  await client.command('INCR', 's')
  await client.command('SET', 'x', '1', 'BADOPTION')
  await client.command('SET', 'y', '2')
  t.same(await client.command('EXEC'), [{ error: 'ERR value is not an integer or out of range' }, { error: 'ERR syntax error' }, 'OK'])
  t.equal(await client.command('GET', 'y'), '2')
})

t.test('SCAN inside MULTI is queued and answers in EXEC, seeing the commands queued before it, as in Redis', async (t) => {
  const { client } = await setup(t)
  await client.command('SET', 'old', 'x')
  t.equal(await client.command('MULTI'), 'OK')
  t.equal(await client.command('SET', 'new', 'y'), 'QUEUED')
  t.equal(await client.command('SCAN', '0', 'COUNT', '1000'), 'QUEUED')
  t.equal(await client.command('SCAN', '0', 'MATCH', 'n*', 'TYPE', 'string'), 'QUEUED')
  t.equal(await client.command('SCAN', '0', 'TYPE', 'hash'), 'QUEUED')
  t.equal(await client.command('SCAN', 'abc', 'COUNT'), 'QUEUED')
  t.equal(await client.command('SCAN', '0', 'COUNT'), 'QUEUED')
  const [set, all, matched, hashes, badCursor, badOption] = (await client.command('EXEC')) as [string, [string, string[]], [string, string[]], unknown, unknown, unknown]
  t.equal(set, 'OK')
  t.same([all[0], [...all[1]].sort()], ['0', ['new', 'old']])
  t.same(matched, ['0', ['new']])
  t.same(hashes, ['0', []])
  t.same(badCursor, { error: 'ERR invalid cursor' })
  t.same(badOption, { error: 'ERR syntax error' })
})

t.test('MULTI nesting, EXEC and DISCARD without MULTI are errors', async (t) => {
  const { client } = await setup(t)
  t.same(await client.command('EXEC'), { error: 'ERR EXEC without MULTI' })
  t.same(await client.command('DISCARD'), { error: 'ERR DISCARD without MULTI' })
  await client.command('MULTI')
  t.same(await client.command('MULTI'), { error: 'ERR MULTI calls can not be nested' })
  t.same(await client.command('WATCH', 'k'), { error: 'ERR WATCH inside MULTI is not allowed' })
  await client.command('SET', 'k', 'v')
  t.equal(await client.command('DISCARD'), 'OK')
  t.equal(await client.command('GET', 'k'), null)
})

t.test('WATCH aborts EXEC when the key changed in between', async (t) => {
  const { client, port } = await setup(t)
  const other = await RawClient.connect(port, t)
  await client.command('SET', 'k', '1')
  t.equal(await client.command('WATCH', 'k'), 'OK')
  await other.command('SET', 'k', '2')
  await client.command('MULTI')
  await client.command('SET', 'k', '3')
  t.equal(await client.command('EXEC'), null)
  t.equal(await client.command('GET', 'k'), '2')
})

t.test('WATCH lets EXEC run when nothing changed, and UNWATCH forgets', async (t) => {
  const { client, port } = await setup(t)
  const other = await RawClient.connect(port, t)
  await client.command('WATCH', 'k')
  await client.command('MULTI')
  await client.command('SET', 'k', '1')
  t.same(await client.command('EXEC'), ['OK'])
  await client.command('WATCH', 'k')
  await other.command('SET', 'k', '2')
  t.equal(await client.command('UNWATCH'), 'OK')
  await client.command('MULTI')
  await client.command('SET', 'k', '3')
  t.same(await client.command('EXEC'), ['OK'])
})

t.test('READONLY makes reads stale on this connection and READWRITE restores linearizable', async (t) => {
  const { client, backend } = await setup(t)
  await client.command('READONLY')
  await client.command('GET', 'k')
  await client.command('READWRITE')
  await client.command('GET', 'k')
  const reads = backend.calls.filter((call) => call.kind === 'read').map((call) => call.consistency)
  t.same(reads, ['stale', 'linearizable'])
})

t.test('no leader: -CLUSTERDOWN; unknown outcome: -TIMEOUT that says it may have applied', async (t) => {
  const { client, backend } = await setup(t)
  backend.clusterDown = true
  t.match(await client.command('SET', 'k', 'v'), { error: /^CLUSTERDOWN / })
  t.match(await client.command('GET', 'k'), { error: /^CLUSTERDOWN / })
  backend.clusterDown = false
  backend.unknownOutcome = true
  t.match(await client.command('SET', 'k', 'v'), { error: /^TIMEOUT .*may or may not have been applied/ })
})

t.test('HELLO 3 answers NOPROTO and HELLO 2 answers the server fields', async (t) => {
  const { client } = await setup(t)
  t.same(await client.command('HELLO', '3'), { error: 'NOPROTO unsupported protocol version' })
  const fields = (await client.command('HELLO', '2')) as RawReply[]
  t.equal(fields[0], 'server')
  t.equal(fields[5], 2)
})

t.test('CLIENT SETNAME, GETNAME, ID, SETINFO, INFO and LIST', async (t) => {
  const { client } = await setup(t)
  t.equal(await client.command('CLIENT', 'GETNAME'), null)
  t.equal(await client.command('CLIENT', 'SETNAME', 'worker-1'), 'OK')
  t.equal(await client.command('CLIENT', 'GETNAME'), 'worker-1')
  t.same(await client.command('CLIENT', 'SETNAME', 'a b'), { error: 'ERR Client names cannot contain spaces, newlines or special characters.' })
  const id = await client.command('CLIENT', 'ID')
  t.type(id, 'number')
  t.equal(await client.command('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'), 'OK')
  t.match(await client.command('CLIENT', 'INFO'), new RegExp(`^id=${id} .*name=worker-1 .*lib-name=mylib`))
  t.match(await client.command('CLIENT', 'LIST'), /name=worker-1/)
  t.same(await client.command('CLIENT', 'BOGUS'), { error: "ERR unknown subcommand 'BOGUS'. Try CLIENT HELP." })
})

t.test('COMMAND COUNT, INFO and DOCS describe the table', async (t) => {
  const { client } = await setup(t)
  const count = (await client.command('COMMAND', 'COUNT')) as number
  t.ok(count > 40)
  const [get, missing] = (await client.command('COMMAND', 'INFO', 'get', 'nosuch')) as RawReply[][]
  t.same(get?.slice(0, 6), ['get', 2, ['readonly', 'fast'], 1, 1, 1])
  t.equal(missing, null)
  const docs = (await client.command('COMMAND', 'DOCS', 'set')) as RawReply[]
  t.equal(docs[0], 'set')
  t.equal(((await client.command('COMMAND')) as unknown[]).length, count)
})

t.test('INFO has loading:0, a role and a Raft section', async (t) => {
  const { client } = await setup(t)
  const text = (await client.command('INFO')) as string
  t.match(text, /loading:0\r\n/)
  t.match(text, /role:master\r\n/)
  t.match(text, /# Raft\r\nraft_node_id:n1\r\nraft_role:leader\r\nraft_term:3\r\n/)
  t.match(text, /raft_member1:id=n2,role=voter/)
  t.notMatch((await client.command('INFO', 'raft')) as string, /# Server/)
})

t.test('INFO raft lists each member with its incarnation', async (t) => {
  const { client } = await setup(t)
  const text = (await client.command('INFO', 'raft')) as string
  t.match(text, /raft_member0:id=n1,role=voter,[^\r]*,incarnation=inc-n1\r\n/)
  t.match(text, /raft_member1:id=n2,role=voter,[^\r]*,incarnation=inc-n2\r\n/)
})

t.test('INFO keyspace counts the keys and the keys with a TTL, as Redis does', async (t) => {
  const { client } = await setup(t)
  await client.command('SET', 'plain', 'v')
  await client.command('SET', 'ex', 'v', 'EX', '100')
  await client.command('SET', 'later', 'v')
  await client.command('PEXPIRE', 'later', '100000')
  t.equal(await client.command('INFO', 'keyspace'), '# Keyspace\r\ndb0:keys=3,expires=2,avg_ttl=0\r\n')
})

t.test('CLUSTER SLOTS, SHARDS, INFO and MYID show the leader as master of every slot', async (t) => {
  const { client, backend } = await setup(t)
  t.same(await client.command('CLUSTER', 'SLOTS'), [[0, 16383, ['127.0.0.1', 7001, 'n1'], ['127.0.0.1', 7002, 'n2']]])
  t.match(await client.command('CLUSTER', 'INFO'), /cluster_state:ok\r\n/)
  t.equal(await client.command('CLUSTER', 'MYID'), 'n1')
  const shards = (await client.command('CLUSTER', 'SHARDS')) as RawReply[][]
  t.same(shards[0]?.slice(0, 2), ['slots', [0, 16383]])
  backend.follow(null)
  t.match(await client.command('CLUSTER', 'SLOTS'), { error: /^CLUSTERDOWN/ })
  t.match(await client.command('CLUSTER', 'INFO'), /cluster_state:fail/)
})

t.test('MOVED mode sends writes on a follower to the leader with the key slot', async (t) => {
  const { client, backend } = await setup(t, { movedMode: true })
  backend.follow('n2')
  t.same(await client.command('SET', 'foo', 'v'), { error: 'MOVED 12182 127.0.0.1:7002' })
  t.same(await client.command('GET', 'foo'), { error: 'MOVED 12182 127.0.0.1:7002' })
  await client.command('READONLY')
  t.equal(await client.command('GET', 'foo'), null, 'READONLY reads locally')
  t.equal(backend.calls.filter((call) => call.kind === 'write').length, 0)
})

t.test('RAFT commands pass through to the backend admin and map its errors', async (t) => {
  const { client, backend } = await setup(t)
  t.equal(await client.command('RAFT', 'STATUS'), backend.statusJson())
  t.match(await client.command('RAFT', 'ADD', 'n3', '127.0.0.1:7103'), /"op":"add"/)
  t.same(backend.adminCalls.at(-1), { op: 'add', args: ['n3', '127.0.0.1:7103'] })
  t.same(await client.command('RAFT', 'REMOVE', 'nobody'), { error: "ERR no member 'nobody'" })
  t.same(await client.command('RAFT', 'REMOVE'), { error: "ERR wrong number of arguments for 'raft|remove' command" })
  t.match(await client.command('RAFT', 'BOGUS'), { error: /^ERR unknown subcommand 'BOGUS'/ })
  backend.clusterDown = true
  t.match(await client.command('RAFT', 'TRANSFER-LEADER', 'n2'), { error: /^CLUSTERDOWN/ })
})

t.test('QUIT answers OK and closes the connection', async (t) => {
  const { client } = await setup(t)
  client.write(Buffer.concat([encodeCommand(['QUIT']), encodeCommand(['PING'])]))
  await client.waitClosed()
  t.same(client.replies, ['OK'])
})

t.test('a backend that throws something unexpected gives -ERR, not a crash', async (t) => {
  const { client, backend } = await setup(t)
  backend.write = async () => {
    throw new TypeError('boom')
  }
  t.match(await client.command('SET', 'k', 'v'), { error: /^ERR internal error/ })
  backend.read = async () => {
    throw new ClusterDownError('still electing')
  }
  t.same(await client.command('GET', 'k'), { error: 'CLUSTERDOWN still electing' })
})
