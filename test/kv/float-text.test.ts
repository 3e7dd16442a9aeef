// Float text as Redis 7.0 writes it: scores with "%.17g", INCRBYFLOAT in
// long double with "%.17Lf" trimmed. Expected texts are redis-server 7.0.15's.
import t from 'tap'
import { addLongDouble, formatDouble, formatLongDouble, parseDouble, parseLongDouble, type LongDouble } from '../../lib/kv/float-text.js'

t.test('scores print as %.17g, with inf', async (t) => {
  const cases: [number, string][] = [
    [1.1, '1.1000000000000001'], [0.1, '0.10000000000000001'], [1e20, '1e+20'], [3, '3'], [0.30000000000000004, '0.30000000000000004'],
    [-2.5, '-2.5'], [Infinity, 'inf'], [-Infinity, '-inf'], [1e-5, '1.0000000000000001e-05'], [123456789012345680000, '1.2345678901234568e+20'], [0, '0'],
  ]
  for (const [value, text] of cases) t.equal(formatDouble(value), text, String(value))
})

t.test('integer scores print as %.17g, below 2^53 and past it', async (t) => {
  // Expected texts from C's printf("%.17g").
  const cases: [number, string][] = [
    [1, '1'], [-1, '-1'], [99, '99'], [2 ** 53 - 1, '9007199254740991'], [-(2 ** 53 - 1), '-9007199254740991'], [2 ** 53, '9007199254740992'], [2 ** 53 + 2, '9007199254740994'], [1e16, '10000000000000000'],
    [99999999999999984, '99999999999999984'], [-99999999999999984, '-99999999999999984'], [1e17, '1e+17'], [1e21, '1e+21'], [-0, '-0'],
  ]
  for (const [value, text] of cases) t.equal(formatDouble(value), text, String(value))
})

t.test('scores parse as strtod does for Redis: inf accepted, NaN and overflow refused', async (t) => {
  t.equal(parseDouble('+inf'), Infinity)
  t.equal(parseDouble('1e3'), 1000)
  t.equal(parseDouble('nan'), null)
  t.equal(parseDouble('1e400'), null)
  t.equal(parseDouble(' 1'), null)
  t.equal(parseDouble(''), null)
})

function incr(a: string, b: string): string | null {
  const x = parseLongDouble(a) as LongDouble
  const y = parseLongDouble(b) as LongDouble
  const sum = addLongDouble(x, y)
  return sum === null ? null : formatLongDouble(sum)
}

t.test('INCRBYFLOAT sums in long double and prints like Redis', async (t) => {
  t.equal(incr('0.1', '0.2'), '0.3')
  t.equal(incr('10.5', '0.1'), '10.6')
  t.equal(incr('0.3', '1e20'), '100000000000000000000')
  t.equal(incr('5.0e3', '0'), '5000')
  t.equal(incr('1', '-1'), '0')
  t.equal(incr('-0.25', '0'), '-0.25')
  t.equal(incr('3.0e-5', '0'), '0.00003')
  t.equal(incr('0x10', '1.5'), '17.5', 'strtold reads hexadecimal integers')
})
