// The core simulator's flight recorder: the last events in a TraceRing,
// formatted only when a violation is reported (or printed live with
// --trace). Message events keep a reference to the message, which is
// immutable, so recording is one slot update and no string building on the
// hot path.
import type { Entry, Message } from '../../lib/raft/types.js'
import { entryFingerprint } from './sim-kv.js'
import { timeUnitsPerTick } from './sim-network.js'
import { TraceRing } from './trace-ring.js'

interface Slot {
  time: number
  verb: string
  msg: Message | null
  text: string
}

export class Trace {
  private readonly ring: TraceRing<Slot>

  constructor(
    readonly capacity: number,
    /** When set, every event is also formatted and handed here at once. */
    private readonly live: ((line: string) => void) | null,
  ) {
    this.ring = new TraceRing(capacity, () => ({ time: 0, verb: '', msg: null, text: '' }))
  }

  message(time: number, verb: string, msg: Message): void {
    const slot = this.ring.claim()
    slot.time = time
    slot.verb = verb
    slot.msg = msg
    slot.text = ''
    if (this.live !== null) this.live(formatSlot(slot))
  }

  note(time: number, text: string): void {
    const slot = this.ring.claim()
    slot.time = time
    slot.verb = ''
    slot.msg = null
    slot.text = text
    if (this.live !== null) this.live(formatSlot(slot))
  }

  /** Oldest first. */
  lines(): string[] {
    return this.ring.lines(formatSlot)
  }
}

function formatSlot(s: Slot): string {
  const stamp = formatTime(s.time)
  if (s.msg === null) return `${stamp}  ${s.text}`
  return `${stamp}  ${s.verb.padEnd(7)} ${formatMessage(s.msg)}`
}

/** Simulated time is in units of 1/timeUnitsPerTick tick: "t12.3" is tick 12, unit 3. */
export function formatTime(time: number): string {
  return `t${Math.floor(time / timeUnitsPerTick)}.${time % timeUnitsPerTick}`.padStart(8)
}

export function formatEntry(e: Entry): string {
  return `${e.index}/${e.term} ${entryFingerprint(e)}`
}

export function formatMessage(m: Message): string {
  const head = `${m.from}→${m.to} ${m.type} t${m.term}`
  switch (m.type) {
    case 'PreVote':
    case 'Vote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? ' transfer' : ''}`
    case 'PreVoteResp':
    case 'VoteResp':
      return `${head} ${m.reject ? 'reject' : 'grant'}`
    case 'Append': {
      const shown = m.entries.slice(0, 4).map(formatEntry).join(', ')
      const more = m.entries.length > 4 ? `, …+${m.entries.length - 4}` : ''
      return `${head} prev=${m.prevIndex}/${m.prevTerm} commit=${m.commit} [${shown}${more}]`
    }
    case 'AppendResp':
      return m.reject ? `${head} reject index=${m.index} hint=${m.hintIndex}/${m.hintTerm}` : `${head} ok index=${m.index}`
    case 'Heartbeat':
      return `${head} commit=${m.commit} readSeq=${m.readSeq}`
    case 'HeartbeatResp':
      return `${head} readSeq=${m.readSeq}`
    case 'Snapshot':
      return `${head} snap=${m.snapshot.index}/${m.snapshot.term}`
    case 'TimeoutNow':
      return head
    case 'ReadIndex':
      return `${head} ctx=${m.ctx}`
    case 'ReadIndexResp':
      return `${head} ctx=${m.ctx} index=${m.index}`
  }
}
