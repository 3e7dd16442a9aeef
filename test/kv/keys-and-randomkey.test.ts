// KEYS and RANDOMKEY walk the keyspace (lib/kv/keyspace-calls.ts): both
// skip keys that have expired but are not swept yet, whether the key is
// packed (a string without a deadline) or held as an object.
import t from 'tap'
import type { KvOp } from '../../lib/kv/command.js'
import { Driver, T0, b, plain, set } from './fixtures/driver.js'

const call = (name: string, ...args: string[]): KvOp => ({ t: 'call', name, args: args.map(b), seed: 0 })

/** 50 keys expiring at T0 + 10 and, in the middle, one of each kind that stays. */
function populated(): Driver {
  const d = new Driver()
  for (let i = 0; i < 25; i++) d.one(set(`gone:${i}`, 'x', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }))
  d.one(set('packed', 'v'))
  d.one(set('held', 'v', { expiry: { t: 'relative', unit: 'seconds', amount: 100n } }))
  d.one({ t: 'call', name: 'hset', args: [b('hash'), b('f'), b('v')], seed: 0 })
  for (let i = 25; i < 50; i++) d.one(set(`gone:${i}`, 'x', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }))
  return d
}

t.test('KEYS lists the live keys only, packed or not', async (t) => {
  const d = populated()
  const reply = plain(d.sm.read(call('keys', '*'), T0 + 100)) as { array: { bulk: string }[] }
  t.same(reply.array.map((k) => k.bulk).sort(), ['hash', 'held', 'packed'])
  t.same(plain(d.sm.read(call('keys', 'p*'), T0 + 100)), { array: [{ bulk: 'packed' }] })
})

t.test('RANDOMKEY answers a live key when most keys have expired unswept, and nil when all have', async (t) => {
  const d = populated()
  const seen = new Set<string>()
  for (let seed = 0; seed < 40; seed++) {
    const reply = plain(d.sm.read({ t: 'call', name: 'randomkey', args: [], seed }, T0 + 100)) as { bulk: string }
    seen.add(reply.bulk)
  }
  t.same([...seen].sort().filter((k) => !['hash', 'held', 'packed'].includes(k)), [], 'never an expired key')
  const empty = new Driver()
  empty.one(set('only', 'x', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }))
  t.equal(plain(empty.sm.read({ t: 'call', name: 'randomkey', args: [], seed: 1 }, T0 + 100)), 'nil')
})

/** `live` keys that stay and `expiring` keys gone at T0 + 10, interleaved. */
function large(live: number, expiring: number): Driver {
  const d = new Driver()
  for (let i = 0; i < Math.max(live, expiring); i++) {
    if (i < live) d.one(set(`live:${i}`, 'x'))
    if (i < expiring) d.one(set(`gone:${i}`, 'x', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }))
  }
  return d
}

t.test('RANDOMKEY over a large keyspace draws many different live keys and never an expired one', async (t) => {
  const d = large(12_000, 12_000)
  const seen = new Set<string>()
  // A distinct seed per call, as each RANDOMKEY gets from its connection.
  for (let seed = 0; seed < 3000; seed++) seen.add((plain(d.sm.read({ t: 'call', name: 'randomkey', args: [], seed }, T0 + 100)) as { bulk: string }).bulk)
  t.same([...seen].filter((k) => !k.startsWith('live:')), [], 'never an expired key')
  // 3,000 draws over 12,000 live keys: a uniform draw gives ~2,650 distinct; the bucket draw gave 2,632.
  t.ok(seen.size > 2000, `${seen.size} distinct keys in 3,000 draws`)
})

t.test('RANDOMKEY over a large keyspace whose keys have all expired unswept answers nil', async (t) => {
  const d = large(0, 12_000)
  t.equal(plain(d.sm.read({ t: 'call', name: 'randomkey', args: [], seed: 3 }, T0 + 100)), 'nil')
})
