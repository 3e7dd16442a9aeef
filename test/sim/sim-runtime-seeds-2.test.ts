// Runtime CI seeds, share 2 of 8: real Replica + ReplicaBackend nodes on a simulated clock, disk and network.
import t from 'tap'
import { runRuntimeCiShare } from './runtime/runtime-ci.js'

await runRuntimeCiShare(t, 1)
