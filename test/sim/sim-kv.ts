// The replicated state machine every simulated node runs: string keys mapped
// to string values, changed only by `SET key=value` entries. Values are unique
// across a run, so a value read back names exactly the write that produced it;
// that is what lets the checker judge reads against the committed history.
import { assert } from '../../lib/util/assert.js'
import type { Entry } from '../../lib/raft/types.js'

export interface SetCommand {
  readonly key: string
  readonly value: string
}

export function encodeSet(key: string, value: string): Buffer {
  assert(!key.includes('='), `sim-kv: key ${key} contains '='`)
  return Buffer.from(`${key}=${value}`, 'latin1')
}

export function decodeSet(data: Buffer): SetCommand {
  const text = data.toString('latin1')
  const at = text.indexOf('=')
  assert(at > 0, `sim-kv: malformed command ${JSON.stringify(text)}`)
  return { key: text.slice(0, at), value: text.slice(at + 1) }
}

/** A stable, comparable rendering of an entry's content (not its position). */
export function entryFingerprint(e: Entry): string {
  switch (e.kind) {
    case 'normal':
      return `set ${e.data.toString('latin1')}`
    case 'noop':
      return 'noop'
    case 'config':
      return `config ${e.config.members.map((m) => `${m.id}:${m.role}`).join(',')}`
  }
}

export class KvModel {
  private readonly values = new Map<string, string>()
  /** The index of the last entry applied (or restored from a snapshot). */
  appliedIndex = 0

  get(key: string): string | undefined {
    return this.values.get(key)
  }

  /** Entries must arrive in log order with no gap: the Ready contract. */
  apply(e: Entry): void {
    assert(e.index === this.appliedIndex + 1, `sim-kv: applying entry ${e.index} after ${this.appliedIndex}`)
    if (e.kind === 'normal') {
      const cmd = decodeSet(e.data)
      this.values.set(cmd.key, cmd.value)
    }
    this.appliedIndex = e.index
  }

  serialize(): Buffer {
    return Buffer.from(JSON.stringify({ index: this.appliedIndex, values: [...this.values] }), 'utf8')
  }

  static restore(bytes: Buffer): KvModel {
    const parsed = JSON.parse(bytes.toString('utf8')) as { index: number; values: [string, string][] }
    const kv = new KvModel()
    for (const [k, v] of parsed.values) kv.values.set(k, v)
    kv.appliedIndex = parsed.index
    return kv
  }
}
