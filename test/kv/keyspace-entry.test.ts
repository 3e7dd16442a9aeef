import t from 'tap'
import { Keyspace } from '../../lib/kv/keyspace.js'

t.test('a deadline given to one key is its own: other keys, old and new, stay without one', async (t) => {
  const ks = new Keyspace()
  ks.put('a', undefined, 'x', Infinity)
  ks.put('b', undefined, 'y', Infinity)
  const a = ks.live('a', 0)
  if (a === undefined) throw new Error('a missing')
  ks.expire('a', a, 5000)
  ks.put('c', undefined, 'z', Infinity)
  t.equal(ks.live('a', 0)?.expireAtMs, 5000)
  t.equal(ks.live('b', 0)?.expireAtMs, Infinity)
  t.equal(ks.live('c', 0)?.expireAtMs, Infinity)
  t.equal(ks.volatileSize, 1)
})

t.test('a key made persistent again has no deadline', async (t) => {
  const ks = new Keyspace()
  ks.put('a', undefined, 'x', 5000)
  const a = ks.live('a', 0)
  if (a === undefined) throw new Error('a missing')
  ks.expire('a', a, Infinity)
  t.equal(ks.live('a', 6000)?.expireAtMs, Infinity)
  t.equal(ks.volatileSize, 0)
})

t.test('load keeps the deadline and version it is given', async (t) => {
  const ks = new Keyspace()
  t.ok(ks.load('a', 'x', 5000, 42))
  t.ok(ks.load('b', 'y', Infinity, 44))
  t.notOk(ks.load('a', 'z', Infinity, 46), 'a key already held is refused')
  t.same([ks.live('a', 0)?.expireAtMs, ks.version('a', 0)], [5000, 42])
  t.same([ks.live('b', 0)?.expireAtMs, ks.version('b', 0)], [Infinity, 44])
  t.equal(ks.live('a', 5000), undefined)
})
