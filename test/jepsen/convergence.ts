// After every fault is healed: read every key once more, linearizably, into
// the history (so the checker proves each acknowledged write is there unless
// replaced), then wait until every member has applied the same log and holds
// the same values, read locally (READONLY) on each node.
import type { ProcessNode } from '../cluster/process-cluster.js'
import type { History } from './history.js'
import { statusOf, type JepsenCluster } from './jepsen-cluster.js'
import { NoAnswer, RespConnection, RespError, type RespValue } from './resp-client.js'
import { recordReply, sleep } from './workload.js'

/** The logical process id of the final reads in the history. */
export const finalProcess = 999_999

async function command(node: ProcessNode, args: readonly (readonly string[])[], timeoutMs: number): Promise<RespValue[]> {
  const conn = await RespConnection.open(node.spec.respPort, timeoutMs)
  try {
    const replies: RespValue[] = []
    for (const a of args) replies.push(await conn.call(a, timeoutMs))
    return replies
  } finally {
    conn.close()
  }
}

/** One successful linearizable GET per key, retried until the deadline; false if some key never answered. */
export async function finalReads(cluster: JepsenCluster, history: History, keys: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (const key of keys) {
    for (;;) {
      const node = (await cluster.leader()) ?? cluster.liveNodes()[0]
      if (node !== undefined) {
        const op = history.invoke(finalProcess, node.spec.id, 'get', key, null)
        try {
          const [reply] = await command(node, [['GET', key]], 3000)
          recordReply(history, op, reply ?? null)
        } catch (e) {
          history.complete(op, 'failed', null, e instanceof NoAnswer ? e.message : String(e))
        }
        if (op.outcome === 'ok') break
      }
      if (Date.now() > deadline) return false
      await sleep(200)
    }
  }
  return true
}

export interface Convergence {
  converged: boolean
  detail: string
}

/** Every member a voter, the same applied index everywhere, equal to the commit index, and the same value of every key on every member. */
export async function awaitConvergence(cluster: JepsenCluster, keys: readonly string[], timeoutMs: number): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs
  let last = 'no status yet'
  while (Date.now() < deadline) {
    last = await convergenceGap(cluster, keys)
    if (last === '') return { converged: true, detail: `${cluster.memberNodes().length} members converged` }
    await sleep(250)
  }
  return { converged: false, detail: `not converged after ${timeoutMs} ms: ${last}` }
}

/** What still differs, or '' when nothing does. */
async function convergenceGap(cluster: JepsenCluster, keys: readonly string[]): Promise<string> {
  const members = cluster.memberNodes()
  const statuses = await Promise.all(members.map((n) => statusOf(n)))
  const applied = new Set<number>()
  for (const [i, st] of statuses.entries()) {
    const id = (members[i] as ProcessNode).spec.id
    if (st === null) return `${id} does not answer /status`
    if (st.appliedIndex !== st.commitIndex) return `${id} applied ${st.appliedIndex} of ${st.commitIndex}`
    applied.add(st.appliedIndex)
  }
  const leaderStatus = statuses.find((st) => st?.role === 'leader')
  if (leaderStatus === undefined || leaderStatus === null) return 'no member answers as the leader'
  for (const node of members) {
    const listed = leaderStatus.members.find((m) => m.id === node.spec.id)
    if (listed?.role !== 'voter') return `${node.spec.id} is ${listed === undefined ? 'not in' : `a ${listed.role} in`} the leader's configuration`
  }
  if (applied.size !== 1) return `applied indexes differ: ${statuses.map((s, i) => `${(members[i] as ProcessNode).spec.id}=${String(s?.appliedIndex)}`).join(' ')}`
  let reference: string | null = null
  for (const node of members) {
    let values: RespValue[]
    try {
      values = (await command(node, [['READONLY'], ...keys.map((k) => ['GET', k])], 2000)).slice(1)
    } catch (e) {
      return `${node.spec.id}: ${(e as Error).message}`
    }
    if (values.some((v) => v instanceof RespError)) return `${node.spec.id}: error on a local read`
    const text = JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, values[i]])))
    if (reference === null) reference = text
    else if (text !== reference) return `${node.spec.id} holds ${text}, others ${reference}`
  }
  return ''
}
