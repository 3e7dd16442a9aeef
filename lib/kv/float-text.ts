// Floating-point text exactly as Redis 7.0 reads and writes it.
//
// - Scores (ZADD, ZINCRBY, ZSCORE …) are C doubles, read with strtod and
//   written with "%.17g" (addReplyDouble): formatDouble and parseDouble.
// - INCRBYFLOAT and HINCRBYFLOAT compute in x87 long double (64-bit
//   mantissa) and store "%.17Lf" with the trailing zeros cut (ld2string's
//   LD_STR_HUMAN). That is why `SET k 0.1`, `INCRBYFLOAT k 0.2` answers "0.3"
//   where a double would give 0.30000000000000004. JavaScript has no long
//   double, so LongDouble below does that arithmetic exactly with bigints:
//   decimal text → nearest 64-bit-mantissa value → exact sum → rounded to 64
//   bits again → the decimal digits printf would print. Every replica gets
//   the same bytes, and the same as Redis.

/** The decimal syntax strtod and strtold accept (hexadecimal floats are refused here). */
const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/
const INFINITY_TEXT = /^[+-]?inf(?:inity)?$/i
/** strtod's hexadecimal integers ("0x10"); hexadecimal fractions and p exponents are refused here. */
const HEX_INTEGER = /^([+-]?)0[xX]([0-9a-fA-F]+)$/

/** Redis' getDoubleFromObject: null where Redis answers "value is not a valid float". */
export function parseDouble(text: string): number | null {
  if (INFINITY_TEXT.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  const hex = HEX_INTEGER.exec(text)
  if (hex !== null) {
    const value = Number(BigInt(`0x${hex[2] as string}`))
    return Number.isFinite(value) ? (hex[1] === '-' ? -value : value) : null
  }
  if (!DECIMAL.test(text)) return null
  const value = Number(text)
  // strtod's ERANGE: overflow, or underflow all the way to zero.
  if (!Number.isFinite(value)) return null
  if (value === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''))) return null
  return value
}

/** printf("%.17g"), with Redis' "inf" / "-inf". */
export function formatDouble(value: number): string {
  if (value === Infinity) return 'inf'
  if (value === -Infinity) return '-inf'
  if (value === 0) return Object.is(value, -0) ? '-0' : '0'
  // A safe integer prints as its digits under %.17g, exactly as String gives
  // them: the common score (a count, a rank, a timestamp) skips the exact
  // digit generation below, which V8 does with bignums for 17 digits. Past
  // 2^53 String gives the shortest text that reads back (99999999999999984
  // becomes "99999999999999980"), not printf's digits.
  if (Number.isSafeInteger(value)) return String(value)
  const [mantissa, expText] = value.toExponential(16).split('e') as [string, string]
  const exponent = Number(expText)
  const negative = mantissa.startsWith('-')
  const digits = mantissa.replace('-', '').replace('.', '')
  let body: string
  if (exponent < -4 || exponent >= 17) {
    const fraction = digits.slice(1).replace(/0+$/, '')
    const sign = exponent < 0 ? '-' : '+'
    const abs = Math.abs(exponent)
    body = `${digits[0]}${fraction === '' ? '' : '.' + fraction}e${sign}${abs < 10 ? '0' : ''}${abs}`
  } else if (exponent < 0) {
    body = `0.${'0'.repeat(-exponent - 1)}${digits}`.replace(/0+$/, '')
  } else {
    const int = digits.slice(0, exponent + 1)
    const fraction = digits.slice(exponent + 1).replace(/0+$/, '')
    body = fraction === '' ? int : `${int}.${fraction}`
  }
  return negative ? '-' + body : body
}

const MANTISSA_BITS = 64n
const MANTISSA_LOW = 1n << 63n
const MANTISSA_HIGH = 1n << 64n
/** x87 extended exponents; beyond them strtold reports ERANGE and Redis refuses the text. */
const EXPONENT_MAX = 16383 - 63
const EXPONENT_MIN = -16382 - 63

/** sign × mantissa × 2^exponent; mantissa is 0 or in [2^63, 2^64). */
export interface LongDouble {
  readonly negative: boolean
  readonly mantissa: bigint
  readonly exponent: number
}

const ZERO: LongDouble = { negative: false, mantissa: 0n, exponent: 0 }

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length
}

/** numerator / denominator (both > 0) rounded half to even to a 64-bit mantissa; null when out of range. */
function roundQuotient(negative: boolean, numerator: bigint, denominator: bigint, exponentBase: number): LongDouble | null {
  if (numerator === 0n) return { ...ZERO, negative }
  let shift = bitLength(numerator) - bitLength(denominator) - Number(MANTISSA_BITS)
  for (;;) {
    const n = shift < 0 ? numerator << BigInt(-shift) : numerator
    const d = shift > 0 ? denominator << BigInt(shift) : denominator
    let q = n / d
    if (q < MANTISSA_LOW) { shift--; continue }
    if (q >= MANTISSA_HIGH) { shift++; continue }
    const r2 = (n % d) * 2n
    if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++
    if (q === MANTISSA_HIGH) { q >>= 1n; shift++ }
    const exponent = shift + exponentBase
    if (exponent > EXPONENT_MAX || exponent < EXPONENT_MIN) return null
    return { negative, mantissa: q, exponent }
  }
}

/** Redis' string2ld (strtold): null where Redis answers "value is not a valid float"; Infinity for "inf". */
export function parseLongDouble(text: string): LongDouble | number | null {
  if (INFINITY_TEXT.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  const hex = HEX_INTEGER.exec(text)
  if (hex !== null) {
    const digits = hex[2] as string
    if (digits.length > 4000) return null
    return roundQuotient(hex[1] === '-', BigInt(`0x${digits}`), 1n, 0)
  }
  if (!DECIMAL.test(text)) return null
  const negative = text.startsWith('-')
  const [base, expPart] = text.replace(/^[+-]/, '').split(/[eE]/) as [string, string | undefined]
  const [intPart, fracPart = ''] = base.split('.') as [string, string | undefined]
  const digits = BigInt((intPart + fracPart).replace(/^0+(?=.)/, '') || '0')
  const exp10 = Number(expPart ?? '0') - fracPart.length
  if (digits === 0n) return { ...ZERO, negative }
  // Far outside the long double range: ERANGE, refused (a bound on the bigint work too).
  if (exp10 + (intPart + fracPart).length > 4940 || exp10 + (intPart + fracPart).length < -4960) return null
  return exp10 >= 0 ? roundQuotient(negative, digits * 10n ** BigInt(exp10), 1n, 0) : roundQuotient(negative, digits, 10n ** BigInt(-exp10), 0)
}

/** a + b, rounded to a long double; null on overflow (Redis: "would produce NaN or Infinity"). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.mantissa === 0n) return b.mantissa === 0n ? { ...ZERO, negative: a.negative && b.negative } : b
  if (b.mantissa === 0n) return a
  const base = Math.min(a.exponent, b.exponent)
  const sa = (a.negative ? -a.mantissa : a.mantissa) << BigInt(a.exponent - base)
  const sb = (b.negative ? -b.mantissa : b.mantissa) << BigInt(b.exponent - base)
  const sum = sa + sb
  if (sum === 0n) return ZERO
  return roundQuotient(sum < 0n, sum < 0n ? -sum : sum, 1n, base)
}

/** ld2string(LD_STR_HUMAN): "%.17Lf", trailing zeros and a bare point cut, "-0" as "0". */
export function formatLongDouble(value: LongDouble): string {
  const scale = 10n ** 17n
  let q: bigint
  if (value.exponent >= 0) q = (value.mantissa << BigInt(value.exponent)) * scale
  else {
    const n = value.mantissa * scale
    const d = 1n << BigInt(-value.exponent)
    q = n / d
    const r2 = (n % d) * 2n
    if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++
  }
  const text = q.toString().padStart(18, '0')
  let body = `${text.slice(0, -17)}.${text.slice(-17)}`.replace(/0+$/, '').replace(/\.$/, '')
  if (body === '0') return '0'
  if (value.negative) body = '-' + body
  return body
}
