// The watch history (lib/feeds/watch-history.ts) against a plain model: a
// list of events that drops its oldest while there are more than the count
// bound or their bytes pass the byte bound. The history keeps short keys and
// values in slabs whose slots are freed and reused as events come and go,
// long ones as they came, and a plain SET's event as its entry's index, read
// back from the log on a resume; none of that may change what a resume sees,
// nor where the horizon stands.
import t from 'tap'
import { encodeEnvelope } from '../../lib/kv/command-codec.js'
import type { KvEventClass } from '../../lib/kv/key-events.js'
import { feedLimitsDefault } from '../../lib/config/feed-limits.js'
import { WatchHistory, type ChangeEvent } from '../../lib/feeds/watch-history.js'
import { Prng } from '../../lib/util/prng.js'

/** What the history counts an event as against its byte bound (its key, its value and 64). */
const sizeOf = (e: ChangeEvent): number => e.key.length + (e.value?.length ?? 0) + 64

class ModelHistory {
  events: ChangeEvent[] = []
  horizon: number

  constructor(
    private readonly eventsMax: number,
    private readonly bytesMax: number,
    start: number,
  ) {
    this.horizon = start
  }

  append(e: ChangeEvent): void {
    if (this.events.length === this.eventsMax) this.evict()
    while (this.events.length > 0 && this.bytes() + sizeOf(e) > this.bytesMax) this.evict()
    this.events.push(e)
  }

  after(from: number): ChangeEvent[] | null {
    return from < this.horizon ? null : this.events.filter((e) => e.index > from)
  }

  private bytes(): number {
    return this.events.reduce((sum, e) => sum + sizeOf(e), 0)
  }

  private evict(): void {
    const e = this.events.shift() as ChangeEvent
    if (e.index > this.horizon) this.horizon = e.index
  }
}

/** What a resume after `from` replays, values as latin1 strings (a value may come back as the Buffer it was given). */
const replay = (h: WatchHistory, from: number): ChangeEvent[] | undefined =>
  h.after(from)?.map((e) => ({ ...e, value: typeof e.value === 'string' || e.value === null ? e.value : e.value.toString('latin1') }))

const text = (rng: Prng, n: number): string => {
  let s = ''
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(256))
  return s
}

/** A plain SET's entry data, as a leader writes it. */
const setEntry = (key: string, value: string, seq: number): Buffer =>
  encodeEnvelope({
    nowMs: 1_700_000_000_000, clientId: 'n1/test', seq,
    write: { ops: [{ t: 'set', key: Buffer.from(key, 'latin1'), value: Buffer.from(value, 'latin1'), condition: 'always', expiry: { t: 'none' }, get: false }], watches: [] },
  })

/** Lengths from 0 up to past what the slabs hold (4 KiB), mostly short. */
const length = (rng: Prng): number => (rng.chance(0.05) ? 2000 + rng.int(4000) : rng.int(rng.chance(0.5) ? 20 : 300))

function runSeed(seed: number): string | null {
  const rng = new Prng(seed)
  const eventsMax = 1 + rng.int(rng.chance(0.5) ? 50 : 3000)
  const bytesMax = 1024 + rng.int(rng.chance(0.5) ? 20_000 : 400_000)
  // The log: every entry a plain SET's event was kept as.
  const log = new Map<number, Buffer>()
  const history = new WatchHistory(eventsMax, bytesMax, 5, (index) => log.get(index) ?? null)
  const model = new ModelHistory(eventsMax, bytesMax, 5)
  let index = 6
  for (let step = 0; step < 3000; step++) {
    if (rng.chance(0.7)) index++
    const key = text(rng, length(rng))
    const op = rng.chance(0.8) ? 'set' : 'del'
    const typeClass: KvEventClass = op === 'set' ? '$' : 'g'
    const kind = rng.int(5)
    if (op === 'set' && kind === 4) {
      // A plain SET is an entry of its own; later events may share its index (a SET's expire event does).
      index++
      const value = text(rng, length(rng))
      log.set(index, setEntry(key, value, step))
      history.appendFromEntry(index, op, typeClass, key.length, value.length)
      model.append({ index, op, typeClass, key, value })
    } else if (op === 'del' || kind === 0) {
      history.append(index, op, typeClass, key, null)
      model.append({ index, op, typeClass, key, value: null })
    } else {
      const value = text(rng, length(rng))
      if (kind === 1) history.append(index, op, typeClass, key, value)
      else if (kind === 2) history.append(index, op, typeClass, key, Buffer.from(value, 'latin1'))
      else {
        // As apply hands them: the value inside a larger buffer that changes right after.
        const entry = Buffer.from(`..${value}..`, 'latin1')
        history.appendBytes(index, op, typeClass, key, entry, 2, 2 + value.length)
        entry.fill(0)
      }
      model.append({ index, op, typeClass, key, value })
    }
    if (history.size !== model.events.length) return `step ${step}: ${history.size} events held, the model ${model.events.length}`
    if (history.horizon !== model.horizon) return `step ${step}: horizon ${history.horizon}, the model ${model.horizon}`
    if (rng.chance(0.02)) {
      const from = model.horizon + rng.int(Math.max(1, index - model.horizon))
      if (JSON.stringify(replay(history, from)) !== JSON.stringify(model.after(from))) return `step ${step}: after(${from}) differs from the model`
    }
  }
  return JSON.stringify(replay(history, model.horizon)) === JSON.stringify(model.after(model.horizon)) ? null : 'the final replay differs from the model'
}

t.test('a resume replays exactly the events the bounds keep, in order, whatever their sizes', async (t) => {
  const failures: string[] = []
  for (let seed = 1; seed <= 60; seed++) {
    const failure = runSeed(seed)
    if (failure !== null) failures.push(`seed ${seed}: ${failure}`)
  }
  t.same(failures, [])
})

t.test('at the default bounds a full history of 100-byte SETs is held whole, the oldest evicted first', async (t) => {
  const { historyEventsMax: eventsMax, historyBytesMax } = feedLimitsDefault
  const history = new WatchHistory(eventsMax, historyBytesMax, 0)
  const value = Buffer.alloc(100, 120)
  for (let i = 1; i <= eventsMax + 500; i++) history.appendBytes(i, 'set', '$', `key:${String(i % 100_000).padStart(12, '0')}`, value, 0, 100)
  t.equal(history.size, eventsMax)
  t.equal(history.horizon, 500)
  const held = history.after(history.horizon) ?? []
  t.equal(held.length, eventsMax)
  t.same(held.at(-1), { index: eventsMax + 500, op: 'set', typeClass: '$', key: `key:${String((eventsMax + 500) % 100_000).padStart(12, '0')}`, value: 'x'.repeat(100) })
})

t.test('an event whose entry the log no longer has ends the resume with null, and the horizon moves up to it', async (t) => {
  const log = new Map<number, Buffer>()
  const history = new WatchHistory(100, 1 << 20, 0, (index) => log.get(index) ?? null)
  for (let i = 1; i <= 10; i++) {
    log.set(i, setEntry(`k${i}`, `v${i}`, i))
    history.appendFromEntry(i, 'set', '$', `k${i}`.length, `v${i}`.length)
  }
  t.same(history.after(8)?.map((e) => [e.index, e.key, e.value]), [[9, 'k9', 'v9'], [10, 'k10', 'v10']], 'read back from the log')
  log.delete(5)
  t.equal(history.after(2), null, 'a replay through the missing entry is refused')
  t.equal(history.horizon, 5, 'the horizon names the missing entry')
  t.equal(history.size, 5, 'the events up to it are gone')
  t.same(history.after(history.horizon)?.map((e) => e.index), [6, 7, 8, 9, 10], 'a resume from the new horizon gets the rest')
})

t.test('an entry read back must be the SET the event was kept for', async (t) => {
  const log = new Map<number, Buffer>()
  const history = new WatchHistory(100, 1 << 20, 0, (index) => log.get(index) ?? null)
  log.set(1, setEntry('key', 'value', 1))
  history.appendFromEntry(1, 'set', '$', 3, 5)
  log.set(2, setEntry('key', 'other value', 2))
  history.appendFromEntry(2, 'set', '$', 3, 5)
  t.equal(history.after(0), null, 'a value of another length is not replayed as this event')
  t.equal(history.horizon, 2)
})

t.test('a history without a log reader refuses to keep an event as its entry', async (t) => {
  const history = new WatchHistory(100, 1 << 20, 0)
  t.throws(() => history.appendFromEntry(1, 'set', '$', 3, 5), /no reader/)
  t.equal(history.readsEntries, false)
})

t.test('pages of a replay end after the last event of an index and together make the whole replay', async (t) => {
  const history = new WatchHistory(1000, 1 << 20, 0)
  // Indexes 1..30 with one to three events each, as MSETs and SETs with deadlines make them.
  for (let index = 1; index <= 30; index++) {
    for (let k = 0; k <= index % 3; k++) history.append(index, 'set', '$', `k${index}.${k}`, 'v')
  }
  const whole = history.after(0) ?? []
  const pages: ChangeEvent[][] = []
  for (let from = 0; from < 30;) {
    const page = history.page(from, 30, 4) ?? []
    t.ok(page.length > 0, `a page after ${from}`)
    pages.push(page)
    from = (page.at(-1) as ChangeEvent).index
  }
  t.same(pages.flat(), whole, 'the pages are the replay')
  t.ok(pages.every((p, i) => i === 0 || (p[0] as ChangeEvent).index !== ((pages[i - 1] as ChangeEvent[]).at(-1) as ChangeEvent).index), 'no index is split between pages')
  t.ok(pages.every((p) => p.length <= 4 + 2), 'a page is at most its size plus the rest of its last index')
  t.same(history.page(10, 12, 100)?.map((e) => e.index), [11, 11, 11, 12], 'until bounds a page')
  t.equal(history.lastIndex, 30)
})
