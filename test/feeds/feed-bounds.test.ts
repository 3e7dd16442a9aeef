// The change feeds' bounds, on real sockets in one process: a RESP server and
// the HTTP shim over one in-memory state machine whose events go to a FeedHub.
// A subscriber or watcher that stops reading is cut off at its byte limit
// (with a warning in the log and the metric), and one connection past
// SUBSCRIBERS_MAX / WATCHERS_MAX is refused with a clear error and counted.
import net from 'node:net'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import t from 'tap'
import { FeedHub } from '../../lib/feeds/feed-hub.js'
import type { FeedLimits } from '../../lib/config/feed-limits.js'
import { registerFeedMetrics } from '../../lib/feeds/feed-metrics.js'
import { startHttpServer } from '../../lib/server/http/http-server.js'
import { startRespServer } from '../../lib/server/resp/resp-server.js'
import { FakeBackend } from '../server/fake-backend.js'
import { RawClient, waitFor } from '../server/helpers.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

interface LogLine {
  level: number
  msg: string
}

const WARN_LEVEL = 40

async function startFeeds(t: Teardown, limits: Partial<FeedLimits>) {
  const lines: LogLine[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) })
  const backend = new FakeBackend()
  const hub = new FeedHub(0, logger, { limits: { historyBytesMax: 1024 * 1024, ...limits } })
  backend.machine.setEventSink(hub)
  const registry = new Registry()
  registerFeedMetrics(registry, hub)
  const resp = await startRespServer({ addr: '127.0.0.1:0', backend, logger, feeds: hub })
  t.teardown(() => resp.close())
  const http = await startHttpServer({ addr: '127.0.0.1:0', backend, logger, feeds: hub, metricsText: () => registry.metrics() })
  t.teardown(() => http.close())
  const metric = async (name: string, kind: string): Promise<number> => {
    const text = await registry.getSingleMetricAsString(name)
    const match = new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)
    return match === null ? Number.NaN : Number(match[1])
  }
  const warned = (text: string): number => lines.filter((l) => l.level === WARN_LEVEL && l.msg.includes(text)).length
  return { backend, hub, respPort: resp.address.port, httpPort: http.address.port, metric, warned }
}

/** A /watch stream on a raw socket, so the test decides when (and whether) it reads. */
async function openWatch(t: Teardown, port: number): Promise<{ socket: net.Socket; received: () => string }> {
  const socket = net.connect({ host: '127.0.0.1', port })
  t.teardown(() => socket.destroy())
  socket.on('error', () => {})
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.write('GET /watch?prefix= HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await waitFor(() => text.includes('\nid: '), 'the watch stream to start')
  return { socket, received: () => text }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('a subscriber that stops reading is disconnected at SUBSCRIBER_OUTPUT_BYTES_MAX, logged and counted, while PUBLISH keeps answering', async (t) => {
  const feeds = await startFeeds(t, { subscriberOutputBytesMax: 256 * 1024 })
  const subscriber = await RawClient.connect(feeds.respPort, t)
  t.same(await subscriber.command('SUBSCRIBE', 'news'), ['subscribe', 'news', 1])
  subscriber.socket.pause()
  const publisher = await RawClient.connect(feeds.respPort, t)
  const payload = 'x'.repeat(64 * 1024)
  // Loopback socket buffers hold a few MB before the server's queue grows; 64 MB is far past that.
  let answers = 0
  for (let i = 0; i < 1000 && feeds.hub.counters.slowSubscriberDisconnects === 0; i++) {
    const reply = await publisher.command('PUBLISH', 'news', payload)
    if (typeof reply === 'number') answers++
  }
  t.equal(feeds.hub.counters.slowSubscriberDisconnects, 1, 'the subscriber was disconnected for slowness')
  t.ok(answers > 1, `every PUBLISH was answered while the subscriber did not read (${answers})`)
  t.equal(feeds.warned('slow subscriber'), 1, 'one warning in the log')
  t.equal(await feeds.metric('raftkv_slow_consumer_disconnects_total', 'subscriber'), 1)
  await waitFor(() => feeds.hub.subscriberCount === 0, 'the subscriber to be forgotten')
  t.same(await publisher.command('PUBLISH', 'news', 'after'), 0, 'nobody receives what is published next')
  subscriber.socket.resume()
  await subscriber.waitClosed()
})

t.test('a subscriber that reads keeps its connection through the same traffic', async (t) => {
  const feeds = await startFeeds(t, { subscriberOutputBytesMax: 256 * 1024 })
  const subscriber = await RawClient.connect(feeds.respPort, t)
  await subscriber.command('SUBSCRIBE', 'news')
  const publisher = await RawClient.connect(feeds.respPort, t)
  const payload = 'x'.repeat(64 * 1024)
  for (let i = 0; i < 20; i++) t.equal(await publisher.command('PUBLISH', 'news', payload), 1, `publish ${i} reaches it`)
  await subscriber.until(() => subscriber.replies.length === 21, 'every message')
  t.equal(feeds.hub.counters.slowSubscriberDisconnects, 0)
  t.notOk(subscriber.closed)
})

t.test('a watcher that stops reading is closed at WATCHER_OUTPUT_BYTES_MAX, logged and counted, and writes go on', async (t) => {
  const feeds = await startFeeds(t, { watcherOutputBytesMax: 256 * 1024 })
  const watch = await openWatch(t, feeds.httpPort)
  watch.socket.pause()
  const value = Buffer.alloc(64 * 1024, 'v')
  let written = 0
  for (let i = 0; i < 1000 && feeds.hub.counters.slowWatcherDisconnects === 0; i++) {
    await feeds.backend.write({ ops: [{ t: 'mset', pairs: [{ key: Buffer.from(`k${i}`), value }] }], watches: [] })
    written++
    await turn() // the registry hands events over once per turn
  }
  t.equal(feeds.hub.counters.slowWatcherDisconnects, 1, 'the watcher was closed for slowness')
  t.equal(feeds.warned('slow watcher'), 1, 'one warning in the log')
  t.equal(await feeds.metric('raftkv_slow_consumer_disconnects_total', 'watcher'), 1)
  t.equal(feeds.hub.watchers.size, 0, 'its stream is no longer fed')
  await feeds.backend.write({ ops: [{ t: 'mset', pairs: [{ key: Buffer.from('after'), value }] }], watches: [] })
  t.equal(feeds.hub.history.after(feeds.hub.history.horizon)?.at(-1)?.key, 'after', `writes are applied after the disconnect (${written} before it)`)
  const closed = new Promise((resolve) => watch.socket.once('close', resolve))
  watch.socket.resume()
  await closed
})

t.test('one more subscriber than SUBSCRIBERS_MAX is refused with an error and counted; a freed place can be taken', async (t) => {
  const feeds = await startFeeds(t, { subscribersMax: 1 })
  const first = await RawClient.connect(feeds.respPort, t)
  const second = await RawClient.connect(feeds.respPort, t)
  t.same(await first.command('SUBSCRIBE', 'a'), ['subscribe', 'a', 1])
  t.same(await first.command('PSUBSCRIBE', 'b*'), ['psubscribe', 'b*', 2], 'a subscriber may add subscriptions')
  t.same(await second.command('SUBSCRIBE', 'a'), { error: 'ERR max number of subscribers reached' })
  t.same(await second.command('PSUBSCRIBE', 'b*'), { error: 'ERR max number of subscribers reached' })
  t.equal(await second.command('GET', 'k'), null, 'the refused connection is not in subscriber mode')
  t.equal(feeds.hub.counters.subscribersRefused, 2)
  t.equal(await feeds.metric('raftkv_feed_refusals_total', 'subscriber'), 2)
  await first.command('UNSUBSCRIBE')
  t.same(await first.command('PUNSUBSCRIBE'), ['punsubscribe', 'b*', 0])
  t.same(await second.command('SUBSCRIBE', 'a'), ['subscribe', 'a', 1], 'the place freed by the first is taken')
})

t.test('one more watcher than WATCHERS_MAX is answered 503 with the limit named, and counted', async (t) => {
  const feeds = await startFeeds(t, { watchersMax: 1 })
  const first = await openWatch(t, feeds.httpPort)
  const refused = await fetch(`http://127.0.0.1:${feeds.httpPort}/watch?key=k`)
  t.equal(refused.status, 503)
  t.equal(refused.headers.get('retry-after'), '1')
  t.match(await refused.text(), /WATCHERS_MAX 1/)
  t.equal(feeds.hub.counters.watchersRefused, 1)
  t.equal(await feeds.metric('raftkv_feed_refusals_total', 'watcher'), 1)
  first.socket.destroy()
  await waitFor(() => feeds.hub.watchers.size === 0, 'the first stream to end')
  const second = await openWatch(t, feeds.httpPort)
  t.match(second.received(), /^HTTP\/1\.1 200/, 'its place is taken')
})

t.test('a resume longer than a page is replayed whole and in order to a client that reads late, and a write made during it comes after it, once', async (t) => {
  const feeds = await startFeeds(t, { historyBytesMax: 64 * 1024 * 1024 })
  const value = Buffer.alloc(1000, 'v')
  // 10 MB of replay: more than the sockets between here and the client hold, so the replay waits for the client.
  const count = 10_000
  for (let i = 0; i < count; i++) await feeds.backend.write({ ops: [{ t: 'mset', pairs: [{ key: Buffer.from(`k${i}`), value }] }], watches: [] })
  const socket = net.connect({ host: '127.0.0.1', port: feeds.httpPort })
  t.teardown(() => socket.destroy())
  socket.pause()
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.write('GET /watch?prefix=&from=0 HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await waitFor(() => feeds.hub.watchers.size === 1, 'the watch to start its replay')
  await feeds.backend.write({ ops: [{ t: 'mset', pairs: [{ key: Buffer.from('live'), value: Buffer.from('x') }] }], watches: [] })
  socket.resume()
  await waitFor(() => text.includes('"key":"live"'), 'the live write')
  const keys = [...text.matchAll(/"index":(\d+),"op":"set","key":"([^"]+)"/g)].map((m) => [Number(m[1]), m[2]] as const)
  t.same(keys.map(([, key]) => key), [...Array.from({ length: count }, (_, i) => `k${i}`), 'live'], 'every change once, the live one last')
  t.ok(keys.every(([index], i) => i === 0 || index > (keys[i - 1] as readonly [number, string])[0]), 'indexes increase')
})
