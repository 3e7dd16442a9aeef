// RESP2 reply encoding. Every reply is encoded to a Buffer as soon as it is
// known, so the ordered reply queue only ever holds bytes.

export type Reply = Buffer

const crlf = '\r\n'

export const replyOk: Reply = Buffer.from('+OK\r\n')
export const replyPong: Reply = Buffer.from('+PONG\r\n')
export const replyQueued: Reply = Buffer.from('+QUEUED\r\n')
export const replyNil: Reply = Buffer.from('$-1\r\n')
export const replyNilArray: Reply = Buffer.from('*-1\r\n')
export const replyEmptyArray: Reply = Buffer.from('*0\r\n')
export const replyZero: Reply = Buffer.from(':0\r\n')
export const replyOne: Reply = Buffer.from(':1\r\n')

/** `+text` — the text must not contain CR or LF; they are replaced by blanks. */
export function simpleString(text: string): Reply {
  return Buffer.from(`+${oneLine(text)}${crlf}`)
}

/** `-CODE message`. A message without an upper-case code word gets `ERR `. */
export function errorReply(message: string): Reply {
  const line = oneLine(message)
  return Buffer.from(`-${/^[A-Z]+ /.test(line) || /^[A-Z]+$/.test(line) ? line : `ERR ${line}`}${crlf}`)
}

export function integer(value: number | bigint): Reply {
  return Buffer.from(`:${typeof value === 'bigint' ? value.toString() : Math.trunc(value)}${crlf}`)
}

export function bulk(value: Buffer | string | null): Reply {
  if (value === null) return replyNil
  const body = typeof value === 'string' ? Buffer.from(value) : value
  const out = Buffer.allocUnsafe(bulkReplyBytes(body.length))
  writeBulk(out, 0, body)
  return out
}

// Headers written digit by digit into the reply's own buffer: a header
// Buffer and a concat per bulk string were most of a long array reply's cost
// (lib/server/resp/result-encoder.ts).
const CR = 13
const LF = 10
export const BULK_MARK = 36 // $
export const ARRAY_MARK = 42 // *

/** Decimal digits of a non-negative safe integer. */
function decimalDigits(n: number): number {
  let digits = 1
  while (n >= 10) {
    n = Math.floor(n / 10)
    digits++
  }
  return digits
}

/** The bytes of `$<n>\r\n` or `*<n>\r\n`. */
export function headerBytes(n: number): number {
  return decimalDigits(n) + 3
}

/** Writes `<mark><n>\r\n` at `at`; returns where it ends. */
export function writeHeader(out: Buffer, at: number, mark: number, n: number): number {
  out[at] = mark
  const digits = decimalDigits(n)
  for (let i = at + digits, rest = n; i > at; i--) {
    out[i] = 48 + (rest % 10)
    rest = Math.floor(rest / 10)
  }
  at += 1 + digits
  out[at] = CR
  out[at + 1] = LF
  return at + 2
}

/** The bytes of a bulk string reply of `length` bytes. */
export function bulkReplyBytes(length: number): number {
  return headerBytes(length) + length + 2
}

/** Writes `$<n>\r\n<value>\r\n` at `at`; returns where it ends. */
export function writeBulk(out: Buffer, at: number, value: Buffer): number {
  at = writeHeader(out, at, BULK_MARK, value.length)
  at += value.copy(out, at)
  out[at] = CR
  out[at + 1] = LF
  return at + 2
}

/** An array whose elements are already-encoded replies. */
export function array(items: readonly Reply[] | null): Reply {
  if (items === null) return replyNilArray
  if (items.length === 0) return replyEmptyArray
  const header = Buffer.from(`*${items.length}${crlf}`)
  return Buffer.concat([header, ...items])
}

export function bulkArray(values: readonly (Buffer | string | null)[]): Reply {
  return array(values.map(bulk))
}

/** A nested value as RESP2: strings become bulk strings, numbers integers, arrays arrays. */
export type ReplyValue = string | Buffer | number | null | readonly ReplyValue[]

export function encodeValue(value: ReplyValue): Reply {
  if (value === null || typeof value === 'string' || Buffer.isBuffer(value)) return bulk(value)
  if (typeof value === 'number') return integer(value)
  return array((value as readonly ReplyValue[]).map(encodeValue))
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ')
}
