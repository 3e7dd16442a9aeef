// Encodes a state machine result for the ForwardResponse that carries it back
// from the leader to the follower that forwarded the write. Results are small
// and varied (nested arrays, bigints, binary bulk strings), so a tagged JSON
// form with base64 for bytes is simple and adequate here.
import type { KvApplyResult, KvOpResult, KvWriteOutcome } from '../kv/command.js'

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export function encodeApplyResult(r: KvApplyResult): Buffer {
  return Buffer.from(JSON.stringify(applyToJson(r)))
}

export function decodeApplyResult(buf: Buffer): KvApplyResult {
  return applyFromJson(JSON.parse(buf.toString('utf8')) as Json)
}

function applyToJson(r: KvApplyResult): Json {
  switch (r.t) {
    case 'results':
    case 'watchAborted':
      return { t: 'o', o: outcomeToJson(r) }
    case 'duplicate':
      return { t: 'd', o: r.outcome === null ? null : outcomeToJson(r.outcome) }
    case 'rejected':
      return { t: 'r', code: r.error.code, message: r.error.message }
  }
}

function applyFromJson(j: Json): KvApplyResult {
  const o = asObject(j)
  if (o['t'] === 'o') return outcomeFromJson(o['o'] ?? null)
  if (o['t'] === 'd') return { t: 'duplicate', outcome: o['o'] === null ? null : outcomeFromJson(o['o'] ?? null) }
  if (o['t'] === 'r') return { t: 'rejected', error: { code: String(o['code']), message: String(o['message']) } }
  throw new Error('apply result: unknown tag')
}

function outcomeToJson(r: KvWriteOutcome): Json {
  if (r.t === 'watchAborted') return { t: 'w' }
  return { t: 'r', r: r.results.map(opToJson) }
}

function outcomeFromJson(j: Json): KvWriteOutcome {
  const o = asObject(j)
  if (o['t'] === 'w') return { t: 'watchAborted' }
  const list = o['r']
  if (!Array.isArray(list)) throw new Error('apply result: results missing')
  return { t: 'results', results: list.map(opFromJson) }
}

function opToJson(r: KvOpResult): Json {
  switch (r.t) {
    case 'ok':
    case 'nil':
    case 'nilArray':
      return { t: r.t }
    case 'status':
      return { t: 's', v: r.value }
    case 'int':
      return { t: 'i', v: r.value.toString() }
    case 'bulk':
      return { t: 'b', v: r.value.toString('base64') }
    case 'array':
      return { t: 'a', v: r.items.map(opToJson) }
    case 'error':
      return { t: 'e', c: r.code, m: r.message }
  }
}

function opFromJson(j: Json): KvOpResult {
  const o = asObject(j)
  switch (o['t']) {
    case 'ok':
      return { t: 'ok' }
    case 'nil':
      return { t: 'nil' }
    case 'nilArray':
      return { t: 'nilArray' }
    case 's':
      return { t: 'status', value: String(o['v']) }
    case 'i': {
      const big = BigInt(String(o['v']))
      const asNumber = Number(big)
      return { t: 'int', value: Number.isSafeInteger(asNumber) ? asNumber : big }
    }
    case 'b':
      return { t: 'bulk', value: Buffer.from(String(o['v']), 'base64') }
    case 'a': {
      const items = o['v']
      if (!Array.isArray(items)) throw new Error('apply result: array items missing')
      return { t: 'array', items: items.map(opFromJson) }
    }
    case 'e':
      return { t: 'error', code: o['c'] === 'WRONGTYPE' ? 'WRONGTYPE' : 'ERR', message: String(o['m']) }
    default:
      throw new Error('apply result: unknown op result tag')
  }
}

function asObject(j: Json): { [k: string]: Json } {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error('apply result: expected an object')
  return j
}
