// A blocked client waits on the node it is connected to. Its pop is first
// proposed as an ordinary write; when every key is empty the write answers
// "nothing to pop" and the client waits here: each time this node applies
// more entries, it looks at the keys in its own state, and when one has data
// it proposes the pop again. If another client won the race, the pop finds
// nothing again and the client goes on waiting, until its timeout. A
// follower waits and proposes just as a leader does (its write is forwarded),
// and the wait survives a leader change: a write refused for want of a
// leader proposed nothing, so the client simply keeps waiting.
import type { KvApplyResult, KvOp } from '../../kv/command.js'
import { ClusterDownError, type ClientBackend } from '../../replica/client-api.js'

/** How often a waiting client checks whether this node applied anything new. */
export const BLOCKED_POLL_MS = 5

export interface BlockedPop {
  readonly op: KvOp
  readonly keys: readonly Buffer[]
  /** 0 waits forever, as in Redis. */
  readonly timeoutMs: number
  /** True once the client is gone: stop waiting. */
  closed(): boolean
}

/** The outcome a pop answers when there was nothing to pop. */
export function isEmptyPop(outcome: KvApplyResult): boolean {
  if (outcome.t !== 'results') return false
  const first = outcome.results[0]
  return first !== undefined && (first.t === 'nilArray' || first.t === 'nil')
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves with the pop's outcome, or null when the timeout passed (or the client left) first. */
export async function waitAndPop(backend: ClientBackend, blocked: BlockedPop): Promise<KvApplyResult | null> {
  const deadline = blocked.timeoutMs === 0 ? Infinity : Date.now() + blocked.timeoutMs
  let seenIndex = -1
  for (;;) {
    if (blocked.closed()) return null
    const applied = backend.info().appliedIndex
    if (applied !== seenIndex) {
      seenIndex = applied
      const [present] = await backend.read([{ t: 'exists', keys: blocked.keys }], 'stale')
      if (present?.t === 'int' && Number(present.value) > 0) {
        try {
          const outcome = await backend.write({ ops: [blocked.op], watches: [] })
          if (!isEmptyPop(outcome)) return outcome
        } catch (error) {
          // No leader: nothing was proposed, so waiting on is safe. Anything else (an unknown outcome) is the client's to see.
          if (!(error instanceof ClusterDownError)) throw error
        }
      }
    }
    const left = deadline - Date.now()
    if (left <= 0) return null
    await sleep(Math.min(BLOCKED_POLL_MS, left))
  }
}
