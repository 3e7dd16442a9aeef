// raftkv's command line. `start` runs a node in the foreground; the other
// subcommands talk to a running node's HTTP port (/cluster/...).
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { parseArgs } from 'node:util'
import { ConfigError, loadNodeConfig, formatHostPort, type NodeConfig } from '../lib/config/node-config.js'
import { createLogger } from '../lib/util/logger.js'
import { renderStatusTable } from '../lib/app/status-table.js'
import type { VerifiedBackup } from '../lib/backup/backup-file.js'
import { systemRandom } from '../lib/util/random-source.js'

const help = `raftkv — a Raft-replicated key-value store (Redis protocol and HTTP)

Usage:
  raftkv start --env FILE                 run one node in the foreground (SIGTERM/SIGINT stop it)
  raftkv status [--env FILE | --http HOST:PORT] [--json]
                                          members, roles, lag, term, commit/applied/snapshot index
  raftkv add ID RAFT_ADDR [target]        add a node (as a learner; promoted to voter once caught up)
  raftkv remove ID [target]               remove a node (a leader hands leadership over first)
  raftkv transfer-leader [ID] [target]    move leadership (to ID, or to the most caught-up voter)
  raftkv snapshot [target]                take a snapshot on that node now
  raftkv backup OUT [target] [--node ID] [--stale]
                                          write the keyspace to the file OUT (verified, atomic):
                                          linearizable by default; --node ID takes it from that
                                          member, --stale from the node's own state (no leader needed)
  raftkv backup verify FILE               check a backup's checksums and say what it holds
  raftkv restore FILE --env FILE          seed a NEW cluster from a backup: writes DATA_DIR (must be
                                          empty) for the env file's node; start it, then JOIN others
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
      node: { type: 'string' },
      stale: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [command, ...rest] = positionals
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(help)
    return command === undefined && !values.help ? 2 : 0
  }
  if (command === 'start') return start(values.env ?? null)
  if (command === 'backup' && rest[0] === 'verify') return verify(rest.slice(1))
  if (command === 'backup') return backup(rest, values)
  if (command === 'restore') return restore(rest, values.env)
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
    // Loaded here, not at the top: the whole node is most of the CLI's start-up time, and only `start` needs it.
    const { startNode } = await import('../lib/app/start-node.js')
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

const backupIdleTimeoutMs = 600_000

/** A node's HTTP port as the CLI reaches it: address, credentials, TLS. */
interface Target {
  httpAddr: string
  useTls: boolean
  headers: Record<string, string>
  tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer }
}

/** The node named by --http or --env; a string is the one-line reason it cannot be reached. */
function resolveTarget(op: string, values: AdminOptions): Target | string {
  let httpAddr = values.http ?? null
  let password = values.password ?? null
  let useTls = values.https === true
  if (httpAddr === null) {
    if (values.env === undefined) return `${op} needs --env FILE or --http HOST:PORT`
    try {
      const config = loadNodeConfig(values.env, process.env)
      httpAddr = formatHostPort(config.httpAddr)
      password ??= config.requirePass
      useTls ||= config.clientTls !== null
    } catch (err) {
      return `config: ${(err as Error).message}`
    }
  }
  let tlsFiles: Target['tlsFiles']
  try {
    tlsFiles = {
      ...(values.cacert === undefined ? {} : { ca: readFileSync(values.cacert) }),
      ...(values.cert === undefined ? {} : { cert: readFileSync(values.cert) }),
      ...(values.key === undefined ? {} : { key: readFileSync(values.key) }),
    }
  } catch (err) {
    return (err as Error).message
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (password !== null) headers['authorization'] = `Bearer ${password}`
  return { httpAddr, useTls, headers, tlsFiles }
}

async function admin(op: string, args: string[], values: AdminOptions): Promise<number> {
  const target = resolveTarget(op, values)
  if (typeof target === 'string') return fail(target, 2)
  const body = op === 'status' ? null : JSON.stringify(adminBody(op, args))
  let res: { status: number; body: Buffer }
  try {
    res = await request(target, `/cluster/${op}`, body)
  } catch (err) {
    return fail(`cannot reach ${target.httpAddr}${target.useTls ? ' over https' : ''}: ${(err as Error).message}`, 1)
  }
  const text = res.body.toString('utf8')
  if (res.status < 200 || res.status > 299) return fail(`${op} failed (${res.status}): ${text.trim()}`, 1)
  if (op === 'status' && values.json !== true) process.stdout.write(renderStatusTable(JSON.parse(text) as Record<string, unknown>))
  else process.stdout.write(text.endsWith('\n') ? text : text + '\n')
  return 0
}

/** Prints one line to stderr and returns the exit code. */
function fail(message: string, code: number): number {
  process.stderr.write(`raftkv: ${message}\n`)
  return code
}

/**
 * raftkv backup OUT [target] [--node ID] [--stale]: downloads the node's
 * backup (GET /cluster/backup), verifies it and writes OUT atomically.
 */
async function backup(args: string[], values: AdminOptions & { node?: string; stale?: boolean }): Promise<number> {
  if (args.length !== 1) return fail('backup takes one file to write: raftkv backup OUT --env FILE (see raftkv --help)', 2)
  const out = args[0] as string
  let target = resolveTarget('backup', values)
  if (typeof target === 'string') return fail(target, 2)
  try {
    if (values.node !== undefined) {
      const member = await memberTarget(target, values.node)
      if (typeof member === 'string') return fail(`backup: ${member}`, 1)
      target = member
    }
    const consistency = values.stale === true ? 'stale' : 'linearizable'
    // A large keyspace takes a while to encode before the first byte comes.
    const res = await request(target, `/cluster/backup?consistency=${consistency}`, null, backupIdleTimeoutMs)
    if (res.status !== 200) return fail(`backup failed (${res.status}): ${res.body.toString('utf8').trim()}`, 1)
    const { writeBackupFile } = await import('../lib/backup/backup-file.js')
    const written = await writeBackupFile(out, res.body)
    process.stdout.write(`backup written to ${out}: ${describeBackup(written)}; ${consistency} from ${target.httpAddr}, cluster ${res.clusterId ?? '?'}\n`)
    return 0
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BACKUP_FILE') return fail(`backup: the node sent a damaged backup (${(err as Error).message}); nothing written`, 1)
    return fail(`backup: ${(err as Error).message}`, 1)
  }
}

/** The HTTP address of member `id`, from the target's view of the cluster. */
async function memberTarget(target: Target, id: string): Promise<Target | string> {
  const res = await request(target, '/cluster/status', null)
  if (res.status !== 200) return `cannot list the members (${res.status}): ${res.body.toString('utf8').trim()}`
  const status = JSON.parse(res.body.toString('utf8')) as { members?: { id: string; httpAddr: string | null }[] }
  const members = status.members ?? []
  const member = members.find((m) => m.id === id)
  if (member === undefined) return `no member ${JSON.stringify(id)} (members: ${members.map((m) => m.id).join(', ')})`
  if (member.httpAddr === null) return `member ${id} has not told the cluster its HTTP address; point --env or --http at it`
  return { ...target, httpAddr: member.httpAddr }
}

async function verify(args: string[]): Promise<number> {
  if (args.length !== 1) return fail('backup verify takes one file: raftkv backup verify FILE', 2)
  const file = args[0] as string
  try {
    const { readBackupFile } = await import('../lib/backup/backup-file.js')
    const backup = await readBackupFile(file)
    process.stdout.write(`${file}: ok, ${describeBackup(backup)}\n`)
    return 0
  } catch (err) {
    return fail((err as Error).message, 1)
  }
}

async function restore(args: string[], envFile: string | undefined): Promise<number> {
  if (args.length !== 1) return fail('restore takes one backup file: raftkv restore FILE --env FILE', 2)
  if (envFile === undefined) return fail('restore needs --env FILE: the node to seed (its NODE_ID, addresses and DATA_DIR)', 2)
  let config: NodeConfig
  try {
    config = loadNodeConfig(envFile, process.env)
  } catch (err) {
    return fail(`config: ${(err as Error).message}`, 2)
  }
  try {
    const { readBackupFile } = await import('../lib/backup/backup-file.js')
    const { restoreDataDir } = await import('../lib/backup/restore.js')
    const backup = await readBackupFile(args[0] as string)
    const restored = await restoreDataDir(config, backup, systemRandom)
    process.stdout.write(`restored ${describeBackup(backup)} into ${restored.dataDir}: node ${config.nodeId} of a new cluster ${restored.clusterId} ` +
      `(incarnation ${restored.incarnation}). Start it (raftkv start --env ${envFile}), then start the other nodes with JOIN=${formatHostPort(config.raftAddr)}\n`)
    return 0
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'ERR_BACKUP_FILE' || code === 'ERR_RESTORE') return fail((err as Error).message, 1)
    return fail(`restore: ${(err as Error).message}`, 1)
  }
}

function describeBackup(b: VerifiedBackup): string {
  const members = b.meta.config.members.map((m) => m.id).join(', ')
  return `index ${b.meta.index}, term ${b.meta.term}, ${b.keys} keys, ${b.fileBytes} bytes, crc32c ${b.crc32cHex}, members then: ${members}`
}

/** One request to a node's HTTP port: GET without a body, POST with one. */
function request(target: Target, path: string, body: string | null, idleTimeoutMs = 30_000): Promise<{ status: number; body: Buffer; clusterId: string | null }> {
  const hostPort = target.httpAddr
  const colon = hostPort.lastIndexOf(':')
  const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '')
  const port = Number(hostPort.slice(colon + 1))
  const options = { host, port, path, method: body === null ? 'GET' : 'POST', headers: target.headers, timeout: idleTimeoutMs }
  return new Promise((resolve, reject) => {
    const onResponse = (response: http.IncomingMessage): void => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const clusterId = response.headers['x-raftkv-cluster-id']
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks), clusterId: typeof clusterId === 'string' ? clusterId : null })
      })
      response.on('error', reject)
    }
    const req = target.useTls ? https.request({ ...options, ...target.tlsFiles }, onResponse) : http.request(options, onResponse)
    req.on('timeout', () => req.destroy(new Error(`no answer within ${idleTimeoutMs / 1000} s`)))
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
