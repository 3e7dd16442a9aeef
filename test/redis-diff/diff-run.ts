// The differential run: N seeded sequences, each against redis-server and a
// 3-node raftkv cluster; the report names the seed and a shrunk sequence for
// every mismatch. Shared by the CI test and `make fuzz-redis`.
import { ProcessCluster } from '../cluster/process-cluster.js'
import { CommandGen } from './command-gen.js'
import { quoteCommand, reset, runSequence, shrink, type Targets } from './differ.js'
import { RedisProcess } from './redis-process.js'
import { WireClient } from './resp-wire.js'

export interface DiffReport {
  readonly sequences: number
  readonly commands: number
  readonly failures: readonly string[]
}

export interface DiffOptions {
  readonly sequences: number
  readonly length: number
  readonly seed: number
  /** Stop after this many mismatching seeds. */
  readonly failuresMax?: number
  log?(line: string): void
}

export async function runDifferential(options: DiffOptions): Promise<DiffReport> {
  const redis = await RedisProcess.start()
  const cluster = new ProcessCluster()
  const clients: WireClient[] = []
  try {
    await cluster.start(3)
    const targets: Targets = {
      redis: await WireClient.open(redis.port),
      raftkv: await Promise.all(cluster.nodes.map((n) => WireClient.open(n.spec.respPort))),
    }
    clients.push(targets.redis, ...targets.raftkv)
    const failures: string[] = []
    let commands = 0
    let sequences = 0
    for (let i = 0; i < options.sequences && failures.length < (options.failuresMax ?? 5); i++) {
      const seed = options.seed + i
      const sequence = new CommandGen(seed).sequence(options.length)
      await reset(targets)
      const mismatch = await runSequence(targets, sequence)
      sequences++
      commands += mismatch === null ? sequence.length : mismatch.index + 1
      if (mismatch === null) continue
      const shrunk = await shrink(targets, sequence)
      const lines = [
        `seed ${seed}: ${quoteCommand(shrunk.mismatch.command)}`,
        `  redis:  ${shrunk.mismatch.redis}`,
        `  raftkv: ${shrunk.mismatch.raftkv}`,
        `  shortest sequence (${shrunk.commands.length} commands, after FLUSHALL):`,
        ...shrunk.commands.map((c) => `    ${quoteCommand(c)}`),
      ]
      failures.push(lines.join('\n'))
      options.log?.(lines.join('\n'))
    }
    return { sequences, commands, failures }
  } finally {
    for (const c of clients) c.close()
    await cluster.stop()
    redis.stop()
  }
}
