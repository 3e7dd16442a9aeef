// Operator routes, the HTTP face of RESP's RAFT family; both end in
// backend.admin(op, args), which answers JSON text.
import type http from 'node:http'
import type { RouteContext } from './http-server.js'
import { HttpError } from './http-io.js'

interface ClusterRoute {
  readonly method: 'GET' | 'POST'
  /** Body fields passed to admin() as arguments, in order; a trailing `?` marks an optional one. */
  readonly fields: readonly string[]
}

const routes: Record<string, ClusterRoute> = {
  status: { method: 'GET', fields: [] },
  add: { method: 'POST', fields: ['id', 'raftAddr', 'role?'] },
  remove: { method: 'POST', fields: ['id'] },
  'transfer-leader': { method: 'POST', fields: ['id'] },
  snapshot: { method: 'POST', fields: [] },
}

function argsFrom(body: unknown, fields: readonly string[]): string[] {
  const object = (body ?? {}) as Record<string, unknown>
  if (typeof object !== 'object' || Array.isArray(object)) throw new HttpError(400, 'expected a JSON object')
  const args: string[] = []
  for (const field of fields) {
    const optional = field.endsWith('?')
    const name = optional ? field.slice(0, -1) : field
    const value = object[name]
    if (value === undefined && optional) continue
    if (typeof value !== 'string' || value === '') throw new HttpError(400, `"${name}" must be a non-empty string`)
    args.push(value)
  }
  return args
}

export async function clusterRoute(
  context: RouteContext,
  response: http.ServerResponse,
  method: string,
  op: string,
  body: unknown,
): Promise<void> {
  const route = Object.hasOwn(routes, op) ? routes[op] : undefined
  if (route === undefined) throw new HttpError(404, `no cluster operation '${op.slice(0, 64)}'`)
  if (method !== route.method) throw new HttpError(405, `use ${route.method} for /cluster/${op}`, { Allow: route.method })
  const text = await context.backend.admin(op, argsFrom(body, route.fields))
  response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  response.end(text)
}
