// The README's "a node lost its disk" procedure, as tests drive it on real
// processes, and the writes they check afterwards.
import { clusterStatus, type ProcessCluster, type ProcessNode } from './process-cluster.js'

/** SETs `count` keys `prefix-i` in one pipeline through `via`; records each one acknowledged in `acked`. */
export async function writeKeys(via: ProcessNode, prefix: string, count: number, acked: Map<string, string>): Promise<void> {
  const c = via.redis()
  try {
    const p = c.pipeline()
    for (let i = 0; i < count; i++) p.set(`${prefix}-${i}`, `v-${prefix}-${i}`)
    const results = (await p.exec()) ?? []
    for (const [i, [err, reply]] of results.entries()) if (err === null && reply === 'OK') acked.set(`${prefix}-${i}`, `v-${prefix}-${i}`)
  } finally {
    c.disconnect()
  }
}

/** How many of `acked` `node` does not serve with the acknowledged value. */
export async function missingOn(node: ProcessNode, acked: ReadonlyMap<string, string>): Promise<number> {
  const c = node.redis()
  let missing = 0
  try {
    for (const [key, value] of acked) if ((await c.get(key)) !== value) missing++
  } finally {
    c.disconnect()
  }
  return missing
}

/** Kills `victim`, empties its data directory and starts it with JOIN pointing at `via`; waits until it is a voter under a new incarnation. */
export async function replace(cluster: ProcessCluster, victim: ProcessNode, via: ProcessNode, voters: number): Promise<void> {
  const old = (await clusterStatus(victim))?.incarnation ?? ''
  await victim.kill('SIGKILL')
  cluster.wipe(victim)
  victim.start({ JOIN: via.raftAddr })
  await cluster.waitFor(async () => {
    const leader = await cluster.leader()
    const st = leader === null ? null : await clusterStatus(leader)
    if (st === null) return false
    const listed = st.members.find((m) => m.id === victim.spec.id)
    const fresh = listed !== undefined && listed.role === 'voter' && listed.incarnation !== old && listed.incarnation !== ''
    return fresh && st.members.filter((m) => m.role === 'voter').length === voters
  }, `${victim.spec.id} to be a voter again under a new incarnation, among ${voters} voters`, 120_000)
}
