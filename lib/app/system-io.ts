// The production RuntimeIo: the system clock, the operating system's
// randomness, node:fs and the TCP peer transport.
import type { RuntimeIo } from '../replica/runtime-io.js'
import { nodeFileSystem } from '../storage/file-system.js'
import { PeerTransport, type PeerTransportOptions } from '../transport/peer-transport.js'
import { systemClock } from '../util/clock.js'
import { systemRandom } from '../util/random-source.js'

export const systemIo: RuntimeIo = Object.freeze({
  clock: systemClock,
  random: systemRandom,
  fs: nodeFileSystem,
  connect: (options: PeerTransportOptions) => new PeerTransport(options),
})
