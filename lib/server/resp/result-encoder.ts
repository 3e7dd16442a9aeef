// A key-value result (KvOpResult) as RESP2 bytes in one exactly-sized
// buffer: one pass sizes the reply, a second writes it. Encoding an array
// element by element (a header Buffer and a concat per bulk string, then a
// concat of them all) cost LRANGE of 600 elements ~490 µs of the leader's CPU
// against Redis's ~42 (bench/README section 38); a reply's bytes are now
// copied once.

import type { KvOpResult, TextBulk } from '../../kv/command.js'
import { ARRAY_MARK, BULK_MARK, bulkReplyBytes, errorReply, headerBytes, simpleString, writeBulk, writeHeader } from './reply-writer.js'
import { writeLatin1 } from '../../codec/latin1-text.js'

/**
 * Up to this many chars a string element is written char by char (an
 * in-process run of 200 14-char elements: 14-19 µs against 23 with
 * Buffer#write).
 */
const SHORT_TEXT_CHARS_MAX = 64

function integerText(value: number | bigint): string {
  return typeof value === 'bigint' ? value.toString() : String(Math.trunc(value))
}

/** The bytes `result` encodes to. */
function resultBytes(result: KvOpResult): number {
  switch (result.t) {
    case 'ok':
    case 'nil':
    case 'nilArray':
      return 5 // `+OK\r\n`, `$-1\r\n`, `*-1\r\n`
    case 'int':
      return integerText(result.value).length + 3
    case 'bulk':
      return bulkReplyBytes(textOf(result)?.length ?? result.value.length)
    case 'array': {
      let bytes = headerBytes(result.items.length)
      for (const item of result.items) bytes += resultBytes(item)
      return bytes
    }
    // Rare inside arrays (EXEC's slots); their text is escaped by the writers.
    case 'status':
    case 'error':
      return scalarReply(result).length
  }
}

function scalarReply(result: { readonly t: 'status'; readonly value: string } | { readonly t: 'error'; readonly code: string; readonly message: string }): Buffer {
  return result.t === 'status' ? simpleString(result.value) : errorReply(`${result.code} ${result.message}`)
}

/** Writes `result` at `at`; returns where it ends. */
function writeResult(out: Buffer, at: number, result: KvOpResult): number {
  switch (result.t) {
    case 'ok':
      return at + out.write('+OK\r\n', at, 'latin1')
    case 'nil':
      return at + out.write('$-1\r\n', at, 'latin1')
    case 'nilArray':
      return at + out.write('*-1\r\n', at, 'latin1')
    case 'int':
      return at + out.write(`:${integerText(result.value)}\r\n`, at, 'latin1')
    case 'bulk': {
      const text = textOf(result)
      return text === undefined ? writeBulk(out, at, result.value) : writeTextBulk(out, at, text)
    }
    case 'array': {
      at = writeHeader(out, at, ARRAY_MARK, result.items.length)
      for (const item of result.items) at = writeResult(out, at, item)
      return at
    }
    case 'status':
    case 'error':
      return at + scalarReply(result).copy(out, at)
  }
}

/**
 * A TextBulk's string, or undefined for a bulk holding bytes. Read as a
 * property rather than with `instanceof` (a prototype walk per element);
 * read-cost runs did not separate the two from this machine's noise.
 */
function textOf(result: { readonly t: 'bulk'; readonly value: Buffer }): string | undefined {
  return (result as Partial<TextBulk>).text
}

/** `$<n>\r\n<text's latin1 bytes>\r\n` at `at`; returns where it ends. */
function writeTextBulk(out: Buffer, at: number, text: string): number {
  at = writeLatin1(out, writeHeader(out, at, BULK_MARK, text.length), text, SHORT_TEXT_CHARS_MAX)
  out[at] = 13
  out[at + 1] = 10
  return at + 2
}

/** `result` as RESP2, in one buffer of exactly its size. */
export function encodeResult(result: KvOpResult): Buffer {
  const out = Buffer.allocUnsafe(resultBytes(result))
  const end = writeResult(out, 0, result)
  if (end !== out.length) throw new Error(`encodeResult: wrote ${end} bytes of ${out.length}`)
  return out
}
