// A key-value result as RESP2 (lib/server/resp/result-encoder.ts and the
// bulk writer in reply-writer.ts): byte for byte what encoding each element
// on its own and joining them gives, for every kind of result, nested.
import t from 'tap'
import { textResult, type KvOpResult } from '../../lib/kv/command.js'
import { formatResult } from '../../lib/server/resp/command-reply.js'
import { bulk } from '../../lib/server/resp/reply-writer.js'
import { encodeResult } from '../../lib/server/resp/result-encoder.js'

/** RESP2 written out as text, the plain way: the reference. */
function reference(r: KvOpResult): string {
  switch (r.t) {
    case 'ok':
      return '+OK\r\n'
    case 'status':
      return `+${r.value.replace(/[\r\n]+/g, ' ')}\r\n`
    case 'nil':
      return '$-1\r\n'
    case 'nilArray':
      return '*-1\r\n'
    case 'int':
      return `:${typeof r.value === 'bigint' ? r.value : Math.trunc(r.value)}\r\n`
    case 'bulk':
      return `$${r.value.length}\r\n${r.value.toString('latin1')}\r\n`
    case 'array':
      return `*${r.items.length}\r\n${r.items.map(reference).join('')}`
    case 'error':
      return `-${r.code} ${r.message}\r\n`
  }
}

const bulkOf = (length: number, byte = 120): KvOpResult => ({ t: 'bulk', value: Buffer.alloc(length, byte) })

t.test('a bulk string of every length class is its header, its bytes and CRLF', async (t) => {
  for (const length of [0, 1, 9, 10, 11, 99, 100, 999, 1000, 65_536, 1_000_003]) {
    const value = Buffer.alloc(length, 97)
    t.equal(bulk(value).toString('latin1'), `$${length}\r\n${'a'.repeat(length)}\r\n`, `${length} bytes`)
  }
})

t.test('an array of bulk strings is encoded as Redis sends it', async (t) => {
  const items = Array.from({ length: 600 }, (_, i) => bulkOf(i % 13, 48 + (i % 10)))
  const result: KvOpResult = { t: 'array', items }
  t.equal(encodeResult(result).toString('latin1'), reference(result))
  t.equal(formatResult(result).toString('latin1'), reference(result))
})

t.test('every kind of result inside arrays, nested, matches the reference', async (t) => {
  let state = 7
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state % n
  }
  const scalar = (): KvOpResult => {
    switch (random(9)) {
      case 0: return { t: 'ok' }
      case 1: return { t: 'status', value: random(2) === 0 ? 'QUEUED' : 'a\r\nb' }
      case 2: return { t: 'nil' }
      case 3: return { t: 'nilArray' }
      case 4: return { t: 'int', value: random(2) === 0 ? random(1_000_000) - 500_000 : 2n ** 63n - 1n }
      case 5: return { t: 'int', value: -0.5 }
      case 6: return { t: 'error', code: 'WRONGTYPE', message: 'Operation against a key holding the wrong kind of value' }
      case 7: return textResult(String.fromCharCode(...Array.from({ length: random(40) }, () => random(256))))
      default: return bulkOf(random(200), 32 + random(200))
    }
  }
  const nested = (depth: number): KvOpResult =>
    depth === 0 || random(3) === 0 ? scalar() : { t: 'array', items: Array.from({ length: random(12) }, () => nested(depth - 1)) }
  for (let i = 0; i < 300; i++) {
    const result: KvOpResult = { t: 'array', items: Array.from({ length: random(20) }, () => nested(3)) }
    const encoded = encodeResult(result)
    t.equal(encoded.toString('latin1'), reference(result), `result ${i}`)
  }
})

t.test('a string element is written as its latin1 bytes, and reads back as them', async (t) => {
  const text = 'caf\u00e9 \u00ff\u0000'
  const long = `${'\u00e9'.repeat(100)}${text}` // past the char-by-char bound
  const result: KvOpResult = { t: 'array', items: [textResult(text), textResult(''), textResult(long)] }
  t.same([...encodeResult(result)], [...Buffer.from(`*3\r\n$7\r\n${text}\r\n$0\r\n\r\n$107\r\n${long}\r\n`, 'latin1')])
  const item = textResult(text)
  t.same(item.t === 'bulk' && [...item.value], [...Buffer.from(text, 'latin1')], 'value is the same bytes as a Buffer')
})

t.test('an empty array is *0', async (t) => {
  t.equal(encodeResult({ t: 'array', items: [] }).toString(), '*0\r\n')
})
