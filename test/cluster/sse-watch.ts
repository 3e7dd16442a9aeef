// A /watch client for tests: reads a Server-Sent Events stream with fetch,
// parses each event's JSON, and remembers the last `id:` as EventSource does
// (so a reconnect can send it as Last-Event-ID).

export interface WatchEvent {
  readonly index: number
  readonly op: string
  readonly key: string
  readonly value: string | null
}

export class SseWatch {
  readonly events: WatchEvent[] = []
  lastEventId: string | null = null
  heartbeats = 0
  /** The HTTP status; 0 while connecting, -1 when the request failed (see `error`). */
  status = 0
  error = ''
  /** Resolves when the stream ends, for whatever reason (node killed, closed by us). */
  readonly done: Promise<void>
  private readonly abort = new AbortController()
  private buffer = ''
  private dataLines: string[] = []
  private pendingId: string | null = null

  constructor(url: string, lastEventId: string | null = null) {
    this.lastEventId = lastEventId
    this.done = this.run(url, lastEventId).catch((err: unknown) => {
      if (this.status === 0) {
        this.status = -1
        this.error = String(err)
      }
    })
  }

  private async run(url: string, lastEventId: string | null): Promise<void> {
    const headers: Record<string, string> = lastEventId === null ? {} : { 'Last-Event-ID': lastEventId }
    const res = await fetch(url, { headers, signal: this.abort.signal })
    this.status = res.status
    if (res.status !== 200 || res.body === null) return
    const decoder = new TextDecoder()
    for await (const chunk of res.body) {
      this.buffer += decoder.decode(chunk as Uint8Array, { stream: true })
      this.parse()
    }
  }

  private parse(): void {
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl)
      this.buffer = this.buffer.slice(nl + 1)
      if (line === '') {
        // As EventSource: an id takes effect when its event is dispatched (a blank line).
        if (this.pendingId !== null) this.lastEventId = this.pendingId
        this.pendingId = null
        if (this.dataLines.length > 0) this.events.push(JSON.parse(this.dataLines.join('\n')) as WatchEvent)
        this.dataLines = []
      } else if (line.startsWith(':')) {
        if (line.startsWith(': heartbeat')) this.heartbeats++
      } else if (line.startsWith('id: ')) {
        this.pendingId = line.slice(4)
      } else if (line.startsWith('data: ')) {
        this.dataLines.push(line.slice(6))
      }
    }
  }

  close(): void {
    this.abort.abort()
  }
}
