// Child processes the benchmark starts, and the guarantee that it stops them:
// every spawn is registered, and exit, SIGINT and SIGTERM kill whatever is
// still running, so an interrupted `make bench` leaves nothing behind.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'

const live = new Set<ChildProcess>()

function killAll(): void {
  for (const p of live) p.kill('SIGKILL')
  live.clear()
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll()
    process.exit(130)
  })
}

/** Spawns a long-running server; its output is kept (bounded) for error reports. */
export function startProcess(cmd: string, args: readonly string[], options: SpawnOptions = {}): { proc: ChildProcess; output: () => string } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  live.add(proc)
  let out = ''
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-20_000)
  }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  proc.on('exit', () => live.delete(proc))
  return { proc, output: () => out }
}

export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  proc.kill(signal)
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Runs a command to completion and returns its stdout; throws with stderr on failure. */
export function runCommand(cmd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const { proc, output } = startProcess(cmd, args)
    let stdout = ''
    proc.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.on('error', reject)
    proc.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}\n${output().slice(-2000)}`))
    })
  })
}

export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

// One free-port helper for tests and benchmarks alike.
export { freePort } from '../../test/cluster/process-cluster.js'

export async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await cond().catch(() => false)) return
    await sleep(50)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Puts a process started elsewhere (ProcessCluster) under the same stop-on-exit guarantee. */
export function adopt(proc: ChildProcess | null): void {
  if (proc === null) return
  live.add(proc)
  proc.on('exit', () => live.delete(proc))
}
