// The runtime simulator's flight recorder: the last events in a TraceRing
// (the driver's notes and the nodes' own log lines, as the runtime logs
// them), formatted only when a run fails or when printed live (--trace).
import { TraceRing } from '../trace-ring.js'
import { simEpochMs } from './sim-scheduler.js'

interface Slot {
  timeMs: number
  node: string
  text: string
  /** A pino JSON line, parsed only when shown. */
  json: boolean
}

export class RuntimeTrace {
  private readonly ring: TraceRing<Slot>

  constructor(
    readonly capacity: number,
    private readonly now: () => number,
    private readonly live: ((line: string) => void) | null,
  ) {
    this.ring = new TraceRing(capacity, () => ({ timeMs: 0, node: '', text: '', json: false }))
  }

  note(text: string): void {
    this.record('', text, false)
  }

  /** A log line the runtime wrote (pino JSON). */
  log(node: string, line: string): void {
    this.record(node, line, true)
  }

  /** Oldest first. */
  lines(): string[] {
    return this.ring.lines(format)
  }

  private record(node: string, text: string, json: boolean): void {
    const slot = this.ring.claim()
    slot.timeMs = this.now()
    slot.node = node
    slot.text = text
    slot.json = json
    if (this.live !== null) this.live(format(slot))
  }
}

const pinoLevels: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

function format(s: Slot): string {
  const stamp = `${s.timeMs.toFixed(2)}ms`.padStart(12)
  if (!s.json) return `${stamp}  ${s.text}`
  try {
    const { level, msg, node: _node, ...rest } = JSON.parse(s.text) as Record<string, unknown>
    const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
    return `${stamp}  ${s.node} ${pinoLevels[level as number] ?? String(level)}: ${String(msg)}${fields === '' ? '' : ` (${fields})`}`
  } catch {
    return `${stamp}  ${s.node} ${s.text.trim()}`
  }
}

/** Wall-clock stamps in the runtime (expiry, entry stamps) count from simEpochMs. */
export function simTimeOf(nowMs: number): number {
  return nowMs - simEpochMs
}
