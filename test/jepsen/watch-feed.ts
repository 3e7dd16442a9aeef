// The watch scenario's workload and checker. One writer sets keys under
// `feed:` one write at a time, each with a value never used before; one
// watcher follows GET /watch?prefix=feed: and, whenever its node dies or its
// stream ends (or every couple of seconds anyway), reconnects to another live
// node with Last-Event-ID. At the
// end every change the watcher saw is checked against the writes:
// - each acknowledged write was seen exactly once (a missing one is a gap);
// - a write known not to have happened was never seen, an unknown one at most once;
// - changes arrived in write order (the writer waits for each write), indexes never going back;
// - nothing was seen that the writer did not write.
import { SseWatch, type WatchEvent } from '../cluster/sse-watch.js'
import type { JepsenCluster } from './jepsen-cluster.js'
import { NoAnswer, RespConnection, RespError } from './resp-client.js'
import { sleep } from './workload.js'

type Outcome = 'ok' | 'failed' | 'unknown'

export interface WatchVerdict {
  readonly ok: boolean
  readonly eventsChecked: number
  readonly gaps: number
  readonly detail: string
}

const keysUsed = 5
const requestMs = 3000
/** The watcher also leaves each node on its own after this long, so it resumes elsewhere even when no kill hits its node. */
const hopMs = 2000

export class WatchFeed {
  /** writes[i] set feed:<i % keysUsed> to `w<i>`. */
  readonly writes: Outcome[] = []
  /** What the watcher accepted: every event up to each stream's last dispatched id. */
  readonly events: WatchEvent[] = []
  resumes = 0
  readonly refusals: string[] = []
  private stopped = false
  /** Set once the watcher should stop reconnecting (after stop's catch-up). */
  private finished = false
  private current: SseWatch | null = null
  private opened: Promise<void>
  private markOpened: () => void = () => {}
  private loops: Promise<void>[] = []

  constructor(private readonly cluster: JepsenCluster) {
    this.opened = new Promise((resolve) => (this.markOpened = resolve))
  }

  start(): void {
    this.loops = [this.watchLoop(), this.opened.then(() => this.writeLoop())]
  }

  /** Stops writing, waits (bounded) for the watcher to see every acknowledged write, then stops it. */
  async stop(catchUpMs: number): Promise<void> {
    this.stopped = true
    this.markOpened()
    await this.loops[1]
    const deadline = Date.now() + catchUpMs
    while (Date.now() < deadline && this.missing().length > 0) await sleep(100)
    this.finished = true
    this.current?.close()
    await this.loops[0]
  }

  private async watchLoop(): Promise<void> {
    let lastId: string | null = null
    let turn = 0
    while (!this.finished) {
      const live = this.cluster.liveNodes()
      const node = live[turn++ % Math.max(1, live.length)]
      if (node === undefined) {
        await sleep(100)
        continue
      }
      const watch: SseWatch = new SseWatch(`http://127.0.0.1:${node.spec.httpPort}/watch?prefix=feed:`, lastId)
      this.current = watch
      if (this.finished) watch.close()
      void waitOpen(watch).then(() => {
        if (watch.status === 200) this.markOpened()
      })
      const hop = setTimeout(() => watch.close(), hopMs)
      await watch.done
      clearTimeout(hop)
      if (watch.status === 410) this.refusals.push(`${node.spec.id} refused to resume after ${String(lastId)}`)
      if (watch.status === 200) {
        // Events after the last dispatched id belong to an entry cut in half: the next stream resends it.
        const upTo = watch.lastEventId === null ? -1 : Number(watch.lastEventId)
        for (const e of watch.events) if (e.index <= upTo) this.events.push(e)
        if (watch.lastEventId !== null) lastId = watch.lastEventId
        if (lastId !== null) this.resumes++
      }
      if (watch.status !== 200) await sleep(100)
    }
  }

  private async writeLoop(): Promise<void> {
    let conn: RespConnection | null = null
    let turn = 0
    while (!this.stopped) {
      const i = this.writes.length
      try {
        if (conn === null || conn.isClosed) {
          const live = this.cluster.liveNodes()
          const node = live[turn++ % Math.max(1, live.length)]
          if (node === undefined) throw new NoAnswer(false, 'no live node')
          conn = await RespConnection.open(node.spec.respPort, requestMs)
        }
        const reply = await conn.call(['SET', `feed:${i % keysUsed}`, `w${i}`], requestMs)
        this.writes.push(reply === 'OK' ? 'ok' : reply instanceof RespError && reply.message.startsWith('CLUSTERDOWN') ? 'failed' : 'unknown')
      } catch (e) {
        this.writes.push(e instanceof NoAnswer && !e.sent ? 'failed' : 'unknown')
        conn = null
        await sleep(50)
      }
    }
  }

  /** Acknowledged writes the watcher has not seen yet. */
  private missing(): number[] {
    const seen = new Set(this.events.map((e) => e.value))
    const out: number[] = []
    this.writes.forEach((o, i) => {
      if (o === 'ok' && !seen.has(`w${i}`)) out.push(i)
    })
    return out
  }

  check(): WatchVerdict {
    const problems: string[] = [...this.refusals]
    const count = new Map<number, number>()
    let lastWrite = -1
    let lastIndex = 0
    for (const e of this.events) {
      const i = e.op === 'set' && e.value !== null && /^w[0-9]+$/.test(e.value) ? Number(e.value.slice(1)) : -1
      if (i < 0 || i >= this.writes.length || e.key !== `feed:${i % keysUsed}`) {
        problems.push(`an event no write made: ${JSON.stringify(e)}`)
        continue
      }
      count.set(i, (count.get(i) ?? 0) + 1)
      if (i <= lastWrite && count.get(i) === 1) problems.push(`write ${i} seen after write ${lastWrite}`)
      if (e.index < lastIndex) problems.push(`index ${e.index} after ${lastIndex}`)
      lastWrite = Math.max(lastWrite, i)
      lastIndex = Math.max(lastIndex, e.index)
    }
    let gaps = 0
    this.writes.forEach((o, i) => {
      const n = count.get(i) ?? 0
      if (n > 1) problems.push(`write ${i} seen ${n} times`)
      if (o === 'ok' && n === 0) gaps++
      if (o === 'failed' && n > 0) problems.push(`write ${i} failed before it was proposed, yet was seen`)
    })
    if (gaps > 0) problems.push(`${gaps} acknowledged writes never seen`)
    const tally = (o: Outcome): number => this.writes.filter((w) => w === o).length
    const summary = `watch: ${this.events.length} events checked against ${tally('ok')} acknowledged, ${tally('unknown')} unknown and ${tally('failed')} failed writes; ${gaps} gaps; ${this.resumes} streams resumed`
    return { ok: problems.length === 0, eventsChecked: this.events.length, gaps, detail: problems.length === 0 ? summary : `${summary}\n${problems.slice(0, 20).join('\n')}` }
  }
}

async function waitOpen(watch: SseWatch): Promise<void> {
  while (watch.status === 0) await sleep(20)
}
