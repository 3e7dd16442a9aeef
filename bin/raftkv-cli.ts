// raftkv's command line. `start` runs a node in the foreground; the other
// subcommands talk to a running node's HTTP port (/cluster/...).
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
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
  A node with CLIENT_TLS_* serves HTTPS: --env FILE switches to it by itself; with
  --http add --https. --cacert FILE verifies the node's certificate (default: the
  system's CAs); --cert FILE --key FILE present a client certificate (CLIENT_TLS_CA).
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
      https: { type: 'boolean', default: false },
      cacert: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
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

interface AdminOptions {
  env?: string
  http?: string
  password?: string
  json?: boolean
  https?: boolean
  cacert?: string
  cert?: string
  key?: string
}

async function admin(op: string, args: string[], values: AdminOptions): Promise<number> {
  let httpAddr = values.http ?? null
  let password = values.password ?? null
  let useTls = values.https === true
  if (httpAddr === null) {
    if (values.env === undefined) {
      process.stderr.write(`raftkv: ${op} needs --env FILE or --http HOST:PORT\n`)
      return 2
    }
    try {
      const config = loadNodeConfig(values.env, process.env)
      httpAddr = formatHostPort(config.httpAddr)
      password ??= config.requirePass
      useTls ||= config.clientTls !== null
    } catch (err) {
      process.stderr.write(`raftkv: config: ${(err as Error).message}\n`)
      return 2
    }
  }
  let tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer }
  try {
    tlsFiles = {
      ...(values.cacert === undefined ? {} : { ca: readFileSync(values.cacert) }),
      ...(values.cert === undefined ? {} : { cert: readFileSync(values.cert) }),
      ...(values.key === undefined ? {} : { key: readFileSync(values.key) }),
    }
  } catch (err) {
    process.stderr.write(`raftkv: ${(err as Error).message}\n`)
    return 2
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (password !== null) headers['authorization'] = `Bearer ${password}`
  const body = op === 'status' ? null : JSON.stringify(adminBody(op, args))
  let res: { status: number; body: string }
  try {
    res = await request(useTls, httpAddr, `/cluster/${op}`, headers, body, tlsFiles)
  } catch (err) {
    process.stderr.write(`raftkv: cannot reach ${httpAddr}${useTls ? ' over https' : ''}: ${(err as Error).message}\n`)
    return 1
  }
  if (res.status < 200 || res.status > 299) {
    process.stderr.write(`raftkv: ${op} failed (${res.status}): ${res.body.trim()}\n`)
    return 1
  }
  if (op === 'status' && values.json !== true) process.stdout.write(renderStatusTable(JSON.parse(res.body) as Record<string, unknown>))
  else process.stdout.write(res.body.endsWith('\n') ? res.body : res.body + '\n')
  return 0
}

/** One request to a node's HTTP port: GET without a body, POST with one. */
function request(
  useTls: boolean,
  hostPort: string,
  path: string,
  headers: Record<string, string>,
  body: string | null,
  tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer },
): Promise<{ status: number; body: string }> {
  const colon = hostPort.lastIndexOf(':')
  const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '')
  const port = Number(hostPort.slice(colon + 1))
  const options = { host, port, path, method: body === null ? 'GET' : 'POST', headers, timeout: 30_000 }
  return new Promise((resolve, reject) => {
    const onResponse = (response: http.IncomingMessage): void => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
      response.on('error', reject)
    }
    const req = useTls ? https.request({ ...options, ...tlsFiles }, onResponse) : http.request(options, onResponse)
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')))
    req.on('error', reject)
    req.end(body ?? undefined)
  })
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
