import t from 'tap'
import { FeedHub } from '../../lib/feeds/feed-hub.js'
import { encodeEnvelope } from '../../lib/kv/command-codec.js'
import { silentLogger } from '../../lib/util/logger.js'
import { formatNotifyFlags, parseNotifyFlags } from '../../lib/feeds/notify-flags.js'
import { PubSubRegistry, type Subscriber } from '../../lib/feeds/pubsub-registry.js'
import { WatchHistory, type ChangeEvent } from '../../lib/feeds/watch-history.js'

const ev = (index: number, key = 'k'): ChangeEvent => ({ index, op: 'set', typeClass: '$', key, value: 'v' })
const put = (h: WatchHistory, e: ChangeEvent): void => h.append(e.index, e.op, e.typeClass, e.key, e.value)

t.test('notify-keyspace-events reads back as redis-server 7.0 prints it', async (t) => {
  // Pairs recorded from CONFIG SET / CONFIG GET on redis-server 7.0.
  const pairs: [string, string][] = [['KEA', 'AKE'], ['Kgn', 'gnK'], ['AKEn', 'AKE'], ['Em', 'Em'], ['g$xE', 'g$xE'], ['KEAm', 'AKEm'], ['Ez', 'zE'], ['K', 'K'], ['', '']]
  for (const [input, shown] of pairs) t.equal(formatNotifyFlags(parseNotifyFlags(input) ?? { keyspace: false, keyevent: false, classes: new Set() }), shown, input)
  t.equal(parseNotifyFlags('KEQ'), null, 'an unknown letter refuses the whole value')
})

t.test('the watch history serves every event after an index it still covers, and refuses older ones', async (t) => {
  const h = new WatchHistory(4, 1 << 20, 10)
  for (const i of [11, 12, 12, 13]) put(h, ev(i))
  t.same(h.after(11)?.map((e) => e.index), [12, 12, 13])
  t.same(h.after(10)?.map((e) => e.index), [11, 12, 12, 13])
  t.equal(h.after(9), null, 'before the index the history started at')
  put(h, ev(14))
  t.equal(h.horizon, 11, 'evicting index 11 moves the horizon to it')
  t.equal(h.after(10), null)
  put(h, ev(15))
  t.equal(h.horizon, 12, 'half of entry 12 evicted: a resume must start after all of it')
  t.same(h.after(12)?.map((e) => e.index), [13, 14, 15])
  h.reset(100)
  t.equal(h.after(99), null, 'a snapshot install restarts the history at its index')
  t.same(h.after(100), [])
})

t.test('a replayed event carries every field it was recorded with', async (t) => {
  const h = new WatchHistory(3, 1 << 20, 0)
  const events: ChangeEvent[] = [
    { index: 1, op: 'set', typeClass: '$', key: 'a', value: 'one' },
    { index: 2, op: 'del', typeClass: 'g', key: 'b', value: null },
    { index: 3, op: 'hset', typeClass: 'h', key: 'c', value: null },
    { index: 4, op: 'expired', typeClass: 'x', key: 'd', value: null },
  ]
  for (const e of events) put(h, e)
  t.same(h.after(1), events.slice(1), 'the ring wrapped once: the oldest is gone, the rest in order')
})

t.test('the watch history is bounded by bytes as well as by count', async (t) => {
  const h = new WatchHistory(1000, 1000, 0)
  for (let i = 1; i <= 100; i++) put(h, { ...ev(i), value: 'x'.repeat(100) })
  t.ok(h.size < 10, `${h.size} events held`)
  t.same(h.after(h.horizon)?.map((e) => e.index).at(-1), 100)
})

t.test('a message reaches channel and pattern subscribers, and PUBSUB counts them as Redis does', async (t) => {
  const r = new PubSubRegistry()
  const got: string[] = []
  const a: Subscriber = { send: (b) => got.push(`a ${b.toString('latin1').replace(/\r\n/g, ' ')}`) }
  const b: Subscriber = { send: (x) => got.push(`b ${x.toString('latin1').replace(/\r\n/g, ' ')}`) }
  r.subscribe(a, 'news')
  r.psubscribe(a, 'n*')
  r.psubscribe(b, 'n*')
  t.equal(r.receivers(Buffer.from('news')), 3)
  t.equal(r.publish(Buffer.from('news'), Buffer.from('hi')), 3)
  t.same(got, ['a *3 $7 message $4 news $2 hi ', 'a *4 $8 pmessage $2 n* $4 news $2 hi ', 'b *4 $8 pmessage $2 n* $4 news $2 hi '])
  t.same(r.activeChannels(null), ['news'])
  t.equal(r.patternCount(), 1, 'NUMPAT counts distinct patterns')
  r.unsubscribe(a, 'news')
  r.punsubscribe(a, 'n*')
  r.punsubscribe(b, 'n*')
  t.ok(r.empty)
  t.equal(r.publish(Buffer.from('news'), Buffer.from('hi')), 0)
})

t.test('the watch history replays an event given as bytes with its own copy, and keys and values of every size', async (t) => {
  const h = new WatchHistory(3, 1 << 24, 0)
  const entry = Buffer.from('..value..', 'latin1')
  h.appendBytes(1, 'set', '$', 'a', entry, 2, 7)
  entry.fill(0)
  const long = 'v'.repeat(5000)
  put(h, { index: 2, op: 'set', typeClass: '$', key: 'k'.repeat(5000), value: long })
  put(h, { index: 3, op: 'set', typeClass: '$', key: 'b', value: Buffer.from('buf') })
  t.same(h.after(0), [
    { index: 1, op: 'set', typeClass: '$', key: 'a', value: 'value' },
    { index: 2, op: 'set', typeClass: '$', key: 'k'.repeat(5000), value: long },
    { index: 3, op: 'set', typeClass: '$', key: 'b', value: 'buf' },
  ])
  for (let i = 4; i < 200; i++) h.appendBytes(i, 'set', '$', `key${i}`, Buffer.from(`value${i}`), 0, 5 + String(i).length)
  t.same(h.after(196), [
    { index: 197, op: 'set', typeClass: '$', key: 'key197', value: 'value197' },
    { index: 198, op: 'set', typeClass: '$', key: 'key198', value: 'value198' },
    { index: 199, op: 'set', typeClass: '$', key: 'key199', value: 'value199' },
  ], 'evicted events give their slots to new ones')
})

t.test('a snapshot keeps the log only after the oldest SET the history holds as an entry, and never more than WATCH_HISTORY_ENTRIES entries before it', async (t) => {
  const entry = encodeEnvelope({
    nowMs: 1, clientId: 'c', seq: 1,
    write: { ops: [{ t: 'set', key: Buffer.from('k'), value: Buffer.from('data'), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] },
  })
  const hub = new FeedHub(0, silentLogger(), { limits: { historyEventsMax: 100 }, readEntry: (index) => (index === 10 || index === 20 ? entry : null) })
  hub.keyEvent(3, 'del', 'g', 'a', null)
  t.equal(hub.logNeededAfter(50), 50, 'no event held as an entry: the snapshot compacts everything')
  hub.keyEventBytes(10, 'set', '$', 'k', Buffer.from('data'), 0, 4, true)
  hub.keyEventBytes(20, 'set', '$', 'k', Buffer.from('data'), 0, 4, true)
  hub.keyEvent(30, 'del', 'g', 'k', null)
  t.equal(hub.logNeededAfter(60), 0, 'the entries after the horizon stay')
  t.equal(hub.logNeededAfter(115), 15, 'at most 100 entries before a snapshot at 115')
  t.equal(hub.history.horizon, 15, 'the events before that are dropped')
  t.same(hub.history.after(15)?.map((e) => [e.index, e.key, e.value]), [[20, 'k', 'data'], [30, 'k', null]], 'the rest replays, the SET read back from its entry')
  t.equal(hub.logNeededAfter(500), 500, 'with no SET left as an entry nothing is kept')
})
