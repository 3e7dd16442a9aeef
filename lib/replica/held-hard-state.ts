// Which hard state a batch writes. A change of the commit index alone is not
// worth an fsync of its own (Raft's commit index is volatile state; a node
// restarted with an older one learns the newer one from the leader), so it
// is held back and written with the next batch that has to be synced anyway:
// entries, or a new term or vote, which are always written at once.
import type { HardState, Ready } from '../raft/types.js'

export class HeldHardState {
  /** The hard state last handed to storage. */
  private stored: HardState
  /** A newer, commit-only hard state not yet written. */
  private held: HardState | null = null

  constructor(stored: HardState) {
    this.stored = stored
  }

  /** The hard state to store with this batch, or null to write none. */
  toWrite(rd: Ready): HardState | null {
    const hs = rd.hardState
    if (hs !== null) {
      const onlyCommit = hs.term === this.stored.term && hs.vote === this.stored.vote
      if (onlyCommit && rd.entries.length === 0) {
        this.held = hs
        return null
      }
      this.held = null
      this.stored = hs
      return hs
    }
    const held = this.held
    if (held !== null && rd.entries.length > 0) {
      this.held = null
      this.stored = held
      return held
    }
    return null
  }
}
