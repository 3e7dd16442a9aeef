// HSCAN, SSCAN and ZSCAN over large collections: a page costs O(COUNT), the
// cursor stays valid while the collection changes, and it depends on the
// content alone (any replica can continue a scan another one started).
import t from 'tap'
import type { KvOp, KvOpResult } from '../../lib/kv/command.js'
import { ScanIndex } from '../../lib/kv/scan-index.js'
import { Driver, T0, b } from './fixtures/driver.js'

const call = (name: string, ...args: string[]): KvOp => ({ t: 'call', name, args: args.map(b), seed: 0 })

function scanPage(d: Driver, command: string, key: string, cursor: string, count: number): { next: string; items: string[] } {
  const r: KvOpResult = d.sm.read(call(command, key, cursor, 'COUNT', String(count)), T0)
  if (r.t !== 'array') throw new Error(`unexpected reply ${r.t}`)
  const [next, items] = r.items
  if (next?.t !== 'bulk' || items?.t !== 'array') throw new Error('unexpected page shape')
  return { next: next.value.toString('latin1'), items: items.items.map((i) => (i.t === 'bulk' ? i.value.toString('latin1') : '?')) }
}

const shapes = [
  { command: 'hscan', add: (k: string, e: string) => call('hset', k, e, `v-${e}`), del: (k: string, e: string) => call('hdel', k, e), extra: (e: string): string | null => `v-${e}` },
  { command: 'sscan', add: (k: string, e: string) => call('sadd', k, e), del: (k: string, e: string) => call('srem', k, e), extra: (): string | null => null },
  { command: 'zscan', add: (k: string, e: string) => call('zadd', k, String(e.length), e), del: (k: string, e: string) => call('zrem', k, e), extra: (e: string): string | null => String(e.length) },
]

for (const shape of shapes) {
  t.test(`${shape.command.toUpperCase()} returns every element present for the whole scan once, while the collection grows and shrinks under it`, async (t) => {
    const d = new Driver()
    const stable = Array.from({ length: 150 }, (_, i) => `stable:${i}`)
    const churn = Array.from({ length: 2850 }, (_, i) => `churn:${i}`)
    d.write([...stable, ...churn].map((e) => shape.add('k', e)))
    const seen = new Map<string, number>()
    let cursor = '0'
    let pages = 0
    let grown = 0
    const wrongExtras: string[] = []
    do {
      const page = scanPage(d, shape.command, 'k', cursor, 10)
      const step = shape.extra('x') === null ? 1 : 2
      for (let i = 0; i < page.items.length; i += step) {
        const e = page.items[i] as string
        seen.set(e, (seen.get(e) ?? 0) + 1)
        if (step === 2 && page.items[i + 1] !== shape.extra(e)) wrongExtras.push(e)
      }
      cursor = page.next
      pages++
      // Between pages: remove the churn (the index halves), and add new elements (it doubles again).
      if (pages % 2 === 0 && churn.length > 0) d.write(churn.splice(0, 400).map((e) => shape.del('k', e)))
      if (pages % 5 === 0) d.write(Array.from({ length: 30 }, () => shape.add('k', `new:${grown++}`)))
    } while (cursor !== '0' && pages < 100_000)
    t.equal(cursor, '0', 'the scan ends')
    t.same(stable.filter((e) => seen.get(e) !== 1), [], 'every stable element exactly once')
    t.same(wrongExtras, [], 'each element with its own value or score')
    t.ok(pages > 20, `${pages} pages of about COUNT each`)
  })
}

t.test('a scan page visits O(COUNT) buckets, not O(n)', async (t) => {
  const elements = Array.from({ length: 20_000 }, (_, i) => `e${i}`)
  const index = new ScanIndex(elements)
  let cursor = 0
  let visitedMax = 0
  let returned = 0
  let pages = 0
  do {
    const page = index.page(cursor, 10)
    visitedMax = Math.max(visitedMax, page.bucketsVisited)
    returned += page.elements.length
    cursor = page.next
    pages++
  } while (cursor !== 0)
  t.equal(returned, elements.length)
  // Buckets hold 0.5 to 2 elements on average here: a page of 10 visits a few dozen at most.
  t.ok(visitedMax <= 100, `at most ${visitedMax} buckets per page`)
  t.ok(pages >= 1800 && pages <= 2000, `${pages} pages`)
})

t.test('the cursor depends on the content alone: replicas built in other orders page alike', async (t) => {
  const members = Array.from({ length: 1000 }, (_, i) => `m${i}`)
  const forward = new Driver()
  const backward = new Driver()
  for (const m of members) forward.one(call('sadd', 's', m))
  for (const m of [...members].reverse()) backward.one(call('sadd', 's', m))
  for (const m of members.slice(0, 500)) forward.one(call('srem', 's', m))
  for (const m of members.slice(0, 500)) backward.one(call('srem', 's', m))
  let cursor = '0'
  let pages = 0
  const differing: string[] = []
  const seen = new Set<string>()
  do {
    // Alternate replicas, as a client reconnecting to another node would.
    const a = scanPage(forward, 'sscan', 's', cursor, 7)
    const z = scanPage(backward, 'sscan', 's', cursor, 7)
    if (JSON.stringify(a) !== JSON.stringify(z)) differing.push(cursor)
    for (const m of a.items) seen.add(m)
    cursor = pages % 2 === 0 ? a.next : z.next
    pages++
  } while (cursor !== '0' && pages < 1000)
  t.equal(cursor, '0')
  t.same(differing, [], 'the same page from either replica at every cursor')
  t.equal(seen.size, 500)
})
