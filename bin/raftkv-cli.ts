// raftkv's command line. `start` runs a node in the foreground; the other
// subcommands talk to a running node's HTTP port (/cluster/...).
import { parseArgs } from 'node:util'
import { ConfigError, loadNodeConfig, formatHostPort, type NodeConfig } from '../lib/config/node-config.js'
import { startNode } from '../lib/app/start-node.js'
import { createLogger } from '../lib/util/logger.js'
import { renderStatusTable } from '../lib/app/status-table.js'

const help = `raftkv — a Raft-replicated key-value store (Redis protocol and HTTP)

Usage:
  raftkv start --env FILE                 run one node in the foreground (SIGTERM/SIGINT stop it)
  raftkv status [--env FILE | --http HOST:PORT] [--json]
                                          members, roles, lag, term, commit/applied/snapshot index
  raftkv add ID RAFT_ADDR [target]        add a node (as a learner; promoted to voter once caught up)
  raftkv remove ID [target]               remove a node (a leader hands leadership over first)
  raftkv transfer-leader [ID] [target]    move leadership (to ID, or to the most caught-up voter)
  raftkv snapshot [target]                take a snapshot on that node now
  raftkv --help

target: --env FILE (uses its HTTP_ADDR and REQUIREPASS) or --http HOST:PORT [--password P].
The process environment overrides values from --env files.
`

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      http: { type: 'string' },
      password: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [command, ...rest] = positionals
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(help)
    return command === undefined && !values.help ? 2 : 0
  }
  if (command === 'start') return start(values.env ?? null)
  const adminOps: Record<string, { min: number; max: number }> = {
    status: { min: 0, max: 0 },
    add: { min: 2, max: 2 },
    remove: { min: 1, max: 1 },
    'transfer-leader': { min: 0, max: 1 },
    snapshot: { min: 0, max: 0 },
  }
  const arity = adminOps[command]
  if (arity === undefined) {
    process.stderr.write(`raftkv: unknown command '${command}' (see raftkv --help)\n`)
    return 2
  }
  if (rest.length < arity.min || rest.length > arity.max) {
    process.stderr.write(`raftkv: wrong number of arguments for '${command}' (see raftkv --help)\n`)
    return 2
  }
  return admin(command, rest, values)
}

async function start(envFile: string | null): Promise<number> {
  let config: NodeConfig
  try {
    config = loadNodeConfig(envFile, process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`raftkv: config: ${err.message}\n`)
      return 2
    }
    throw err
  }
  const logger = createLogger({ nodeId: config.nodeId, level: config.logLevel })
  let node
  try {
    node = await startNode(config, logger)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    logger.fatal({ err: e.message, code: e.code }, 'could not start')
    process.stderr.write(`raftkv: cannot start: ${e.message}\n`)
    return 1
  }
  const running = node
  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'stopping')
      running.stop().then(
        () => resolve(0),
        () => resolve(1),
      )
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    void running.fatal.then((err) => {
      process.stderr.write(`raftkv: stopped by a fatal error: ${err.message}\n`)
      running.stop().finally(() => resolve(1))
    })
  })
}

async function admin(op: string, args: string[], values: { env?: string; http?: string; password?: string; json?: boolean }): Promise<number> {
  let httpAddr = values.http ?? null
  let password = values.password ?? null
  if (httpAddr === null) {
    if (values.env === undefined) {
      process.stderr.write(`raftkv: ${op} needs --env FILE or --http HOST:PORT\n`)
      return 2
    }
    try {
      const config = loadNodeConfig(values.env, process.env)
      httpAddr = formatHostPort(config.httpAddr)
      password ??= config.requirePass
    } catch (err) {
      process.stderr.write(`raftkv: config: ${(err as Error).message}\n`)
      return 2
    }
  }
  const url = `http://${httpAddr}/cluster/${op}`
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (password !== null) headers['authorization'] = `Bearer ${password}`
  let res: Response
  try {
    res = op === 'status' ? await fetch(url, { headers }) : await fetch(url, { method: 'POST', headers, body: JSON.stringify(adminBody(op, args)) })
  } catch (err) {
    process.stderr.write(`raftkv: cannot reach ${httpAddr}: ${(err as Error).message}\n`)
    return 1
  }
  const body = await res.text()
  if (!res.ok) {
    process.stderr.write(`raftkv: ${op} failed (${res.status}): ${body.trim()}\n`)
    return 1
  }
  if (op === 'status' && values.json !== true) process.stdout.write(renderStatusTable(JSON.parse(body) as Record<string, unknown>))
  else process.stdout.write(body.endsWith('\n') ? body : body + '\n')
  return 0
}

/** The HTTP routes take named fields (see lib/server/http/cluster-routes.ts). */
function adminBody(op: string, args: string[]): Record<string, string> {
  const names: Record<string, string[]> = { add: ['id', 'raftAddr'], remove: ['id'], 'transfer-leader': ['id'] }
  const body: Record<string, string> = {}
  for (const [i, name] of (names[op] ?? []).entries()) {
    const v = args[i]
    if (v !== undefined) body[name] = v
  }
  return body
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`raftkv: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
