// Change feeds against real processes: Pub/Sub across nodes, keyspace
// notifications in write order (compared with a real redis-server when one
// is installed), /watch streams across a leader failure and a resume on
// another node, and a subscriber that stops reading.
import { execFile, spawn } from 'node:child_process'
import net from 'node:net'
import { promisify } from 'node:util'
import t from 'tap'
import { Redis } from 'ioredis'
import { skipWhenMissing } from '../util/missing-tool.js'
import { ProcessCluster, freePort, type ProcessNode } from './process-cluster.js'
import { SseWatch, type WatchEvent } from './sse-watch.js'

const run = promisify(execFile)
const haveRedisCli = await run('redis-cli', ['--version']).then(() => true, () => false)
const haveRedisServer = await run('redis-server', ['--version']).then(() => true, () => false)

function redisCli(port: number, args: string[]): Promise<string> {
  return run('redis-cli', ['-p', String(port), ...args]).then((r) => r.stdout.trim())
}

/** Small, so one test can push old changes out of the history; still far more than a resume needs here. */
const historyEntries = 1000

const watchUrl = (node: ProcessNode, query: string): string => `http://127.0.0.1:${node.spec.httpPort}/watch?${query}`

/** The keyspace-event sequence a subscriber sees for one fixed script of commands. */
async function keyeventScript(client: Redis, received: () => string[], count: number, wait: (cond: () => boolean, what: string) => Promise<void>): Promise<string[]> {
  await client.set('ks:a', '1')
  await client.set('ks:b', '2')
  await client.del('ks:a')
  await client.expire('ks:b', 100)
  await client.append('ks:b', 'x')
  // The only timed step comes last before the wait, so no later command can race the expiry.
  await client.set('ks:c', '3', 'PX', 50)
  await wait(() => received().some((e) => e === 'expired ks:c'), 'ks:c to expire')
  await client.set('ks:d', '4')
  await wait(() => received().length >= count, `${count} keyspace events`)
  return received()
}

t.test('change feeds on a three-node cluster', async (t) => {
  const cluster = new ProcessCluster({
    NOTIFY_KEYSPACE_EVENTS: 'KEA',
    SUBSCRIBER_OUTPUT_BYTES_MAX: String(256 * 1024),
    WATCH_HEARTBEAT_MS: '300',
    WATCH_HISTORY_ENTRIES: String(historyEntries),
  })
  t.teardown(() => cluster.stop())
  await cluster.start(3)
  const wait = (cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => cluster.waitFor(async () => cond(), what, timeoutMs)
  const followers = async (): Promise<ProcessNode[]> => {
    const leader = await cluster.waitForLeader()
    return cluster.nodes.filter((n) => n !== leader && n.running())
  }
  const caughtUp = (restarted: ProcessNode, reference: ProcessNode): Promise<void> =>
    cluster.waitFor(async () => {
      const [a, b] = await Promise.all([restarted.status(), reference.status()])
      return a !== null && b !== null && a.leader !== null && a.appliedIndex >= b.commitIndex
    }, `${restarted.spec.id} to restart and catch up`)
  const clients: Redis[] = []
  t.teardown(() => clients.forEach((c) => c.disconnect()))
  const client = (node: ProcessNode): Redis => {
    const c = node.redis()
    clients.push(c)
    return c
  }

  await t.test('subscribers on every node receive what redis-cli publishes through another node, in one order', { skip: skipWhenMissing(haveRedisCli ? false : 'redis-cli is not installed (apt-get install redis-tools)') }, async (t) => {
    const [f1, f2] = await followers()
    const leader = await cluster.waitForLeader()
    const onFollower: string[] = []
    const onLeader: string[] = []
    const sub1 = client(f1 as ProcessNode)
    const sub2 = client(leader)
    sub1.on('message', (ch: string, m: string) => onFollower.push(`${ch} ${m}`))
    sub1.on('pmessage', (p: string, ch: string, m: string) => onFollower.push(`${p} ${ch} ${m}`))
    sub2.on('message', (ch: string, m: string) => onLeader.push(`${ch} ${m}`))
    await sub1.subscribe('news')
    await sub1.psubscribe('n*s')
    await sub2.subscribe('news')
    t.equal(await redisCli((f2 as ProcessNode).spec.respPort, ['PUBLISH', 'news', 'first']), '0', "PUBLISH counts this node's receivers: none on the publishing follower")
    t.equal(await redisCli((f1 as ProcessNode).spec.respPort, ['PUBLISH', 'news', 'second']), '2', 'the follower holds one channel and one pattern subscription')
    // Two publishers on two nodes at once: the log puts their messages in one order.
    const a = client(f2 as ProcessNode)
    const b = client(leader)
    await Promise.all([...Array(20).keys()].map((i) => (i % 2 === 0 ? a : b).publish('news', `m${i}`)))
    await wait(() => onLeader.length >= 22 && onFollower.length >= 44, 'every message on both nodes')
    const channelOrder = onFollower.filter((m) => m.startsWith('news '))
    t.same(channelOrder, onLeader, 'the follower and the leader deliver the same messages in the same order')
    t.same(onFollower.filter((m) => m.startsWith('n*s ')).map((m) => m.slice(4)), channelOrder, 'pattern messages come in the same order')
    t.same(channelOrder.slice(0, 2), ['news first', 'news second'])
    t.same(await a.call('pubsub', 'numsub', 'news'), ['news', 0])
    t.same(await client(f1 as ProcessNode).call('pubsub', 'numsub', 'news'), ['news', 1])
    t.equal(await client(f1 as ProcessNode).call('pubsub', 'numpat'), 1)
    // ioredis refuses other commands in subscriber mode itself: ask over a plain socket.
    const raw = await rawExchange(f1 as ProcessNode, 'SUBSCRIBE c\r\nGET x\r\nPING\r\n', 3)
    t.equal(raw, "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n", 'subscriber mode answers as redis-server 7.0 does')
  })

  await t.test('keyspace events for SET, DEL, EXPIRE and expiry reach a follower in write order, as redis-server sends them', async (t) => {
    const [follower, other] = await followers()
    const seen: string[] = []
    const admin = client(follower as ProcessNode)
    t.equal(await admin.config('SET', 'notify-keyspace-events', 'Kgn'), 'OK')
    t.same(await admin.config('GET', 'notify-keyspace-events'), ['notify-keyspace-events', 'gnK'], 'read back as redis-server 7.0 prints it')
    t.equal(await admin.config('SET', 'notify-keyspace-events', 'KEA'), 'OK', 'back to what every node started with')
    const sub = client(follower as ProcessNode)
    sub.on('pmessage', (_p: string, channel: string, key: string) => {
      if (key.startsWith('ks:')) seen.push(`${channel.slice('__keyevent@0__:'.length)} ${key}`)
    })
    await sub.psubscribe('__keyevent@0__:*')
    const expected = ['set ks:a', 'set ks:b', 'del ks:a', 'expire ks:b', 'append ks:b', 'set ks:c', 'expire ks:c', 'expired ks:c', 'set ks:d']
    const ours = await keyeventScript(client(other as ProcessNode), () => seen, expected.length, wait)
    t.same(ours, expected)
    if (skipWhenMissing(haveRedisServer ? false : 'redis-server is not installed (apt-get install redis-server)') !== false) return
    // The same script against redis-server, its notifications on the same pattern.
    const port = await freePort()
    const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--notify-keyspace-events', 'KEA'], { stdio: 'ignore' })
    t.teardown(() => server.kill('SIGKILL'))
    await cluster.waitFor(() => redisCli(port, ['PING']).then((r) => r === 'PONG', () => false), 'redis-server')
    const redisSeen: string[] = []
    const rsub = new Redis({ port, host: '127.0.0.1' })
    const rcli = new Redis({ port, host: '127.0.0.1' })
    clients.push(rsub, rcli)
    rsub.on('pmessage', (_p: string, channel: string, key: string) => redisSeen.push(`${channel.slice('__keyevent@0__:'.length)} ${key}`))
    await rsub.psubscribe('__keyevent@0__:*')
    t.same(await keyeventScript(rcli, () => redisSeen, expected.length, wait), ours, 'redis-server sends the same events in the same order')
  })

  await t.test('a watcher on a follower keeps receiving while the leader is killed', async (t) => {
    const leader = await cluster.waitForLeader()
    const [follower, other] = (await followers()) as [ProcessNode, ProcessNode]
    const watch = new SseWatch(watchUrl(follower, 'prefix=w:'))
    const writer = client(other)
    await wait(() => watch.status === 200, 'the watch to open')
    for (let i = 0; i < 5; i++) await writer.set(`w:${i}`, `v${i}`)
    await wait(() => watch.events.length >= 5, 'five changes before the failure')
    await leader.kill('SIGKILL')
    await cluster.waitForLeader()
    // NX: a retry after an unknown outcome cannot apply (and report) the write twice.
    for (let i = 5; i < 10; i++) await retry(() => writer.set(`w:${i}`, `v${i}`, 'NX'))
    await wait(() => watch.events.length >= 10, 'five changes after the failure')
    t.same(watch.events.map((e) => `${e.op} ${e.key} ${e.value}`), [...Array(10).keys()].map((i) => `set w:${i} v${i}`))
    t.ok(isIncreasing(watch.events), 'indexes increase')
    await wait(() => watch.heartbeats > 0, 'a heartbeat comment')
    watch.close()
    leader.start()
    await caughtUp(leader, other)
  })

  await t.test('a watcher whose node is killed resumes on another node with Last-Event-ID and gets every change exactly once, in order', async (t) => {
    const [watched, writerNode] = (await followers()) as [ProcessNode, ProcessNode]
    const first = new SseWatch(watchUrl(watched, 'prefix=r:'))
    await wait(() => first.status === 200, 'the watch to open')
    const writer = client(writerNode)
    const acked: string[] = []
    let stop = false
    const writes = (async () => {
      for (let i = 0; !stop && i < 2000; i++) {
        // One key rewritten and others created: the checker sees values, keys and deletes.
        await writer.set(`r:${i % 7}`, `v${i}`)
        acked.push(`set r:${i % 7} v${i}`)
        if (i % 5 === 4) {
          await writer.del(`r:${i % 7}`)
          acked.push(`del r:${i % 7} null`)
        }
      }
    })()
    await wait(() => first.events.length >= 50, 'changes before the kill')
    await watched.kill('SIGKILL')
    await first.done
    t.ok(first.lastEventId !== null, 'the first stream gave an id to resume from')
    const second = new SseWatch(watchUrl(writerNode, 'prefix=r:'), first.lastEventId)
    await wait(() => second.status === 200, 'the resumed watch to open')
    await wait(() => acked.length >= first.events.length + 100, 'more writes after the resume')
    stop = true
    await writes
    await wait(() => first.events.length + second.events.length >= acked.length, 'every acknowledged change', 60_000)
    const all = [...first.events.filter((e) => e.index <= Number(first.lastEventId)), ...second.events]
    t.same(all.map((e) => `${e.op} ${e.key} ${e.value}`), acked, 'every acknowledged write once, in order')
    t.ok(isIncreasing(all), 'indexes never go back')
    second.close()
    watched.start()
    await caughtUp(watched, writerNode)
  })

  await t.test('a watch from now starts after every acknowledged write; one from a compacted index is 410 with the oldest index held', async (t) => {
    const [follower, other] = (await followers()) as [ProcessNode, ProcessNode]
    const writer = client(other)
    await writer.set('now:before', '1')
    const watch = new SseWatch(watchUrl(follower, 'prefix=now:'))
    await wait(() => watch.status === 200, 'the watch to open')
    await writer.set('now:after', '2')
    await wait(() => watch.events.length >= 1, 'the change after the start')
    t.same(watch.events.map((e) => e.key), ['now:after'], 'the write acknowledged before the watch began is not reported')
    watch.close()
    // One MSET of more pairs than WATCH_HISTORY_ENTRIES pushes index 0 out of every node's history.
    const pairs: string[] = []
    for (let i = 0; i < historyEntries + 10; i++) pairs.push(`old:${i}`, 'v')
    await writer.mset(...pairs)
    // The follower answers 410 once it has applied the MSET (until then it still holds index 1's successors).
    let body: { oldestIndex?: number; resumeFrom?: number } = {}
    await cluster.waitFor(async () => {
      const res = await fetch(watchUrl(follower, 'prefix=old:&from=1'))
      if (res.status === 410) body = (await res.json()) as typeof body
      else await res.body?.cancel()
      return res.status === 410
    }, 'a 410 for index 1')
    t.ok((body.oldestIndex ?? 0) > 1, `410 names the oldest index held (${String(body.oldestIndex)})`)
    const resumed = new SseWatch(watchUrl(follower, `prefix=old:&from=${String(body.resumeFrom)}`))
    await wait(() => resumed.status !== 0, 'the resume from the oldest index to answer')
    t.equal(resumed.status, 200, 'resuming from the index it names works')
    resumed.close()
    const bad = await fetch(watchUrl(follower, 'key=x&prefix=y'))
    t.equal(bad.status, 400)
    await bad.body?.cancel()
  })

  await t.test('a subscriber that stops reading is disconnected, and writes go on', async (t) => {
    const node = (await followers())[0] as ProcessNode
    const socket = net.connect(node.spec.respPort, '127.0.0.1')
    t.teardown(() => socket.destroy())
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.write('SUBSCRIBE big\r\n')
    await new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.pause()
    const publisher = client(cluster.nodes.find((n) => n !== node && n.running()) as ProcessNode)
    const payload = 'x'.repeat(64 * 1024)
    const metric = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${node.spec.httpPort}/metrics`)).text()
      const m = /raftkv_slow_consumer_disconnects_total\{kind="subscriber"[^}]*\} (\d+)/.exec(text)
      return Number(m?.[1] ?? 0)
    }
    let published = 0
    // Far more than the socket buffers and the 256 KiB limit hold; every PUBLISH must still be answered.
    while (published < 400 && (await metric()) === 0) {
      await Promise.all([...Array(20).keys()].map(() => publisher.publish('big', payload)))
      published += 20
    }
    t.equal(await metric(), 1, 'one slow-subscriber disconnect counted')
    t.match(node.output, /slow subscriber/, 'and logged')
    t.equal(await publisher.set('after', 'ok'), 'OK', 'writes go on')
  })
})

/** Sends `input` on a new connection and returns what came back once `lines` replies' worth of CRLF-ended text arrived. */
async function rawExchange(node: ProcessNode, input: string, replies: number): Promise<string> {
  const socket = net.connect(node.spec.respPort, '127.0.0.1')
  let out = ''
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject)
      socket.on('data', (d: Buffer) => {
        out += d.toString('latin1')
        // subscribe: 6 lines, error: 1, pong array: 5.
        if (out.split('\r\n').length - 1 >= 6 + 1 + 5 && replies === 3) resolve()
      })
      socket.write(input)
    })
  } finally {
    socket.destroy()
  }
  return out
}

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (attempt >= 50) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

function isIncreasing(events: readonly WatchEvent[]): boolean {
  return events.every((e, i) => i === 0 || e.index >= (events[i - 1] as WatchEvent).index)
}
