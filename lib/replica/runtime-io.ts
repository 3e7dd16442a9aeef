// Everything nondeterministic the runtime touches, passed in: the clock and
// timers, randomness, the disk and the network between nodes. Production
// passes the real ones (lib/app/system-io.ts); the simulator (test/sim)
// passes a simulated clock, a seeded source, a simulated disk and a
// simulated network, and so runs lib/replica as it ships.
import type { FileSystem } from '../storage/file-system.js'
import type { PeerNetwork } from '../transport/peer-network.js'
import type { PeerTransportOptions } from '../transport/peer-transport.js'
import type { Clock } from '../util/clock.js'
import type { RandomSource } from '../util/random-source.js'

export interface RuntimeIo {
  readonly clock: Clock
  readonly random: RandomSource
  readonly fs: FileSystem
  /** Creates this node's peer network (not yet started). */
  readonly connect: (options: PeerTransportOptions) => PeerNetwork
}
