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
  const header = Buffer.from(`$${body.length}${crlf}`)
  return Buffer.concat([header, body, crlfBytes], header.length + body.length + 2)
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

const crlfBytes = Buffer.from(crlf)

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ')
}
