import t from 'tap'
import type { KvOp } from '../../lib/kv/command.js'
import type { KvEventClass, KvEventSink } from '../../lib/kv/key-events.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { Driver, T0, b, set } from './fixtures/driver.js'

interface Seen {
  index: number
  event: string
  typeClass: KvEventClass
  key: string
  value: string | null
}

function recording(sm: KvStateMachine): { seen: Seen[]; resets: number[] } {
  const seen: Seen[] = []
  const resets: number[] = []
  const sink: KvEventSink = {
    keyEvent: (index, event, typeClass, key, value) => {
      seen.push({ index, event, typeClass, key, value: value === null ? null : value.toString('latin1') })
    },
    keyEventBytes: (index, event, typeClass, key, bytes, start, end) => {
      seen.push({ index, event, typeClass, key, value: bytes.toString('latin1', start, end) })
    },
    message: () => {},
    reset: (index) => resets.push(index),
  }
  sm.setEventSink(sink)
  return { seen, resets }
}

t.test('a plain SET tells the sink its event is the entry\'s own key and value; a SET among other ops does not', async (t) => {
  const d = new Driver()
  const heard: [string, string, boolean][] = []
  d.sm.setEventSink({
    keyEvent: (_index, event, _typeClass, key) => heard.push([event, key, false]),
    keyEventBytes: (_index, event, _typeClass, key, _bytes, _start, _end, fromEntry) => heard.push([event, key, fromEntry]),
    message: () => {},
    reset: () => {},
  })
  d.one(set('a', '1'))
  d.one(set('a', '2', { expiry: { t: 'relative', unit: 'seconds', amount: 100n } }))
  d.write([set('b', '1'), set('c', '1')])
  d.one({ t: 'mset', pairs: [{ key: b('m'), value: b('a') }] })
  t.same(heard, [
    ['set', 'a', true],
    ['set', 'a', true], ['expire', 'a', false],
    ['set', 'b', false], ['set', 'c', false],
    ['set', 'm', false],
  ])
})

const ex = (seconds: number): Partial<Extract<KvOp, { t: 'set' }>> => ({ expiry: { t: 'relative', unit: 'seconds', amount: BigInt(seconds) } })
const pxat = (ms: number): Partial<Extract<KvOp, { t: 'set' }>> => ({ expiry: { t: 'absolute', unit: 'milliseconds', amount: BigInt(ms) } })
const expire = (key: string, seconds: number): KvOp => ({ t: 'expire', key: b(key), base: 'relative', unit: 'seconds', amount: BigInt(seconds), condition: 'always' })

t.test('string and generic commands report the events redis-server 7.0 reports, in order', async (t) => {
  const d = new Driver()
  const { seen } = recording(d.sm)
  // The same commands were sent to redis-server 7.0 (notify-keyspace-events KEA);
  // `expected` is the order of its __keyevent@0__ messages, one line per event.
  d.one(set('a', '1'))
  d.one(set('a', '2', ex(100)))
  d.one(set('a', '3', { expiry: { t: 'keepTtl' } }))
  d.one(set('a', '4', { get: true }))
  d.one(set('b', '1', pxat(1)))
  d.one({ t: 'setnx', key: b('c'), value: b('1') })
  d.one({ t: 'setnx', key: b('c'), value: b('2') })
  d.one({ t: 'getdel', key: b('c') })
  d.one({ t: 'incrby', key: b('n'), delta: 1n })
  d.one({ t: 'incrby', key: b('n'), delta: -5n })
  d.one({ t: 'append', key: b('n'), value: b('x') })
  d.one({ t: 'mset', pairs: [{ key: b('m1'), value: b('a') }, { key: b('m2'), value: b('b') }] })
  d.one(expire('m1', 100))
  d.one(expire('m1', -1))
  d.one({ t: 'persist', key: b('n') })
  d.one(expire('n', 100))
  d.one({ t: 'persist', key: b('n') })
  d.one({ t: 'del', keys: [b('x'), b('a')] })
  d.one(set('n2', '1', { condition: 'nx' }))
  d.one(set('n2', '2', { condition: 'xx' }))
  d.one(set('n3', '2', { condition: 'xx' }))
  d.one({ t: 'flushall' })
  const expected = [
    'set a', 'set a', 'expire a', 'set a', 'set a',
    'set b', 'expire b', 'expired b',
    'set c', 'del c', 'incrby n', 'incrby n', 'append n', 'set m1', 'set m2',
    'expire m1', 'del m1', 'expire n', 'persist n', 'del a', 'set n2', 'set n2',
  ]
  t.same(seen.map((e) => `${e.event} ${e.key}`), expected)
  t.same(seen.find((e) => e.event === 'append')?.value, '-4x', 'append carries the value after the change')
  t.same(seen.filter((e) => e.event === 'incrby').map((e) => e.value), ['1', '-4'])
  t.same(new Set(seen.filter((e) => e.event === 'del' || e.event === 'expire').map((e) => e.value)), new Set([null]))
})

t.test('every event carries the index of the entry that produced it and its type class', async (t) => {
  const d = new Driver()
  const { seen } = recording(d.sm)
  d.write([set('k', 'v', ex(10)), { t: 'del', keys: [b('k')] }])
  d.write([set('j', 'w')])
  t.same(seen.map((e) => [e.index, e.event, e.typeClass]), [[1, 'set', '$'], [1, 'expire', 'g'], [1, 'del', 'g'], [2, 'set', '$']])
})

t.test('a sweep reports expired, and so does a write that finds its key past its deadline', async (t) => {
  const d = new Driver()
  const { seen } = recording(d.sm)
  d.one(set('s', 'v', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }), T0)
  d.one(set('w', 'v', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }), T0)
  d.one({ t: 'expireSweep', keys: [b('s'), b('w')] }, T0 + 5)
  d.one({ t: 'expireSweep', keys: [b('s')] }, T0 + 10)
  d.one({ t: 'setnx', key: b('w'), value: b('x') }, T0 + 10)
  t.same(seen.slice(4).map((e) => `${e.index} ${e.event} ${e.typeClass} ${e.key}`), ['4 expired x s', '5 expired x w', '5 set $ w'])
})

t.test('failed conditions, errors and aborted transactions report nothing', async (t) => {
  const d = new Driver()
  d.one(set('k', 'text'))
  const { seen } = recording(d.sm)
  d.one(set('k', 'v', { condition: 'nx' }))
  d.one({ t: 'incrby', key: b('k'), delta: 1n })
  d.one(expire('missing', 10))
  d.one({ t: 'del', keys: [b('missing')] })
  d.write([set('k', 'changed')], { watches: [{ key: b('k'), version: 0 }] })
  t.same(seen, [])
})

t.test('a restored state machine reports to the sink it is given, from the next entry on', async (t) => {
  const d = new Driver()
  d.one(set('k', 'v'))
  const restored = KvStateMachine.restore(d.sm.snapshot())
  const d2 = new Driver(restored)
  d2.index = restored.appliedIndex
  const { seen } = recording(restored)
  d2.one(set('k', 'w', { expiry: { t: 'relative', unit: 'milliseconds', amount: 1n } }), T0)
  d2.one({ t: 'append', key: b('k'), value: b('x') }, T0 + 1)
  t.same(seen.map((e) => `${e.index} ${e.event}`), ['2 set', '2 expire', '3 expired', '3 append'])
})

t.test('hash, list, set, sorted-set and the newer string commands report the events redis-server 7.0 reports', async (t) => {
  const d = new Driver()
  const { seen } = recording(d.sm)
  const call = (...words: string[]): KvOp => ({ t: 'call', name: (words[0] as string).toLowerCase(), args: words.slice(1).map(b), seed: 1 })
  // Sent to redis-server 7.0.15 with notify-keyspace-events KEA; `expected` is
  // the order of its __keyevent@0__ messages.
  const commands = [
    ['HSET', 'h', 'a', '1', 'b', '2'], ['HSETNX', 'h', 'a', 'x'], ['HSETNX', 'h', 'c', '3'], ['HINCRBY', 'h', 'a', '5'], ['HINCRBYFLOAT', 'h', 'b', '0.5'], ['HDEL', 'h', 'a', 'zz'], ['HDEL', 'h', 'b', 'c'],
    ['RPUSH', 'l', 'a', 'b', 'c'], ['LPUSH', 'l', 'z'], ['LPUSHX', 'nol', 'q'], ['LPOP', 'l'], ['RPOP', 'l', '1'], ['LSET', 'l', '0', 'q'], ['LINSERT', 'l', 'BEFORE', 'q', 'p'], ['LREM', 'l', '0', 'p'], ['LTRIM', 'l', '0', '-1'], ['LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'], ['RPOPLPUSH', 'l2', 'l3'], ['LMPOP', '2', 'l', 'l3', 'LEFT', 'COUNT', '5'],
    ['SADD', 's', '1', '2', '3'], ['SADD', 's', '1'], ['SREM', 's', '1'], ['SMOVE', 's', 's2', '2'], ['SINTERSTORE', 's3', 's', 's2'], ['SUNIONSTORE', 's4', 's', 's2'], ['SPOP', 's'], ['SDIFFSTORE', 's4', 's', 's2'],
    ['ZADD', 'z', '1', 'a', '2', 'b'], ['ZADD', 'z', '1', 'a'], ['ZINCRBY', 'z', '1', 'a'], ['ZREM', 'z', 'a'], ['ZADD', 'z', '3', 'c', '4', 'd'], ['ZREMRANGEBYSCORE', 'z', '3', '3'], ['ZPOPMIN', 'z'], ['ZPOPMAX', 'z'], ['ZADD', 'z', '1', 'a'], ['ZUNIONSTORE', 'z2', '1', 'z'], ['ZINTERSTORE', 'z3', '2', 'z', 'nope'], ['ZREMRANGEBYRANK', 'z', '0', '-1'],
    ['SET', 'k', '10'], ['INCRBYFLOAT', 'k', '1.5'], ['SETRANGE', 'k', '0', 'x'], ['SETBIT', 'k', '1', '1'], ['GETSET', 'k', 'v'], ['SETEX', 'k', '100', 'v'], ['GETEX', 'k', 'PERSIST'], ['GETEX', 'k', 'EX', '100'], ['MSETNX', 'm1', 'a', 'm2', 'b'], ['RENAME', 'k', 'k2'], ['COPY', 'k2', 'k3'], ['GETEX', 'k3', 'PXAT', '1'],
  ]
  for (const words of commands) d.one(words[0] === 'SET' ? set(words[1] as string, words[2] as string) : call(...words))
  const expected = [
    'hset h', 'hset h', 'hincrby h', 'hincrbyfloat h', 'hdel h', 'hdel h', 'del h', 'rpush l', 'lpush l', 'lpop l', 'rpop l', 'lset l', 'linsert l', 'lrem l', 'ltrim l', 'rpush l2', 'lpop l', 'lpush l3', 'rpop l2', 'del l2', 'lpop l', 'del l',
    'sadd s', 'srem s', 'srem s', 'sadd s2', 'sunionstore s4', 'spop s', 'del s', 'del s4',
    'zadd z', 'zincr z', 'zrem z', 'zadd z', 'zremrangebyscore z', 'zpopmin z', 'zpopmax z', 'del z', 'zadd z', 'zunionstore z2', 'zremrangebyrank z', 'del z',
    'set k', 'incrbyfloat k', 'setrange k', 'set k', 'set k', 'expire k', 'persist k', 'expire k', 'set m1', 'set m2', 'rename_from k', 'rename_to k2', 'copy_to k3', 'del k3',
  ]
  t.same(seen.map((e) => `${e.event} ${e.key}`), expected)
  t.same(new Set(seen.filter((e) => e.event.startsWith('h')).map((e) => e.typeClass)), new Set(['h']))
  t.same(seen.find((e) => e.event === 'incrbyfloat')?.value, '11.5', 'string events carry the value')
})

t.test('a sink attached to a state restored from a snapshot hears the notify-keyspace-events that state holds', async (t) => {
  // Set through the log before the snapshot: a node that installs (or restarts from) it never applies that entry again.
  const d = new Driver()
  d.one({ t: 'call', name: 'config-set', args: [b('notify-keyspace-events'), b('KEA')], seed: 0 })
  const restored = KvStateMachine.restore(d.sm.snapshot())
  const heard: [string, string][] = []
  restored.setEventSink({ keyEvent: () => {}, keyEventBytes: () => {}, message: () => {}, reset: () => {}, config: (_index, name, value) => heard.push([name, value]) })
  t.same(heard, [['notify-keyspace-events', 'AKE']], 'told at once, in the form CONFIG GET shows')
})
