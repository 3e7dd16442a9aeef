// The seed's key API: POST /key (one pair or an atomic array of pairs, with
// `If-None-Match: *` for insert-only), GET /key/<key>, DELETE /key/<key>.
import type http from 'node:http'
import type { KvApplyResult, KvOpResult, KvPair, KvWrite } from '../../kv/command.js'
import type { ReadConsistency } from '../../replica/client-api.js'
import type { RouteContext } from './http-server.js'
import { HttpError, readJsonBody, sendJson } from './http-io.js'

/** Pairs per POST: a bound on one log entry from one request. */
const pairsMax = 10_000

function parsePairs(body: unknown): KvPair[] {
  const items = Array.isArray(body) ? body : [body]
  if (items.length === 0) throw new HttpError(400, 'expected {"key","value"} or a non-empty array of them')
  if (items.length > pairsMax) throw new HttpError(400, `at most ${pairsMax} pairs per request`)
  return items.map((item, index) => {
    const where = Array.isArray(body) ? ` at index ${index}` : ''
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new HttpError(400, `expected an object {"key","value"}${where}`)
    }
    const { key, value } = item as { key?: unknown; value?: unknown }
    if (typeof key !== 'string' || key === '') throw new HttpError(400, `"key" must be a non-empty string${where}`)
    if (typeof value !== 'string') throw new HttpError(400, `"value" must be a string${where}`)
    return { key: Buffer.from(key), value: Buffer.from(value) }
  })
}

function results(outcome: KvApplyResult): readonly KvOpResult[] | 'aborted' {
  switch (outcome.t) {
    case 'results':
      return outcome.results
    case 'watchAborted':
      return 'aborted'
    case 'duplicate':
      if (outcome.outcome === null) throw new HttpError(500, 'the write was applied, but its result is no longer known')
      return results(outcome.outcome)
    case 'rejected':
      throw new HttpError(500, `the write was rejected: ${outcome.error.message}`)
  }
}

function throwIfError(result: KvOpResult | undefined): void {
  if (result?.t === 'error') throw new HttpError(400, result.message)
}

const created = { ok: true }

export async function postKey(context: RouteContext, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const body = await readJsonBody(request, context.bodyBytesMax)
  const pairs = parsePairs(body)
  const insertOnly = (request.headers['if-none-match'] ?? '').trim() === '*'
  const { backend } = context
  if (!insertOnly) {
    const write: KvWrite =
      pairs.length === 1
        ? { ops: [{ t: 'set', key: (pairs[0] as KvPair).key, value: (pairs[0] as KvPair).value, condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] }
        : { ops: [{ t: 'mset', pairs }], watches: [] }
    const outcome = results(await backend.write(write))
    if (outcome !== 'aborted') throwIfError(outcome[0])
    return sendJson(response, 201, created)
  }
  if (pairs.length === 1) {
    const pair = pairs[0] as KvPair
    const outcome = results(
      await backend.write({ ops: [{ t: 'set', key: pair.key, value: pair.value, condition: 'nx', expiry: { t: 'none' } , get: false }], watches: [] }),
    )
    const result = outcome === 'aborted' ? undefined : outcome[0]
    throwIfError(result)
    if (result?.t === 'nil') return sendJson(response, 409, { error: 'key exists', key: pair.key.toString() })
    return sendJson(response, 201, created)
  }
  return insertAll(context, response, pairs)
}

/**
 * Insert-only for many keys, all or nothing: check that none exists, then
 * write them with WATCH on each, so a key created in between aborts the write.
 */
async function insertAll(context: RouteContext, response: http.ServerResponse, pairs: KvPair[]): Promise<void> {
  const { backend } = context
  const keys = pairs.map((pair) => pair.key)
  const versions = await backend.watchVersions(keys, 'linearizable')
  // TYPE rather than MGET: a key holding a hash or a list exists too, though MGET reads it as nil.
  const types = await backend.read(keys.map((key) => ({ t: 'type', key })), 'linearizable')
  const present = types.flatMap((type, index) => (type.t === 'status' && type.value !== 'none' ? [(keys[index] as Buffer).toString()] : []))
  if (present.length > 0) return sendJson(response, 409, { error: 'key exists', keys: present })
  const watches = keys.map((key, index) => ({ key, version: versions[index] ?? -1 }))
  const outcome = results(await backend.write({ ops: [{ t: 'mset', pairs }], watches }))
  if (outcome === 'aborted') return sendJson(response, 409, { error: 'a key was written concurrently; nothing was inserted' })
  throwIfError(outcome[0])
  return sendJson(response, 201, created)
}

function decodeKey(raw: string): Buffer {
  let key: string
  try {
    key = decodeURIComponent(raw)
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in key')
  }
  if (key === '') throw new HttpError(400, 'empty key')
  return Buffer.from(key)
}

function consistencyOf(params: URLSearchParams): ReadConsistency {
  const value = params.get('consistency') ?? 'linearizable'
  if (value !== 'linearizable' && value !== 'stale') {
    throw new HttpError(400, `consistency must be "linearizable" or "stale", not "${value.slice(0, 32)}"`)
  }
  return value
}

export async function getKey(context: RouteContext, response: http.ServerResponse, rawKey: string, params: URLSearchParams): Promise<void> {
  const key = decodeKey(rawKey)
  const consistency = consistencyOf(params)
  const [type, result] = await context.backend.read([{ t: 'type', key }, { t: 'get', key }], consistency)
  if (type?.t === 'status' && type.value !== 'string' && type.value !== 'none') {
    // Like RESP's WRONGTYPE: the key exists, but this route reads strings only.
    return sendJson(response, 409, { error: `key holds a ${type.value}, not a string`, key: key.toString(), type: type.value })
  }
  throwIfError(result)
  if (result === undefined || result.t !== 'bulk') return sendJson(response, 404, { error: 'not found', key: key.toString() })
  return sendJson(response, 200, { [key.toString()]: result.value.toString() })
}

export async function deleteKey(context: RouteContext, response: http.ServerResponse, rawKey: string): Promise<void> {
  const key = decodeKey(rawKey)
  const outcome = results(await context.backend.write({ ops: [{ t: 'del', keys: [key] }], watches: [] }))
  const result = outcome === 'aborted' ? undefined : outcome[0]
  throwIfError(result)
  if (result?.t === 'int' && Number(result.value) > 0) return sendJson(response, 200, { ok: true })
  return sendJson(response, 404, { error: 'not found', key: key.toString() })
}
