// The commands carried as 'call' ops: every family's table in one registry,
// looked up by name when an op is read or applied. An op naming a command
// not here (an entry written by a newer version), or with the wrong number of
// arguments, answers an error and changes nothing, so apply never throws.

import { errorResult, type KvOp, type KvOpResult } from './command.js'
import { blockingCalls } from './blocking-calls.js'
import { configCalls } from './replicated-config.js'
import { arityOk, wrongArity, type KvCall } from './call-context.js'
import { hashCalls } from './hash-calls.js'
import { NO_KEY_EVENTS, type NotifyKeyEvent } from './key-events.js'
import type { Keyspace } from './keyspace.js'
import { keyspaceCalls } from './keyspace-calls.js'
import { keyspaceScanCalls } from './keyspace-scan.js'
import { listCalls } from './list-calls.js'
import { setCalls } from './set-calls.js'
import { stringCalls } from './string-calls.js'
import { zsetCalls } from './zset-calls.js'

const registry = new Map<string, KvCall>()
for (const call of [...stringCalls, ...keyspaceCalls, ...keyspaceScanCalls, ...hashCalls, ...listCalls, ...setCalls, ...zsetCalls, ...blockingCalls, ...configCalls]) {
  registry.set(call.name, call)
}

export function lookupCall(name: string): KvCall | undefined {
  return registry.get(name)
}

export function allCalls(): Iterable<KvCall> {
  return registry.values()
}

export function isReadOnlyCall(name: string): boolean {
  return registry.get(name)?.write === false
}

type CallOp = Extract<KvOp, { t: 'call' }>

/** Runs a call op: `write` inside apply (the entry's time and seed), otherwise as a local read. */
export function runCall(ks: Keyspace, op: CallOp, nowMs: number, write: boolean, notify: NotifyKeyEvent = NO_KEY_EVENTS): KvOpResult {
  const call = registry.get(op.name)
  if (call === undefined) return errorResult(`unknown command '${op.name.slice(0, 128)}'`)
  if (!arityOk(call.arity, op.args.length)) return wrongArity(op.name)
  // A write command reaching the read path would change state outside apply.
  if (call.write && !write) return errorResult(`'${op.name}' is a write command`)
  return call.run({ ks, nowMs, seed: op.seed, notify: write ? notify : NO_KEY_EVENTS }, op.args)
}
