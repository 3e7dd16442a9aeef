// String commands beyond the core ops in ops.ts: SETEX, PSETEX, GETEX,
// GETSET, MSETNX, INCRBYFLOAT, GETRANGE/SUBSTR, SETRANGE, the bit commands
// and LCS. Semantics and texts follow Redis 7.0 (t_string.c, bitops.c),
// including the order in which arguments and the key are checked.

import { NIL, bulkResult, errorResult, intResult, textResult, type KvOpResult } from './command.js'
import {
  NOT_FLOAT,
  NOT_INTEGER,
  SYNTAX_ERROR,
  WRONGTYPE,
  emit,
  find,
  findString,
  keyword,
  parseInteger,
  text,
  wrongArity,
  type KvCall,
} from './call-context.js'
import { INT64_MAX } from './binary.js'
import { MSG_STRING_TOO_LONG, invalidExpireMessage } from './errors.js'
import { addLongDouble, formatLongDouble, parseLongDouble, type LongDouble } from './float-text.js'
import { storedValueOf, valueToBuffer, type StoredValue } from './keyspace.js'
import { VALUE_BYTES_MAX } from './limits.js'
import { applySetFields } from './ops.js'
import { isString } from './values.js'

/** LCS builds an (a+1)×(b+1) table; Redis bounds it by proto-max-bulk-len, this by what a node can spare. */
export const LCS_CELLS_MAX = 1 << 24
const MSG_NOT_STRINGS = 'The specified keys must contain string values'

function setex(name: string, unit: 'seconds' | 'milliseconds'): KvCall {
  return {
    name,
    arity: 4,
    write: true,
    run(c, args) {
      const amount = parseInteger(args[1])
      if (amount === null) return NOT_INTEGER
      const value = args[2] as Buffer
      // setGenericCommand's own check names the command.
      if (amount <= 0n || (unit === 'seconds' && amount > INT64_MAX / 1000n)) return errorResult(invalidExpireMessage(name))
      const result = applySetFields(c.ks, text(args[0]), value, 0, value.length, 'always', { t: 'relative', unit, amount }, false, c.nowMs, c.notify)
      return result.t === 'error' ? errorResult(invalidExpireMessage(name)) : result
    },
  }
}

/** GETEX's option, checked for syntax only (its time is checked once the key is found, as Redis does). */
function parseGetexOption(args: readonly Buffer[]): { kind: 'none' | 'persist' } | { kind: 'expire'; option: string; amount: Buffer } | null {
  if (args.length === 1) return { kind: 'none' }
  const option = keyword(args[1])
  if (option === 'PERSIST' && args.length === 2) return { kind: 'persist' }
  if (!['EX', 'PX', 'EXAT', 'PXAT'].includes(option) || args.length !== 3) return null
  return { kind: 'expire', option, amount: args[2] as Buffer }
}

/** GETEX's deadline in ms, or the error reply. */
function getexDeadline(option: string, amountArg: Buffer, nowMs: number): number | KvOpResult {
  const amount = parseInteger(amountArg)
  if (amount === null) return NOT_INTEGER
  const seconds = option === 'EX' || option === 'EXAT'
  if (amount <= 0n || (seconds && amount > INT64_MAX / 1000n)) return errorResult(invalidExpireMessage('getex'))
  let ms = seconds ? amount * 1000n : amount
  if (option === 'EX' || option === 'PX') {
    if (ms > INT64_MAX - BigInt(nowMs)) return errorResult(invalidExpireMessage('getex'))
    ms += BigInt(nowMs)
  }
  return Number(ms)
}

const getex: KvCall = {
  name: 'getex',
  arity: -2,
  write: true,
  run(c, args) {
    const option = parseGetexOption(args)
    if (option === null) return SYNTAX_ERROR
    const key = text(args[0])
    const found = findString(c, key, true)
    if (found === undefined) return NIL
    if (found === null) return WRONGTYPE
    const reply = bulkResult(valueToBuffer(found.value))
    if (option.kind === 'expire') {
      const deadline = getexDeadline(option.option, option.amount, c.nowMs)
      if (typeof deadline !== 'number') return deadline
      if (deadline <= c.nowMs) {
        c.ks.delete(key, found.entry)
        emit(c, 'del', 'g', key)
      } else {
        c.ks.expire(key, found.entry, deadline)
        emit(c, 'expire', 'g', key)
      }
    } else if (option.kind === 'persist' && found.entry.expireAtMs !== Infinity) {
      c.ks.expire(key, found.entry, Infinity)
      emit(c, 'persist', 'g', key)
    }
    return reply
  },
}

const getset: KvCall = {
  name: 'getset',
  arity: 3,
  write: true,
  run(c, args) {
    const value = args[1] as Buffer
    return applySetFields(c.ks, text(args[0]), value, 0, value.length, 'always', { t: 'none' }, true, c.nowMs, c.notify)
  },
}

const msetnx: KvCall = {
  name: 'msetnx',
  arity: -3,
  write: true,
  run(c, args) {
    if (args.length % 2 !== 0) return wrongArity('msetnx')
    for (let i = 0; i < args.length; i += 2) if (find(c, text(args[i]), true) !== undefined) return intResult(0)
    for (let i = 1; i < args.length; i += 2) if ((args[i] as Buffer).length > VALUE_BYTES_MAX) return errorResult(MSG_STRING_TOO_LONG)
    for (let i = 0; i < args.length; i += 2) {
      const key = text(args[i])
      c.ks.put(key, c.ks.liveForWrite(key, c.nowMs), storedValueOf(args[i + 1] as Buffer), Infinity)
      emit(c, 'set', '$', key)
    }
    return intResult(1)
  },
}

/** A long double from a stored string or an argument; null when it is not a valid float. */
function longDoubleOf(value: StoredValue | Buffer): LongDouble | number | null {
  const t = typeof value === 'string' ? value : value.toString('latin1')
  return t.length === 0 || t.length >= 5 * 1024 ? null : parseLongDouble(t)
}

/** value + increment as INCRBYFLOAT stores it, or the error reply. */
export function addFloatText(current: LongDouble | number, increment: LongDouble | number): string | KvOpResult {
  if (typeof current === 'number' || typeof increment === 'number') return errorResult('increment would produce NaN or Infinity')
  const sum = addLongDouble(current, increment)
  if (sum === null) return errorResult('increment would produce NaN or Infinity')
  return formatLongDouble(sum)
}

const incrbyfloat: KvCall = {
  name: 'incrbyfloat',
  arity: 3,
  write: true,
  run(c, args) {
    const key = text(args[0])
    const found = findString(c, key, true)
    if (found === null) return WRONGTYPE
    const current = found === undefined ? parseLongDouble('0') : longDoubleOf(found.value)
    const increment = longDoubleOf(args[1] as Buffer)
    if (current === null || increment === null) return NOT_FLOAT
    const next = addFloatText(current, increment)
    if (typeof next !== 'string') return next
    c.ks.put(key, found?.entry, next, found?.entry.expireAtMs ?? Infinity)
    emit(c, 'incrbyfloat', '$', key)
    return textResult(next)
  },
}

function getrange(name: string): KvCall {
  return {
    name,
    arity: 4,
    write: false,
    run(c, args) {
      const start0 = parseInteger(args[1])
      const end0 = parseInteger(args[2])
      if (start0 === null || end0 === null) return NOT_INTEGER
      const found = findString(c, text(args[0]), false)
      if (found === undefined) return bulkResult(Buffer.alloc(0))
      if (found === null) return WRONGTYPE
      const length = BigInt(found.value.length)
      let start = start0
      let end = end0
      if (start < 0n && end < 0n && start > end) return bulkResult(Buffer.alloc(0))
      if (start < 0n) start += length
      if (end < 0n) end += length
      if (start < 0n) start = 0n
      if (end < 0n) end = 0n
      if (end >= length) end = length - 1n
      if (start > end || length === 0n) return bulkResult(Buffer.alloc(0))
      return bulkResult(Buffer.from(valueToBuffer(found.value).subarray(Number(start), Number(end) + 1)))
    },
  }
}

const setrange: KvCall = {
  name: 'setrange',
  arity: 4,
  write: true,
  run(c, args) {
    const offset = parseInteger(args[1])
    if (offset === null) return NOT_INTEGER
    if (offset < 0n) return errorResult('offset is out of range')
    const key = text(args[0])
    const patch = args[2] as Buffer
    const found = findString(c, key, true)
    if (found === null) return WRONGTYPE
    const oldLength = found === undefined ? 0 : found.value.length
    if (patch.length === 0) return intResult(oldLength)
    if (offset + BigInt(patch.length) > BigInt(VALUE_BYTES_MAX)) return errorResult(MSG_STRING_TOO_LONG)
    const at = Number(offset)
    const length = Math.max(oldLength, at + patch.length)
    const next = Buffer.alloc(length)
    if (found !== undefined) valueToBuffer(found.value).copy(next)
    patch.copy(next, at)
    c.ks.put(key, found?.entry, storedValueOf(next), found?.entry.expireAtMs ?? Infinity)
    emit(c, 'setrange', '$', key)
    return intResult(length)
  },
}

const BIT_OFFSET_MAX = BigInt(VALUE_BYTES_MAX) * 8n
const MSG_BIT_OFFSET = 'bit offset is not an integer or out of range'

function parseBitOffset(arg: Buffer | undefined): number | null {
  const offset = parseInteger(arg)
  return offset === null || offset < 0n || offset >= BIT_OFFSET_MAX ? null : Number(offset)
}

function bitAt(value: Buffer, bit: number): number {
  const byte = bit >> 3
  return byte < value.length ? ((value[byte] as number) >> (7 - (bit & 7))) & 1 : 0
}

const setbit: KvCall = {
  name: 'setbit',
  arity: 4,
  write: true,
  run(c, args) {
    const offset = parseBitOffset(args[1])
    if (offset === null) return errorResult(MSG_BIT_OFFSET)
    const bitText = text(args[2])
    if (bitText !== '0' && bitText !== '1') return errorResult('bit is not an integer or out of range')
    const key = text(args[0])
    const found = findString(c, key, true)
    if (found === null) return WRONGTYPE
    const old = found === undefined ? Buffer.alloc(0) : valueToBuffer(found.value)
    const byte = offset >> 3
    const previous = bitAt(old, offset)
    // Redis leaves the key (its version, its events) alone when the bit and the length stay.
    if (found !== undefined && byte < old.length && String(previous) === bitText) return intResult(previous)
    const next = Buffer.alloc(Math.max(old.length, byte + 1))
    old.copy(next)
    const mask = 1 << (7 - (offset & 7))
    next[byte] = bitText === '1' ? (next[byte] as number) | mask : (next[byte] as number) & ~mask
    c.ks.put(key, found?.entry, storedValueOf(next), found?.entry.expireAtMs ?? Infinity)
    emit(c, 'setbit', '$', key)
    return intResult(previous)
  },
}

const getbit: KvCall = {
  name: 'getbit',
  arity: 3,
  write: false,
  run(c, args) {
    const offset = parseBitOffset(args[1])
    if (offset === null) return errorResult(MSG_BIT_OFFSET)
    const found = findString(c, text(args[0]), false)
    if (found === undefined) return intResult(0)
    if (found === null) return WRONGTYPE
    return intResult(bitAt(valueToBuffer(found.value), offset))
  },
}

/** Redis' start/end conversion for BITCOUNT and BITPOS, in bits: [startBit, endBit] or null when empty. */
function bitRange(start: bigint, end: bigint, byteLength: number, isBit: boolean): [number, number] | null {
  const total = BigInt(isBit ? byteLength * 8 : byteLength)
  if (start < 0n) start += total
  if (end < 0n) end += total
  if (start < 0n) start = 0n
  if (end < 0n) end = 0n
  if (end >= total) end = total - 1n
  if (start > end) return null
  return isBit ? [Number(start), Number(end)] : [Number(start) * 8, Number(end) * 8 + 7]
}

function unitOf(arg: Buffer | undefined): boolean | null {
  if (arg === undefined) return false
  const unit = keyword(arg)
  return unit === 'BIT' ? true : unit === 'BYTE' ? false : null
}

const bitcount: KvCall = {
  name: 'bitcount',
  arity: -2,
  write: false,
  run(c, args) {
    const found = findString(c, text(args[0]), false)
    if (found === undefined) return intResult(0)
    if (found === null) return WRONGTYPE
    const value = valueToBuffer(found.value)
    let range: [number, number] | null = [0, value.length * 8 - 1]
    if (args.length === 3 || args.length === 4) {
      const start = parseInteger(args[1])
      const end = parseInteger(args[2])
      if (start === null || end === null) return NOT_INTEGER
      const isBit = unitOf(args[3])
      if (isBit === null) return SYNTAX_ERROR
      if (start < 0n && end < 0n && start > end) return intResult(0)
      range = bitRange(start, end, value.length, isBit)
    } else if (args.length !== 1) return SYNTAX_ERROR
    if (range === null || range[0] > range[1]) return intResult(0)
    let count = 0
    for (let bit = range[0]; bit <= range[1]; bit++) {
      if ((bit & 7) === 0 && bit + 7 <= range[1]) {
        let byte = value[bit >> 3] as number
        while (byte !== 0) { byte &= byte - 1; count++ }
        bit += 7
      } else count += bitAt(value, bit)
    }
    return intResult(count)
  },
}

const bitpos: KvCall = {
  name: 'bitpos',
  arity: -3,
  write: false,
  run(c, args) {
    const bit = parseInteger(args[1])
    if (bit === null) return NOT_INTEGER
    if (bit !== 0n && bit !== 1n) return errorResult('The bit argument must be 1 or 0.')
    const found = findString(c, text(args[0]), false)
    if (found === undefined) return intResult(bit === 1n ? -1 : 0)
    if (found === null) return WRONGTYPE
    const value = valueToBuffer(found.value)
    let range: [number, number] | null = [0, value.length * 8 - 1]
    let endGiven = false
    if (args.length >= 3 && args.length <= 5) {
      const start = parseInteger(args[2])
      if (start === null) return NOT_INTEGER
      const isBit = unitOf(args[4])
      if (isBit === null) return SYNTAX_ERROR
      let end = isBit ? BigInt(value.length * 8 + 7) : BigInt(value.length - 1)
      if (args.length >= 4) {
        const parsed = parseInteger(args[3])
        if (parsed === null) return NOT_INTEGER
        end = parsed
        endGiven = true
      }
      range = bitRange(start, end, value.length, isBit)
    } else if (args.length !== 2) return SYNTAX_ERROR
    if (range === null || range[0] > range[1]) return intResult(-1)
    for (let i = range[0]; i <= range[1]; i++) if (bitAt(value, i) === Number(bit)) return intResult(i)
    // Past the range: a string is followed by zero bits, unless the caller bounded the range.
    if (bit === 1n || endGiven) return intResult(-1)
    return intResult(((range[1] >> 3) + 1) * 8)
  },
}

const lcs: KvCall = {
  name: 'lcs',
  arity: -3,
  write: false,
  run(c, args) {
    const a = find(c, text(args[0]), false)
    const b = find(c, text(args[1]), false)
    if ((a !== undefined && !isString(a.value)) || (b !== undefined && !isString(b.value))) return errorResult(MSG_NOT_STRINGS)
    let getIdx = false
    let getLen = false
    let withMatchLen = false
    let minMatchLen = 0
    for (let i = 2; i < args.length; i++) {
      const option = keyword(args[i])
      if (option === 'IDX') getIdx = true
      else if (option === 'LEN') getLen = true
      else if (option === 'WITHMATCHLEN') withMatchLen = true
      else if (option === 'MINMATCHLEN' && i + 1 < args.length) {
        const n = parseInteger(args[++i])
        if (n === null) return NOT_INTEGER
        minMatchLen = n < 0n ? 0 : Number(n)
      } else return SYNTAX_ERROR
    }
    if (getIdx && getLen) return errorResult('If you want both the length and indexes, please just use IDX.')
    const sa = a === undefined ? Buffer.alloc(0) : valueToBuffer(a.value as StoredValue)
    const sb = b === undefined ? Buffer.alloc(0) : valueToBuffer(b.value as StoredValue)
    if ((sa.length + 1) * (sb.length + 1) > LCS_CELLS_MAX) {
      return errorResult('Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len')
    }
    return lcsReply(sa, sb, { getIdx, getLen, withMatchLen, minMatchLen })
  },
}

interface LcsOptions { getIdx: boolean; getLen: boolean; withMatchLen: boolean; minMatchLen: number }

/** Redis 7.0's lcsCommand walk, ranges and quirks included (a match that breaks a range is not kept in the next one). */
function lcsReply(a: Buffer, b: Buffer, o: LcsOptions): KvOpResult {
  const width = b.length + 1
  const table = new Uint32Array((a.length + 1) * width)
  const at = (i: number, j: number): number => table[i * width + j] as number
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      table[i * width + j] = a[i - 1] === b[j - 1] ? at(i - 1, j - 1) + 1 : Math.max(at(i - 1, j), at(i, j - 1))
    }
  }
  const total = at(a.length, b.length)
  if (o.getLen && !o.getIdx) return intResult(total)
  const result = Buffer.alloc(total)
  const matches: KvOpResult[] = []
  let idx = total
  let i = a.length
  let j = b.length
  let aStart = a.length, aEnd = 0, bStart = 0, bEnd = 0
  while (i > 0 && j > 0) {
    let emit = false
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1] as number
      if (aStart === a.length) {
        aStart = aEnd = i - 1
        bStart = bEnd = j - 1
      } else if (aStart === i && bStart === j) {
        aStart--
        bStart--
      } else emit = true
      if (aStart === 0 || bStart === 0) emit = true
      idx--; i--; j--
    } else {
      if (at(i - 1, j) > at(i, j - 1)) i--
      else j--
      if (aStart !== a.length) emit = true
    }
    const matchLen = aEnd - aStart + 1
    if (emit) {
      if (o.getIdx && (o.minMatchLen === 0 || matchLen >= o.minMatchLen)) {
        const item: KvOpResult[] = [
          { t: 'array', items: [intResult(aStart), intResult(aEnd)] },
          { t: 'array', items: [intResult(bStart), intResult(bEnd)] },
        ]
        if (o.withMatchLen) item.push(intResult(matchLen))
        matches.push({ t: 'array', items: item })
      }
      aStart = a.length
    }
  }
  if (!o.getIdx) return bulkResult(result)
  return { t: 'array', items: [textResult('matches'), { t: 'array', items: matches }, textResult('len'), intResult(total)] }
}

export const stringCalls: readonly KvCall[] = [
  setex('setex', 'seconds'),
  setex('psetex', 'milliseconds'),
  getex,
  getset,
  msetnx,
  incrbyfloat,
  getrange('getrange'),
  getrange('substr'),
  setrange,
  setbit,
  getbit,
  bitcount,
  bitpos,
  lcs,
]

