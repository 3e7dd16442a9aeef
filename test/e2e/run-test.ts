// `make run-test`: a quick end-to-end check that a local 3-node cluster works,
// printing each step and exiting non-zero at the first failure. It starts
// real processes in temporary directories on free ports and stops them all.
import { ProcessCluster, type ProcessNode } from '../cluster/process-cluster.js'

let stepNo = 0
async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  stepNo++
  const started = Date.now()
  process.stdout.write(`${String(stepNo).padStart(2)}. ${what} ... `)
  const r = await fn()
  process.stdout.write(`ok (${Date.now() - started} ms)\n`)
  return r
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message)
}

async function adminPost(node: ProcessNode, op: string, fields: Record<string, string>): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${node.spec.httpPort}/cluster/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fields),
  })
  const body = await res.text()
  if (!res.ok) throw new Error(`${op} failed: ${res.status} ${body}`)
  return body
}

async function main(): Promise<void> {
  const cluster = new ProcessCluster({ SNAPSHOT_ENTRIES: '50' })
  try {
    await step('start n1 (bootstraps and leads), n2 and n3 (join)', () => cluster.start(3))
    const leader = await cluster.waitForLeader()
    const follower = cluster.nodes.find((n) => n !== leader) as ProcessNode
    await step(`write through follower ${follower.spec.id}`, async () => {
      const c = follower.redis()
      check((await c.set('hello', 'world')) === 'OK', 'SET did not answer OK')
      c.disconnect()
    })
    await step('read it back from every node', async () => {
      for (const node of cluster.nodes) {
        const c = node.redis()
        const v = await c.get('hello')
        c.disconnect()
        check(v === 'world', `${node.spec.id} answered ${String(v)}`)
      }
    })
    const killedAt = Date.now()
    await step(`kill the leader ${leader.spec.id} and see a new leader within 2 s`, async () => {
      await leader.kill('SIGKILL')
      const next = await cluster.waitForLeader(10_000)
      const ms = Date.now() - killedAt
      check(next !== leader, 'the killed node still leads')
      check(ms <= 2000, `new leader after ${ms} ms`)
    })
    await step('write again through the new cluster (200 keys, past the snapshot threshold)', async () => {
      const next = await cluster.waitForLeader()
      const c = next.redis()
      const pipe = c.pipeline()
      for (let i = 0; i < 200; i++) pipe.set(`k${i}`, `v${i}`)
      const results = await pipe.exec()
      c.disconnect()
      check(results !== null && results.every(([err]) => err === null), 'a pipelined SET failed')
    })
    await step(`restart ${leader.spec.id} and see it catch up`, async () => {
      leader.start()
      await cluster.waitFor(async () => {
        const c = leader.redis()
        try {
          return (await c.get('k199')) === 'v199'
        } catch {
          return false
        } finally {
          c.disconnect()
        }
      }, 'the restarted node to serve k199')
    })
    const victim = cluster.nodes.find((n) => n !== leader) as ProcessNode
    await step(`wipe ${victim.spec.id}, remove it, re-add it empty, and see it restored from a snapshot`, async () => {
      await victim.kill('SIGKILL')
      cluster.wipe(victim)
      const current = await cluster.waitForLeader()
      await adminPost(current, 'remove', { id: victim.spec.id })
      victim.start()
      await cluster.waitFor(async () => {
        const st = await victim.status()
        return st !== null && st.snapshotIndex > 0 && st.members.some((m) => m.id === victim.spec.id && m.role === 'voter')
      }, `${victim.spec.id} to be restored and promoted`)
      const c = victim.redis()
      const v = await c.get('k100')
      c.disconnect()
      check(v === 'v100', `restored node answered ${String(v)}`)
    })
    process.stdout.write('run-test: all steps passed\n')
  } catch (err) {
    process.stdout.write('FAILED\n')
    process.stderr.write(`${(err as Error).message}\n${cluster.outputs()}\n`)
    process.exitCode = 1
  } finally {
    await cluster.stop()
  }
}

void main()
