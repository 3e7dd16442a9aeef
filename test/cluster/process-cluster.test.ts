// The process-cluster harness itself: a wait that needs a running node
// gives up as soon as every node has exited, with their output, instead of
// waiting out its timeout (a bad setting in a bench or test run).
import t from 'tap'
import { ProcessCluster } from './process-cluster.js'

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
