// A follower's part (etcd's stepFollower): store what the leader sends,
// report what it holds, and follow the leader's commit index.
import type { Raft } from './raft.js'
import { startElection } from './step-candidate.js'
import type { AppendRequest, HeartbeatRequest, Message, NodeId, SnapshotRequest } from './types.js'

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'Append':
      r.electionElapsed = 0
      r.leader = m.from
      handleAppend(r, m)
      return
    case 'Heartbeat':
      r.electionElapsed = 0
      r.leader = m.from
      handleHeartbeat(r, m)
      return
    case 'Snapshot':
      r.electionElapsed = 0
      r.leader = m.from
      handleSnapshot(r, m)
      return
    case 'TimeoutNow':
      if (r.promotable()) startElection(r, 'candidate', true)
      return
    default:
      return
  }
}

function handleAppend(r: Raft, m: AppendRequest): void {
  const log = r.log
  if (m.prevIndex < log.commit) {
    sendAppendResp(r, m.from, log.commit)
    return
  }
  if (log.matchTerm(m.prevIndex, m.prevTerm)) {
    log.appendFromLeader(m.entries)
    const lastNew = m.prevIndex + m.entries.length
    log.commitTo(Math.min(m.commit, lastNew))
    sendAppendResp(r, m.from, lastNew)
    return
  }
  // Point the leader at the last index where our logs may agree (etcd's
  // findConflictByTerm), so it skips a whole term per round trip.
  const hintIndex = log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex()), m.prevTerm)
  const hintTerm = log.term(hintIndex) ?? 0
  r.send({ type: 'AppendResp', from: r.id, to: m.from, term: r.term, reject: true, index: m.prevIndex, hintIndex, hintTerm })
}

/** Acknowledges that our log matches the leader's up to `index`. */
function sendAppendResp(r: Raft, to: NodeId, index: number): void {
  r.send({ type: 'AppendResp', from: r.id, to, term: r.term, reject: false, index, hintIndex: 0, hintTerm: 0 })
}

function handleHeartbeat(r: Raft, m: HeartbeatRequest): void {
  // The leader never sends a commit beyond what it knows we hold.
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()))
  r.send({ type: 'HeartbeatResp', from: r.id, to: m.from, term: r.term, readSeq: m.readSeq })
}

function handleSnapshot(r: Raft, m: SnapshotRequest): void {
  const s = m.snapshot
  const log = r.log
  if (s.index <= log.commit) {
    sendAppendResp(r, m.from, log.commit)
    return
  }
  if (log.matchTerm(s.index, s.term)) {
    // We already hold the snapshot's last entry: just move commit forward.
    log.commitTo(s.index)
    sendAppendResp(r, m.from, log.commit)
    return
  }
  log.restore(s)
  sendAppendResp(r, m.from, s.index)
}
