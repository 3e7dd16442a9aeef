// A leader's part (etcd's stepLeader and the replication half of raft.go):
// taking office, appending, replicating to each follower through its
// Progress (probe, replicate, snapshot), committing on a quorum, heartbeats
// and CheckQuorum.
import { assert } from '../util/assert.js'
import { Progress } from './progress.js'
import { quorumSize } from './quorum.js'
import type { Raft } from './raft.js'
import { leaderReadIndex, releaseReads } from './read-only.js'
import type { AppendResponse, Entry, HeartbeatResponse, Message, NodeId } from './types.js'

export function becomeLeader(r: Raft): void {
  assert(r.role === 'candidate', `raft: becomeLeader from ${r.role}`)
  const listed = r.log.config().members.find((mm) => mm.id === r.id)
  assert(listed === undefined || r.isMe(listed), `raft: ${r.id} (incarnation ${r.incarnation}) elected while its config lists incarnation ${listed?.incarnation ?? ''}`)
  r.role = 'leader'
  r.leader = r.id
  r.transferee = null
  r.heartbeatElapsed = 0
  r.electionElapsed = 0
  r.progress.clear()
  syncProgress(r)
  for (const pr of r.progress.values()) pr.recentActive = true
  // A no-op of our own term lets us commit everything before it (§5.4.2)
  // and confirms the commit index that ReadIndex relies on.
  appendAsLeader(r, [{ index: r.log.lastIndex() + 1, term: r.term, kind: 'noop' }])
}

/** Creates progress for new members and drops it for removed ones. */
function syncProgress(r: Raft): void {
  const members = r.log.config().members
  const ids = new Set(members.map((mm) => mm.id))
  for (const id of [...r.progress.keys()]) if (!ids.has(id)) r.progress.delete(id)
  for (const mm of members) {
    if (r.progress.has(mm.id)) continue
    const pr = new Progress(r.log.lastIndex() + 1, r.opts.inflightAppendsMax, r.opts.inflightBytesMax)
    if (mm.id === r.id) {
      pr.match = r.log.persistedIndex
      pr.becomeReplicate()
      pr.match = r.log.persistedIndex
    }
    pr.recentActive = true
    r.progress.set(mm.id, pr)
  }
  if (r.transferee !== null && !r.isVoter(r.transferee)) r.transferee = null
}

export function appendAsLeader(r: Raft, entries: Entry[]): void {
  r.log.append(entries)
  if (entries.some((e) => e.kind === 'config')) syncProgress(r)
  maybeCommitAndBroadcast(r)
  broadcastAppend(r)
}

export function tickLeader(r: Raft): void {
  r.heartbeatElapsed++
  r.electionElapsed++
  if (r.electionElapsed >= r.opts.electionTimeoutTicks) {
    r.electionElapsed = 0
    if (r.opts.checkQuorum && !quorumActive(r)) {
      r.becomeFollower(r.term, null)
      return
    }
    if (r.transferee !== null) r.transferee = null
  }
  if (r.heartbeatElapsed >= r.opts.heartbeatIntervalTicks) {
    r.heartbeatElapsed = 0
    broadcastHeartbeat(r, r.reads.seq)
  } else if (r.reads.roundUnconfirmed()) {
    // A read round asks only a quorum's worth of voters (askQuorum in
    // read-only.ts); one of them may have stopped answering, so ask every
    // voter once a tick until the round is confirmed.
    broadcastHeartbeat(r, r.reads.seq)
  }
}

/** CheckQuorum: did a quorum of voters talk to us since the last check? */
function quorumActive(r: Raft): boolean {
  const voters = r.voterIds()
  let active = 0
  for (const id of voters) {
    const pr = r.progress.get(id)
    if (id === r.id || pr?.recentActive === true) active++
    if (pr !== undefined && id !== r.id) pr.recentActive = false
  }
  return voters.length > 0 && active >= quorumSize(voters.length)
}

export function stepLeader(r: Raft, m: Message): void {
  const pr = r.progress.get(m.from)
  if (pr === undefined) return
  switch (m.type) {
    case 'AppendResp':
      pr.recentActive = true
      pr.lastContactTicks = 0
      handleAppendResponse(r, m, pr)
      return
    case 'HeartbeatResp':
      pr.recentActive = true
      pr.lastContactTicks = 0
      handleHeartbeatResponse(r, m, pr)
      return
    default:
      return
  }
}

function handleAppendResponse(r: Raft, m: AppendResponse, pr: Progress): void {
  if (m.reject) {
    const hint = m.hintTerm > 0 ? r.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex
    if (pr.maybeDecrease(m.index, hint)) {
      if (pr.state === 'replicate') pr.becomeProbe()
      sendAppend(r, m.from)
    }
    return
  }
  const wasPaused = pr.paused()
  const updated = pr.maybeUpdate(m.index)
  // A probe acked at the match we already knew (after a snapshot, or with
  // nothing missing) also proves where the logs agree: replicate from there.
  // Otherwise the leader would probe again on every ack, forever.
  if (updated || (pr.state === 'probe' && pr.match === m.index)) {
    if (pr.state === 'probe') pr.becomeReplicate()
    else if (pr.state === 'snapshot' && pr.match >= pr.snapshotIndexSent) pr.becomeProbe()
    pr.inflights.freeTo(m.index)
    if (!maybeCommitAndBroadcast(r)) sendAppendsWhileOpen(r, m.from)
    if (pr.commitWanted > pr.commitSent && pr.match >= pr.commitWanted) sendCommit(r, m.from, pr)
    if (m.from === r.transferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from)
  } else if (wasPaused) {
    sendAppendsWhileOpen(r, m.from)
  }
}

function handleHeartbeatResponse(r: Raft, m: HeartbeatResponse, pr: Progress): void {
  pr.probeSent = false
  if (pr.match < r.log.lastIndex()) {
    // In replicate state a lost append (nothing new left to send) or lost
    // acks (a window that never drains) would stall this follower for good.
    // §5.3: the leader retries until the follower stores every entry. An
    // append at next-1, empty if need be, makes the follower either ack what
    // it holds or reject, which sends us back to probing (etcd does the same).
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne()
    sendAppend(r, m.from, true)
  }
  if (m.readSeq > pr.readSeqAcked) {
    pr.readSeqAcked = m.readSeq
    releaseReads(r)
  }
}

/** On commit: broadcast the new commit index, answer waiting reads, finish removals. */
export function maybeCommitAndBroadcast(r: Raft): boolean {
  const configPending = r.log.uncommittedConfigIndex() !== 0
  if (!r.maybeCommit()) return false
  if (r.reads.awaitingCommitCount() > 0 && r.log.term(r.log.commit) === r.term) {
    for (const w of r.reads.takeAwaitingCommit()) leaderReadIndex(r, w.ctx, w.from)
  }
  if (!r.isVoter(r.id) && r.log.uncommittedConfigIndex() === 0) {
    // Our own removal (or demotion) is committed: stop leading (thesis
    // §4.2.2) — after telling the others it committed, so that they apply
    // it now rather than after electing our successor.
    broadcastAppend(r, true)
    r.becomeFollower(r.term, null)
    return true
  }
  // The new commit index rides on the next append or heartbeat instead of
  // an empty append of its own: under steady writes the next batch follows
  // within a turn, and an empty append (and its ack) per commit doubled
  // the messages per write. A follower that serves a read is sent the
  // commit with the read's answer (answerRead), so follower reads do not
  // wait for the heartbeat. A membership change that just committed is
  // still told at once: it is rare, and who may campaign and whom a node
  // hears depend on whether it committed.
  broadcastAppend(r, configPending && r.log.uncommittedConfigIndex() === 0)
  return true
}

function broadcastAppend(r: Raft, commitAdvanced = false): void {
  for (const id of r.progress.keys()) {
    if (id === r.id) continue
    if (!sendAppendsWhileOpen(r, id) && commitAdvanced) sendAppend(r, id, true)
  }
}

export function broadcastHeartbeat(r: Raft, readSeq: number): void {
  for (const [id, pr] of r.progress) {
    if (id === r.id) continue
    sendHeartbeat(r, id, pr, readSeq)
  }
}

/** Tells one follower the commit index now: an append (empty if need be), or a heartbeat while appends are paused. */
export function sendCommit(r: Raft, to: NodeId, pr: Progress): void {
  if (!sendAppend(r, to, true)) sendHeartbeat(r, to, pr, r.reads.seq)
}

export function sendHeartbeat(r: Raft, to: NodeId, pr: Progress, readSeq: number): void {
  // The leader never sends a commit beyond what it knows the follower holds.
  const commit = Math.min(pr.match, r.log.commit)
  if (commit > pr.commitSent) pr.commitSent = commit
  r.send({ type: 'Heartbeat', from: r.id, to, term: r.term, commit, readSeq })
}

/** Returns whether anything was sent. */
function sendAppendsWhileOpen(r: Raft, to: NodeId): boolean {
  const pr = r.progress.get(to) as Progress
  let sent = false
  // Bounded: every iteration fills an inflight slot or stops.
  while (!pr.paused() && sendAppend(r, to)) {
    sent = true
    if (pr.state !== 'replicate') break
  }
  return sent
}

/** Sends one append (or a snapshot); returns false when nothing was sent. */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty = false): boolean {
  const pr = r.progress.get(to) as Progress
  if (pr.paused()) return false
  const log = r.log
  const prevIndex = pr.next - 1
  const prevTerm = log.term(prevIndex)
  if (prevTerm === undefined || pr.next < log.firstIndex()) return sendSnapshot(r, to, pr)
  const entries = pr.next <= log.lastIndex() ? log.slice(pr.next, log.lastIndex() + 1, r.opts.appendEntriesMax, r.opts.appendBytesMax) : []
  // Released from memory and not readable from the log file (a segment
  // removed by a snapshot the log has not been compacted to yet): as for
  // compacted entries, or nothing until the log has a snapshot to send.
  if (entries.length === 0 && pr.next <= log.lastIndex()) return log.snapshot().index > 0 && sendSnapshot(r, to, pr)
  if (entries.length === 0 && pr.state === 'replicate' && !sendIfEmpty) return false
  r.send({ type: 'Append', from: r.id, to, term: r.term, prevIndex, prevTerm, entries, commit: log.commit })
  const known = Math.min(log.commit, prevIndex + entries.length)
  if (known > pr.commitSent) pr.commitSent = known
  const last = entries.length > 0 ? entries[entries.length - 1] : undefined
  if (pr.state === 'replicate' && last !== undefined) {
    pr.next = last.index + 1
    pr.inflights.add(last.index, payloadBytes(entries))
  } else if (pr.state === 'probe') {
    pr.probeSent = true
  }
  return true
}

/** Entry data bytes of an append, as the in-flight window counts them (etcd's payloadsSize). */
function payloadBytes(entries: readonly Entry[]): number {
  let bytes = 0
  for (const e of entries) if (e.kind === 'normal') bytes += e.data.length
  return bytes
}

function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  const snapshot = r.log.snapshot()
  assert(snapshot.index > 0, `raft: follower ${to} needs index ${pr.next} but no snapshot exists`)
  pr.becomeSnapshot(snapshot.index)
  r.send({ type: 'Snapshot', from: r.id, to, term: r.term, snapshot })
  return true
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'TimeoutNow', from: r.id, to, term: r.term })
}
