import t from 'tap'
import { History, type OpKind } from './history.js'
import { RespError, type RespValue } from './resp-client.js'
import { recordReply } from './workload.js'

function outcomeOf(kind: OpKind, reply: RespValue): string {
  const h = new History()
  const op = h.invoke(0, 'n1', kind, 'k', kind === 'set' || kind === 'getset' ? 'v' : null)
  recordReply(h, op, reply)
  return op.outcome
}

t.test('-CLUSTERDOWN means the write certainly did not happen', async (t) => {
  t.equal(outcomeOf('set', new RespError('CLUSTERDOWN no leader is reachable')), 'failed')
})

t.test('-TIMEOUT leaves a write unknown', async (t) => {
  t.equal(outcomeOf('incr', new RespError('TIMEOUT the write may or may not have been applied')), 'unknown')
})

t.test('an unexpected error on a write is counted as unknown, never as failed', async (t) => {
  t.equal(outcomeOf('getset', new RespError('ERR internal error; see the server log')), 'unknown')
})

t.test('a read that errs had no effect and counts as failed', async (t) => {
  t.equal(outcomeOf('get', new RespError('TIMEOUT x')), 'failed')
})

t.test('replies of the expected shape are ok and keep their result', async (t) => {
  const h = new History()
  const op = h.invoke(0, 'n1', 'incr', 'c', null)
  recordReply(h, op, 7)
  t.equal(op.outcome, 'ok')
  t.equal(op.result, 7)
  t.equal(outcomeOf('set', 'OK'), 'ok')
  t.equal(outcomeOf('get', null), 'ok')
})
