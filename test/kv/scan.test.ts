import t from 'tap'
import { globMatch } from '../../lib/kv/glob.js'
import { KvStateMachine } from '../../lib/kv/state-machine.js'
import { Driver, T0, b, set } from './fixtures/driver.js'

t.test('glob matches Redis patterns', async (t) => {
  const cases: [string, string, boolean][] = [
    ['*', 'anything', true], ['h?llo', 'hello', true], ['h?llo', 'hllo', false],
    ['h*llo', 'heeeello', true], ['h[ae]llo', 'hallo', true], ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true], ['h[^e]llo', 'hello', false], ['h[a-b]llo', 'hbllo', true],
    ['h[b-a]llo', 'hallo', true], ['h\\*llo', 'h*llo', true], ['h\\*llo', 'hello', false],
    ['user:*:name', 'user:42:name', true], ['user:*:name', 'user:42:mail', false],
    ['*a*b', 'xaxxb', true], ['a*', '', false], ['[\\]]', ']', true], ['abc[', 'abc', false],
  ]
  for (const [pattern, subject, expected] of cases) t.equal(globMatch(pattern, subject), expected, `${pattern} ~ ${subject}`)
})

t.test('glob on a pathological pattern returns quickly', async (t) => {
  const start = process.hrtime.bigint()
  t.equal(globMatch('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(200)), false)
  // Generous: backtracking glob matching would take hours on this pattern.
  t.ok(process.hrtime.bigint() - start < 10_000_000_000n, 'well under 10 s')
})

t.test('a full SCAN iteration returns every key once', async (t) => {
  const d = new Driver()
  d.one({ t: 'mset', pairs: Array.from({ length: 5000 }, (_, i) => ({ key: b(`k${i}`), value: b('v') })) })
  const seen = new Set<string>()
  let cursor = '0'
  let calls = 0
  do {
    const page = d.sm.scan(cursor, null, 100, T0)
    if (page.t !== 'page') throw new Error(page.message)
    for (const key of page.keys) seen.add(key.toString())
    cursor = page.cursor
    calls++
  } while (cursor !== '0' && calls < 10_000)
  t.equal(seen.size, 5000)
  t.ok(calls > 10 && calls < 200, `${calls} calls`)
})

t.test('SCAN MATCH filters by pattern and skips expired keys', async (t) => {
  const d = new Driver()
  d.one(set('user:1', 'a'))
  d.one(set('user:2', 'a', { expiry: { t: 'relative', unit: 'milliseconds', amount: 10n } }))
  d.one(set('other', 'a'))
  const page = d.sm.scan('0', 'user:*', 1000, T0 + 10)
  t.same(page.t === 'page' && page.keys.map(String), ['user:1'])
  t.equal(page.t === 'page' && page.cursor, '0', 'a small keyspace finishes in one call')
})

t.test('SCAN with a bad cursor is the Redis error', async (t) => {
  const d = new Driver()
  t.same(d.sm.scan('abc', null, 10, T0), { t: 'error', code: 'ERR', message: 'invalid cursor' })
})

t.test('the SCAN index, built on the first SCAN, follows later writes, deletes, FLUSHALL and restores', async (t) => {
  const scanAll = (d: Driver): string[] => {
    const seen: string[] = []
    let cursor = '0'
    do {
      const page = d.sm.scan(cursor, null, 1000, T0)
      if (page.t !== 'page') throw new Error(page.message)
      for (const key of page.keys) seen.push(key.toString('latin1'))
      cursor = page.cursor
    } while (cursor !== '0')
    return seen.sort()
  }
  const d = new Driver()
  for (let i = 0; i < 300; i++) d.one(set(`a${i}`, 'v'))
  t.equal(scanAll(d).length, 300, 'built from the keys written before it')
  for (let i = 0; i < 100; i++) d.one({ t: 'del', keys: [b(`a${i}`)] })
  for (let i = 0; i < 50; i++) d.one(set(`b${i}`, 'v'))
  const expected = [...Array.from({ length: 200 }, (_, i) => `a${i + 100}`), ...Array.from({ length: 50 }, (_, i) => `b${i}`)].sort()
  t.same(scanAll(d), expected, 'kept up to date after it was built')
  t.same(scanAll(new Driver(KvStateMachine.restore(d.sm.snapshot()))), expected, 'a restored machine scans the same keys')
  d.one({ t: 'flushall' })
  t.same(scanAll(d), [])
  d.one(set('c', 'v'))
  t.same(scanAll(d), ['c'], 'rebuilt after FLUSHALL')
})
