// The process-cluster harness itself: a wait that needs a running node
// gives up as soon as every node has exited, with their output, instead of
// waiting out its timeout (a bad setting in a bench or test run); it never
// hands out a port Node's fetch refuses to connect to.
import t from 'tap'
import { ephemeralPortLow, FETCH_BAD_PORTS, PORT_LOW, ProcessCluster } from './process-cluster.js'

t.test('start() fails with the nodes\' output once every node has exited on bad config', async (t) => {
  const cluster = new ProcessCluster({ SNAPSHOT_ENTRIES: 'not-a-number' })
  t.teardown(() => cluster.stop())
  const error = await cluster.start(1).then(
    () => null,
    (err: unknown) => err as Error,
  )
  t.ok(error, 'start() rejects')
  t.match(error?.message, /every node has exited while waiting for n1 to lead/, 'says every node exited, not that it timed out')
  t.match(error?.message, /SNAPSHOT_ENTRIES/, "carries the node's one-line config error")
  t.not(cluster.nodes[0]?.exitCode, null, 'the node did exit')
})

t.test('freePort skips exactly the ports in its range that Node\'s fetch refuses as "bad ports"', async (t) => {
  // Nothing listens on most of these; a refused connection fails fast, a bad port fails before connecting.
  const refused: number[] = []
  const high = Math.max(ephemeralPortLow(), PORT_LOW)
  for (let from = PORT_LOW; from < high; from += 500) {
    const ports = Array.from({ length: Math.min(500, high - from) }, (_, i) => from + i)
    await Promise.all(
      ports.map(async (port) => {
        try {
          await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })
        } catch (err) {
          if (/bad port/.test(String((err as { cause?: unknown }).cause))) refused.push(port)
        }
      }),
    )
  }
  t.same(refused.sort((a, b) => a - b), [...FETCH_BAD_PORTS].filter((p) => p >= PORT_LOW && p < high))
})
