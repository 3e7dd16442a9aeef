// Pub/Sub as a client sees it, side by side against a real redis-server (the
// reference where Redis defines a behaviour): PUBLISH's count inside MULTI,
// CLIENT LIST's sub=/psub=/flags=P, INFO stats' pubsub lines, and HELLO on a
// server without RESP3. raftkv's side is one RESP server over an in-memory
// state machine whose events go to a FeedHub (a single node: its receivers
// are all the receivers). Skipped without redis-server, failed under CI=true.
import t, { type Test } from 'tap'
import { FeedHub } from '../../lib/feeds/feed-hub.js'
import { silentLogger } from '../../lib/util/logger.js'
import { haveRedisServer, RedisProcess } from '../redis-diff/redis-process.js'
import { FakeBackend } from '../server/fake-backend.js'
import { encodeCommand, RawClient, startTestServer, type RawReply } from '../server/helpers.js'
import { skipWhenMissing } from '../util/missing-tool.js'

const skip = skipWhenMissing(haveRedisServer() ? false : 'redis-server is not on PATH (apt-get install redis-server)')

interface Side {
  readonly name: string
  readonly port: number
}

async function raftkvPort(t: Test): Promise<number> {
  const backend = new FakeBackend()
  const feeds = new FeedHub(0, silentLogger())
  backend.machine.setEventSink(feeds)
  return (await startTestServer(t, { backend, feeds })).port
}

async function bothSides(t: Test): Promise<Side[]> {
  const redis = await RedisProcess.start()
  t.teardown(() => redis.stop())
  return [{ name: 'raftkv', port: await raftkvPort(t) }, { name: 'redis-server', port: redis.port }]
}

/** One subscriber to a channel, one to a pattern, one to both, and a client that publishes. */
async function subscribers(t: Test, port: number) {
  const channel = await RawClient.connect(port, t)
  const pattern = await RawClient.connect(port, t)
  const both = await RawClient.connect(port, t)
  const client = await RawClient.connect(port, t)
  await channel.command('SUBSCRIBE', 'news')
  await pattern.command('PSUBSCRIBE', 'n*')
  both.write(Buffer.concat([encodeCommand(['SUBSCRIBE', 'news', 'sport']), encodeCommand(['PSUBSCRIBE', 's*'])]))
  await both.waitReplies(3)
  return { channel, pattern, both, client }
}

/** CLIENT LIST's Pub/Sub fields for the connection whose local port is `localPort`. */
function pubsubFields(list: RawReply, localPort: number | undefined): string {
  const line = String(list).split('\n').find((l) => l.includes(` addr=127.0.0.1:${localPort} `)) ?? ''
  return line.split(' ').filter((field) => /^(flags|sub|psub|ssub|multi)=/.test(field)).join(' ')
}

function infoPubsubLines(info: RawReply): string[] {
  return String(info).split('\r\n').filter((line) => line.startsWith('pubsub'))
}

t.test('PUBLISH inside MULTI answers the receivers it reaches, as redis-server does, and they get the messages', { skip }, async (t) => {
  const seen: Record<string, unknown> = {}
  for (const { name, port } of await bothSides(t)) {
    const { channel, pattern, both, client } = await subscribers(t, port)
    t.equal(await client.command('MULTI'), 'OK')
    for (const [ch, msg] of [['news', 'a'], ['sport', 'b'], ['nothing', 'c'], ['none', 'd']]) t.equal(await client.command('PUBLISH', ch as string, msg as string), 'QUEUED')
    const exec = await client.command('EXEC')
    await channel.until(() => channel.replies.length === 2, 'the channel subscriber\'s message')
    await pattern.until(() => pattern.replies.length === 4, 'the pattern subscriber\'s messages')
    await both.until(() => both.replies.length === 6, 'the other subscriber\'s messages')
    seen[name] = { exec, channel: channel.replies, pattern: pattern.replies, both: both.replies }
    t.same(exec, [3, 2, 1, 1], `${name}: news reaches 3 subscriptions, sport 2, nothing and none 1 (the n* pattern)`)
  }
  t.same(seen['raftkv'], seen['redis-server'], 'the same replies and messages')
})

t.test('CLIENT LIST shows a subscriber with flags=P and its sub=/psub= counts, as redis-server does', { skip }, async (t) => {
  const seen: Record<string, string[]> = {}
  for (const { name, port } of await bothSides(t)) {
    const { channel, pattern, both, client } = await subscribers(t, port)
    const lines: string[] = []
    const list = async (): Promise<void> => {
      const reply = await client.command('CLIENT', 'LIST')
      for (const c of [channel, pattern, both, client]) lines.push(pubsubFields(reply, c.socket.localPort))
    }
    await list()
    await channel.command('UNSUBSCRIBE', 'news')
    await both.command('PUNSUBSCRIBE')
    await list()
    seen[name] = lines
    t.same(lines.slice(0, 4), ['flags=P sub=1 psub=0 ssub=0 multi=-1', 'flags=P sub=0 psub=1 ssub=0 multi=-1', 'flags=P sub=2 psub=1 ssub=0 multi=-1', 'flags=N sub=0 psub=0 ssub=0 multi=-1'], name)
    t.equal(lines[4], 'flags=N sub=0 psub=0 ssub=0 multi=-1', `${name}: a connection that left every subscription leaves subscriber mode`)
  }
  t.same(seen['raftkv'], seen['redis-server'])
})

t.test('INFO stats counts channels and distinct patterns with a subscriber, as redis-server does', { skip }, async (t) => {
  const seen: Record<string, string[][]> = {}
  for (const { name, port } of await bothSides(t)) {
    const client = await RawClient.connect(port, t)
    const before = infoPubsubLines(await client.command('INFO', 'stats'))
    const { channel, pattern } = await subscribers(t, port)
    await pattern.command('PSUBSCRIBE', 'n*', 'x*')
    await channel.command('SUBSCRIBE', 'weather')
    const during = infoPubsubLines(await client.command('INFO', 'stats'))
    seen[name] = [before, during]
    t.same(during, ['pubsub_channels:3', 'pubsub_patterns:3', 'pubsubshard_channels:0'], `${name}: news, sport, weather; n*, s*, x*`)
  }
  t.same(seen['raftkv'], seen['redis-server'])
})

t.test('HELLO 3 answers what redis-server answers for a protocol version it does not have, and the connection stays in RESP2', { skip }, async (t) => {
  const [raftkv, redis] = await bothSides(t)
  const ours = await RawClient.connect((raftkv as Side).port, t)
  const theirs = await RawClient.connect((redis as Side).port, t)
  // redis-server has RESP3; 4 is a version it lacks, as 3 is here.
  for (const rest of [[], ['SETNAME', 'x'], ['AUTH', 'default', 'pw']]) {
    t.same(await ours.command('HELLO', '3', ...rest), await theirs.command('HELLO', '4', ...rest), `HELLO <version> ${rest.join(' ')}`)
  }
  t.same(await ours.command('HELLO', '3'), { error: 'NOPROTO unsupported protocol version' })
  t.equal(await ours.command('PING'), 'PONG')
  t.equal(await ours.command('CLIENT', 'GETNAME'), null, 'a refused HELLO sets no name')
  t.match(await ours.command('CLIENT', 'INFO'), / resp=2 /)
})
