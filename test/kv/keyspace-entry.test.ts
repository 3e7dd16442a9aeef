import t from 'tap'
import { Keyspace } from '../../lib/kv/keyspace.js'
import { Prng } from '../../lib/util/prng.js'

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

t.test('byte counts and lengths follow every overwrite, within and across arena classes', async (t) => {
  // The keyspace keeps an arena value's length beside its handle; these
  // counts are what an exactly-sized snapshot and INFO memory are built on.
  const ks = new Keyspace()
  const held = new Map<string, string>()
  const r = new Prng(16)
  const lengths = [0, 1, 7, 30, 100, 101, 104, 130, 900, 4094, 4095, 5000]
  for (let step = 0; step < 4000; step++) {
    const key = `k${r.int(60)}`
    const value = String.fromCharCode(97 + r.int(26)).repeat(lengths[r.int(lengths.length)] as number)
    const existing = ks.liveForWrite(key, 0)
    const kind = r.int(4)
    if (kind === 0 && existing !== undefined) {
      ks.delete(key, existing)
      held.delete(key)
      continue
    }
    if (kind === 1) ks.put(key, existing, value, Infinity)
    else {
      const bytes = Buffer.from(`..${value}..`, 'latin1')
      ks.putBytes(key, existing, bytes, 2, bytes.length - 2, Infinity)
    }
    held.set(key, value)
  }
  let keyValueBytes = 0
  let arenaValueBytes = 0
  for (const [key, value] of held) {
    const entry = ks.live(key, 0)
    if (entry === undefined) throw new Error(`${key} missing`)
    t.equal(entry.value, value, `${key}'s value`)
    t.equal(ks.stringLength(entry), value.length, `${key}'s length`)
    keyValueBytes += key.length + value.length
    if (ks.arenaStringLength(entry) >= 0) {
      t.equal(ks.arenaStringLength(entry), value.length, `${key}'s arena length`)
      arenaValueBytes += value.length
    }
  }
  t.equal(ks.size, held.size)
  t.equal(ks.keyValueBytes, keyValueBytes)
  t.equal(ks.memoryBytes - ks.keyValueBytes - ks.size * 96, ks.arenaSlabBytes - arenaValueBytes, "the arena's slack: its slabs less the values it holds")
})
