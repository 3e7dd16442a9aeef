// A throwaway redis-server for the differential test: its own port and
// temporary directory, no persistence, stopped and removed afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../cluster/process-cluster.js'
import { WireClient } from './resp-wire.js'

export function haveRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

export class RedisProcess {
  private constructor(
    readonly port: number,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisProcess> {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'raftkv-redis-'))
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
    const redis = new RedisProcess(port, proc, dir)
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        const client = await WireClient.open(port)
        const pong = await client.send(['PING'])
        client.close()
        if (pong.t === 'status') return redis
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    redis.stop()
    throw new Error(`redis-server did not answer on port ${port}`)
  }

  stop(): void {
    this.proc.kill('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}
