// GET /watch?prefix=<p> | ?key=<k> — the keyspace's changes as Server-Sent
// Events. Each change is one event: `data:` is JSON {"index","op","key","value"}
// and `id:` is its log index, written on the last event of each log entry so
// that a client resuming with Last-Event-ID (or ?from=) never gets half an
// entry. A resume is served from the node's bounded history (every node
// produces the same events at the same indexes, so any node will do);
// older than that is 410 Gone with the oldest index still held, as etcd's
// ErrCompacted. A watch without a starting point starts at an index
// confirmed by ReadIndex: no write acknowledged before the request is
// reported as a change after it.
import type http from 'node:http'
import type { FeedHub } from '../../feeds/feed-hub.js'
import type { ChangeEvent } from '../../feeds/watch-history.js'
import { matches, type WatchFilter } from '../../feeds/watch-registry.js'
import type { RouteContext } from './http-server.js'
import { HttpError, sendJson } from './http-io.js'

/** The text of a latin1-held key or value for JSON (bytes read as UTF-8). */
function text(value: string | Buffer): string {
  return (typeof value === 'string' ? Buffer.from(value, 'latin1') : value).toString('utf8')
}

/** Events as SSE text; `id:` on the last event of each index. */
export function formatEvents(events: readonly ChangeEvent[]): string {
  let out = ''
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as ChangeEvent
    const data = JSON.stringify({ index: e.index, op: e.op, key: text(e.key), value: e.value === null ? null : text(e.value) })
    const last = events[i + 1]?.index !== e.index
    out += last ? `id: ${e.index}\ndata: ${data}\n\n` : `data: ${data}\n\n`
  }
  return out
}

function parseFilter(url: URL): WatchFilter {
  const key = url.searchParams.get('key')
  const prefix = url.searchParams.get('prefix')
  if ((key === null) === (prefix === null)) throw new HttpError(400, 'give exactly one of ?key=<key> or ?prefix=<prefix> (an empty prefix watches every key)')
  if (key !== null) {
    if (key === '') throw new HttpError(400, '?key= must not be empty')
    return { t: 'key', key: Buffer.from(key).toString('latin1') }
  }
  return { t: 'prefix', prefix: Buffer.from(prefix as string).toString('latin1') }
}

/** ?from= or Last-Event-ID: resume after this index; null starts now. */
function parseFrom(request: http.IncomingMessage, url: URL): number | null {
  const raw = url.searchParams.get('from') ?? request.headers['last-event-id']
  if (raw === undefined || raw === null) return null
  const value = Array.isArray(raw) ? raw[0] ?? '' : raw
  if (!/^[0-9]{1,15}$/.test(value.trim())) throw new HttpError(400, 'from / Last-Event-ID must be a log index (a non-negative integer)')
  return Number(value.trim())
}

export async function watchRoute(context: RouteContext, feeds: FeedHub, request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
  const filter = parseFilter(url)
  let from = parseFrom(request, url)
  if (feeds.watchers.size >= feeds.limits.watchersMax) {
    feeds.counters.watchersRefused++
    throw new HttpError(503, `too many watchers on this node (WATCHERS_MAX ${feeds.limits.watchersMax}); try another node`, { 'Retry-After': '1' })
  }
  if (from === null) {
    // ReadIndex: once this resolves, everything committed before the request is applied here.
    await context.backend.read([{ t: 'dbsize' }], 'linearizable')
    from = context.backend.info().appliedIndex
  }
  const history = feeds.history
  if (from < history.horizon) {
    sendJson(response, 410, {
      error: `changes after index ${from} are no longer held here (WATCH_HISTORY_ENTRIES); resume from a later index or read the current state`,
      oldestIndex: history.horizon + 1,
      resumeFrom: history.horizon,
    })
    return
  }
  response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' })
  // An id before any event: a client that reconnects before the first change resumes from here, not from "now".
  response.write(`retry: 1000\nid: ${from}\n\n`)
  // Events up to `until` come from the history, page by page; later ones live.
  // Both are decided in this turn, so no event falls between them or comes twice.
  const until = Math.max(from, history.lastIndex)
  let held: ChangeEvent[][] | null = until > from ? [] : null
  let heldCount = 0
  let closed = false
  let stop: () => void = () => {}
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), feeds.limits.heartbeatMs)
  const close = (): void => {
    closed = true
    clearInterval(heartbeat)
    stop()
  }
  const slow = (what: string): void => {
    feeds.counters.slowWatcherDisconnects++
    feeds.logger.warn({ addr: request.socket.remoteAddress, bytesMax: feeds.limits.watcherOutputBytesMax }, `slow watcher: ${what}, closing its stream (it may resume with Last-Event-ID)`)
    close()
    response.destroy()
  }
  stop = feeds.watchers.add(filter, until, {
    deliver: (events) => {
      if (held !== null) {
        held.push(events as ChangeEvent[])
        heldCount += events.length
        // The replay is written as fast as the client reads; writes that outrun it for a whole history are too many to hold.
        if (heldCount > feeds.limits.historyEventsMax) slow('live changes over WATCH_HISTORY_ENTRIES during its replay')
        return
      }
      response.write(formatEvents(events))
      if (response.writableLength > feeds.limits.watcherOutputBytesMax) slow('output over the limit')
    },
    end: (reason) => {
      closed = true
      clearInterval(heartbeat)
      response.end(`: ${reason}\n\n`)
    },
  })
  response.on('close', close)
  const replayed = await replayHistory(feeds, response, filter, from, until, () => closed)
  if (!replayed) close()
  if (closed) return
  for (const events of held ?? []) response.write(formatEvents(events))
  held = null
}

/** Events in a replay page, so one turn stays short however long the history. */
const replayPageEvents = 1000
/** Replay bytes waiting for the client before the next page waits for 'drain'. */
const replayBufferedBytesMax = 1024 * 1024

/**
 * Writes the held events after `from` up to `until`, a page per turn: a
 * whole history (100,000 events, read back from the log) formatted in one
 * turn stalled the node for over half a second (leadership moved in one
 * run). Ends the stream and returns false when the history moved past the
 * next page meanwhile (the client resumes from the last id it got, or is told 410).
 */
async function replayHistory(feeds: FeedHub, response: http.ServerResponse, filter: WatchFilter, from: number, until: number, closed: () => boolean): Promise<boolean> {
  let after = from
  while (after < until && !closed()) {
    const page = feeds.history.page(after, until, replayPageEvents)
    if (page === null) {
      response.end(`: changes after index ${after} are no longer held here; resume with Last-Event-ID\n\n`)
      response.destroy()
      return false
    }
    const last = page[page.length - 1]
    if (last === undefined) return true
    response.write(formatEvents(page.filter((e) => matches(filter, e.key))))
    after = last.index
    if (response.writableLength > replayBufferedBytesMax) await drained(response)
    else await new Promise((resolve) => setImmediate(resolve))
  }
  return true
}

function drained(response: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done)
      response.off('close', done)
      resolve()
    }
    response.on('drain', done)
    response.on('close', done)
  })
}
