// Reads waiting for their ReadIndex round: each is released with the index
// the core confirmed for its context, or -1 when the node stops.
//
// A context names its boot as well as its node: the leader may hold a read
// from a node's previous life until that node answers a heartbeat again, and
// its answer, an index from before the restart, must not release a new read
// that happens to carry the same sequence number (runtime seed 106918).
import type { NodeId, ReadState } from '../raft/types.js'

export class ReadWaiters {
  private readonly waiters = new Map<string, (index: number) => void>()
  private readonly prefix: string
  private seq = 0

  /** `bootNonce` differs between two runs of one node (random in production and in the simulator alike). */
  constructor(self: NodeId, bootNonce: string) {
    this.prefix = `${self}:${bootNonce}:`
  }

  /** A fresh context for one read and the promise of its read index. */
  add(): { ctx: string; index: Promise<number> } {
    const ctx = this.prefix + String(++this.seq)
    const index = new Promise<number>((resolve) => {
      this.waiters.set(ctx, resolve)
    })
    return { ctx, index }
  }

  /** Forgets a read that timed out, so its waiter does not leak. */
  cancel(ctx: string): void {
    this.waiters.delete(ctx)
  }

  release(readStates: readonly ReadState[]): void {
    for (const rs of readStates) {
      const w = this.waiters.get(rs.ctx)
      if (w !== undefined) {
        this.waiters.delete(rs.ctx)
        w(rs.index)
      }
    }
  }

  failAll(): void {
    for (const [ctx, w] of this.waiters) {
      this.waiters.delete(ctx)
      w(-1)
    }
  }
}
