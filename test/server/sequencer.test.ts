import t from 'tap'
import type { KvApplyResult, KvOp, KvOpResult, KvWrite } from '../../lib/kv/command.js'
import type { ClientBackend, ReadConsistency, ReadTarget, WriteTarget } from '../../lib/replica/client-api.js'
import { Sequencer, type SequencedRead, type SequencedWrite, type WorkGroup } from '../../lib/server/resp/sequencer.js'

/** A backend that holds every call until the test settles it. */
class HeldBackend {
  readonly calls: { kind: 'read' | 'write'; ops: readonly KvOp[]; target: ReadTarget | WriteTarget }[] = []
  writeTo(write: KvWrite, target: WriteTarget): void {
    this.calls.push({ kind: 'write', ops: write.ops, target })
  }
  readTo(ops: readonly KvOp[], _consistency: ReadConsistency, target: ReadTarget): void {
    this.calls.push({ kind: 'read', ops, target })
  }
}

class Outcome implements SequencedWrite, SequencedRead {
  group: WorkGroup | null = null
  value: string | null = null
  writeDone(result: KvApplyResult): void {
    this.value = result.t
    this.group?.settleOne()
  }
  writeFailed(): void {
    this.value = 'failed'
    this.group?.settleOne()
  }
  readResult(result: KvOpResult): void {
    this.value = result.t === 'int' ? String(result.value) : result.t
  }
  readFailed(): void {
    this.value = 'failed'
  }
}

const get = (key: string): KvOp => ({ t: 'get', key: Buffer.from(key) })
const set: KvWrite = { ops: [{ t: 'set', key: Buffer.from('k'), value: Buffer.from('v') } as unknown as KvOp], watches: [] }
const applied: KvApplyResult = { t: 'results', results: [] }
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function sequencer(): { s: Sequencer; backend: HeldBackend } {
  const backend = new HeldBackend()
  return { s: new Sequencer(backend as unknown as ClientBackend), backend }
}

t.test('the reads of one chunk reach the backend as one read, at flush', async (t) => {
  const { s, backend } = sequencer()
  const outcomes = [new Outcome(), new Outcome(), new Outcome()]
  for (const [i, o] of outcomes.entries()) s.read(get(`k${i}`), 'linearizable', o)
  t.equal(backend.calls.length, 0, 'nothing before the chunk is read')
  s.flush()
  t.equal(backend.calls.length, 1)
  t.equal(backend.calls[0]?.ops.length, 3)
  ;(backend.calls[0]?.target as ReadTarget).readDone([{ t: 'int', value: 1 }, { t: 'int', value: 2 }, { t: 'int', value: 3 }])
  t.same(outcomes.map((o) => o.value), ['1', '2', '3'])
})

t.test('consecutive writes go to the backend at once, without waiting for each other', async (t) => {
  const { s, backend } = sequencer()
  s.write(set, new Outcome())
  s.write(set, new Outcome())
  t.same(backend.calls.map((c) => c.kind), ['write', 'write'])
})

t.test('a read after a write waits until the write has settled', async (t) => {
  const { s, backend } = sequencer()
  const w = new Outcome()
  s.write(set, w)
  s.read(get('k'), 'linearizable', new Outcome())
  s.flush()
  await tick()
  t.same(backend.calls.map((c) => c.kind), ['write'], 'the read is held')
  ;(backend.calls[0]?.target as WriteTarget).writeDone(applied)
  await tick()
  t.same(backend.calls.map((c) => c.kind), ['write', 'read'])
})

t.test('a write after a read waits until the read has settled', async (t) => {
  const { s, backend } = sequencer()
  s.read(get('k'), 'linearizable', new Outcome())
  s.write(set, new Outcome())
  s.flush()
  await tick()
  t.same(backend.calls.map((c) => c.kind), ['read'], 'the write is held')
  ;(backend.calls[0]?.target as ReadTarget).readDone([{ t: 'nil' }])
  await tick()
  t.same(backend.calls.map((c) => c.kind), ['read', 'write'])
})

t.test('a read batch that fails fails each of its reads', async (t) => {
  const { s, backend } = sequencer()
  const outcomes = [new Outcome(), new Outcome()]
  for (const o of outcomes) s.read(get('k'), 'stale', o)
  s.flush()
  ;(backend.calls[0]?.target as ReadTarget).readFailed(new Error('down'))
  t.same(outcomes.map((o) => o.value), ['failed', 'failed'])
})
