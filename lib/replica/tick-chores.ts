// Work done on every tick besides the core's own: the disk-stall watchdog
// (every node), and on the leader the replicated expiry sweep and the
// promotion of learners that caught up.
import { encodeEnvelope } from '../kv/command-codec.js'
import type { NodeId } from '../raft/types.js'
import type { RaftStatus } from '../raft/raw-node.js'
import type { ReadyLoop } from './ready-loop.js'
import type { ReplicaContext } from './replica-context.js'

/** One write stuck this many election timeouts is a stalled disk (checkDiskStall). */
const diskStallElectionTimeouts = 2
/** Expired keys removed by one sweep entry at most. */
const expirySweepKeysMax = 256
const expirySweepIntervalMs = 100

type ChoresContext = Pick<ReplicaContext, 'config' | 'logger' | 'clock' | 'raft' | 'state' | 'proposeLocal' | 'readClockMs'>

export class TickChores {
  /** The write the watchdog already reported (ReadyLoop's write number), so it says so once per write. */
  private stallReportedSeq = -1
  private sweepInFlight = false
  private lastSweepMs = 0

  constructor(
    private readonly ctx: ChoresContext,
    private readonly loop: Pick<ReadyLoop, 'writeInFlight'>,
  ) {}

  /**
   * A leader whose disk stalls can still send heartbeats (appends go out
   * while its own write is in flight) and would keep a cluster that cannot
   * commit through it. After two election timeouts of one stuck write it
   * hands leadership to the most caught-up voter.
   */
  checkDiskStall(): void {
    const { ctx } = this
    const write = this.loop.writeInFlight()
    if (write === null || write.seq === this.stallReportedSeq) return
    const stalledMs = ctx.clock.monotonicMs() - write.startedMonotonicMs
    if (stalledMs < diskStallElectionTimeouts * ctx.config.electionTimeoutTicks * ctx.config.tickMs) return
    this.stallReportedSeq = write.seq
    const st = ctx.raft.status()
    ctx.logger.error({ stalledMs }, 'the disk has not completed a write: ' + (st.role === 'leader' ? 'handing leadership over' : 'this node is falling behind'))
    if (st.role !== 'leader') return
    const best = mostCaughtUpVoter(st)
    if (best !== null) ctx.raft.transferLeadership(best)
  }

  /** Periodic work only the leader does: replicated expiry, learner promotion. */
  leaderDuties(): void {
    const { ctx } = this
    const st = ctx.raft.status()
    if (st.role !== 'leader') return
    // Expired on the cluster clock, the one reads decide expiry on (leader-clock.ts).
    const nowMs = ctx.readClockMs()
    if (!this.sweepInFlight && nowMs - this.lastSweepMs >= expirySweepIntervalMs) {
      this.lastSweepMs = nowMs
      this.sweepExpired(nowMs)
    }
    for (const m of st.config.members) {
      const pr = st.progress.get(m.id)
      if (m.role === 'learner' && pr !== undefined && pr.match >= st.commit && st.commit > 0) {
        const r = ctx.raft.proposeConfChange({ op: 'promote', id: m.id })
        if (r.ok) ctx.logger.info({ member: m.id }, 'learner caught up: promoting to voter')
        break
      }
    }
  }

  private sweepExpired(nowMs: number): void {
    const keys = this.ctx.state.kv.expiredKeys(nowMs, expirySweepKeysMax)
    if (keys.length === 0) return
    this.sweepInFlight = true
    void this.ctx.proposeLocal(encodeSweep(keys)).then(() => {
      this.sweepInFlight = false
    })
  }
}

/** On a leader: the other voter holding the most of the log (the best to hand leadership to), or null. */
export function mostCaughtUpVoter(st: RaftStatus): NodeId | null {
  let best: NodeId | null = null
  let bestMatch = -1
  for (const m of st.config.members) {
    const pr = st.progress.get(m.id)
    if (m.id !== st.id && m.role === 'voter' && pr !== undefined && pr.match > bestMatch) {
      best = m.id
      bestMatch = pr.match
    }
  }
  return best
}

/** The leader's own sweeps opt out of deduplication (empty client id). */
function encodeSweep(keys: Buffer[]): Buffer {
  return encodeEnvelope({ nowMs: 0, clientId: '', seq: 0, write: { ops: [{ t: 'expireSweep', keys }], watches: [] } })
}
