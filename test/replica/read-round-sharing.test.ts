// How linearizable reads share ReadIndex rounds (lib/replica/replica-backend.ts):
// one round out at a time, the reads that arrive meanwhile wait for it and go
// together in the next, and a leader change abandons the round out at once.
// The replica here is a stand-in that records each round the backend starts;
// the real runtime's reads are checked for linearizability by the runtime
// simulator.
import { EventEmitter } from 'node:events'
import t from 'tap'
import type { KvOpResult } from '../../lib/kv/command.js'
import { ReplicaBackend } from '../../lib/replica/replica-backend.js'
import type { Replica } from '../../lib/replica/replica.js'
import type { Clock, Timer } from '../../lib/util/clock.js'

/** Time moves only when the test says; `soon` callbacks run on `endTurn()`. */
class ManualClock implements Clock {
  private now = 1_000_000
  private soonQueue: (() => void)[] = []
  private timers: { atMs: number; fn: () => void; cancelled: boolean }[] = []

  nowMs(): number {
    return this.now
  }
  monotonicMs(): number {
    return this.now
  }
  after(delayMs: number, fn: () => void): Timer {
    const timer = { atMs: this.now + delayMs, fn, cancelled: false }
    this.timers.push(timer)
    return { cancel: () => (timer.cancelled = true) }
  }
  every(): Timer {
    throw new Error('not used by the read path')
  }
  soon(fn: () => void): void {
    this.soonQueue.push(fn)
  }
  endTurn(): void {
    const queue = this.soonQueue
    this.soonQueue = []
    for (const fn of queue) fn()
  }
  advance(ms: number): void {
    this.now += ms
    const due = this.timers.filter((x) => !x.cancelled && x.atMs <= this.now)
    this.timers = this.timers.filter((x) => !due.includes(x))
    for (const x of due) x.fn()
  }
}

interface Round {
  readonly ctx: string
  readonly answer: (index: number) => void
}

/** The part of Replica the read path uses. */
class StandInReplica extends EventEmitter {
  readonly id = 'n1'
  readonly random = { hex: (): string => 'abcdef' }
  readonly clock = new ManualClock()
  readonly rounds: Round[] = []
  readonly cancelled: string[] = []
  applied = 10

  addMessageHandler(): void {}
  staleReadsForced(): boolean {
    return false
  }
  requestTimeoutMs(): number {
    return 5_000
  }
  isStopped(): boolean {
    return false
  }
  removedFromCluster(): boolean {
    return false
  }
  readIndex(): { ctx: string; index: Promise<number> } {
    const ctx = `round-${this.rounds.length + 1}`
    let answer!: (index: number) => void
    const index = new Promise<number>((resolve) => (answer = resolve))
    this.rounds.push({ ctx, answer })
    return { ctx, index }
  }
  cancelRead(ctx: string): void {
    this.cancelled.push(ctx)
  }
  appliedIndex(): number {
    return this.applied
  }
  waitApplied(): Promise<void> {
    return Promise.resolve()
  }
  readClockMs(): number {
    return this.clock.nowMs()
  }
  readLocal(): KvOpResult[] {
    return [{ t: 'int', value: 1 }]
  }
}

/** Lets promise reactions run (the rounds' answers are promises). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function setup(): { replica: StandInReplica; backend: ReplicaBackend; read: (name: string) => void; served: string[] } {
  const replica = new StandInReplica()
  const backend = new ReplicaBackend(replica as unknown as Replica, false)
  const served: string[] = []
  const read = (name: string): void =>
    backend.readTo([{ t: 'get', key: Buffer.from(name) }], 'linearizable', {
      readDone: () => served.push(name),
      readFailed: (error) => served.push(`${name} failed: ${String(error)}`),
    })
  return { replica, backend, read, served }
}

t.test('reads that arrive while a round is out wait for it and then share one round', async (t) => {
  const { replica, read, served } = setup()
  read('a')
  replica.clock.endTurn()
  t.equal(replica.rounds.length, 1, 'the first read starts a round')
  read('b')
  replica.clock.endTurn()
  read('c')
  replica.clock.endTurn()
  t.equal(replica.rounds.length, 1, 'reads of later turns start no round while one is out')
  replica.rounds[0]?.answer(10)
  await settled()
  t.same(served, ['a'], 'the round answers only the read that was waiting when it started')
  replica.clock.endTurn()
  t.equal(replica.rounds.length, 2, 'the reads that waited go out in one round')
  replica.rounds[1]?.answer(10)
  await settled()
  t.same(served, ['a', 'b', 'c'])
})

t.test('a read is never answered by a round that started before it arrived', async (t) => {
  const { replica, read, served } = setup()
  read('early')
  replica.clock.endTurn()
  read('late')
  replica.rounds[0]?.answer(10)
  await settled()
  replica.clock.endTurn()
  t.same(served, ['early'])
  t.equal(replica.rounds.length, 2, 'the late read has a round of its own')
})

t.test('a leader change abandons the round out, and its reads retry without waiting out the round', async (t) => {
  const { replica, read, served } = setup()
  read('a')
  replica.clock.endTurn()
  replica.emit('leaderChange', 'n2')
  replica.clock.endTurn()
  t.same(replica.cancelled, ['round-1'], 'the core is told to forget the abandoned round')
  await settled()
  read('b')
  replica.clock.endTurn()
  t.equal(replica.rounds.length, 2, 'a read arriving after the change starts a round at once')
  replica.clock.advance(20)
  await settled()
  replica.clock.endTurn()
  t.equal(replica.rounds.length, 2, 'the retry of the abandoned read waits for the round out')
  replica.rounds[1]?.answer(10)
  await settled()
  t.same(served, ['b'])
  replica.clock.endTurn()
  t.equal(replica.rounds.length, 3)
  replica.rounds[2]?.answer(10)
  await settled()
  await settled()
  t.same(served, ['b', 'a'], 'the abandoned read is served by a later round, well within its timeout')
})

t.test('a round confirmed by the same Ready that changed the leader is served, not abandoned', async (t) => {
  const { replica, read, served } = setup()
  read('a')
  replica.clock.endTurn()
  // The ready loop releases read states before it reports a leader change.
  replica.rounds[0]?.answer(10)
  replica.emit('leaderChange', 'n2')
  await settled()
  replica.clock.endTurn()
  t.same(served, ['a'])
  t.same(replica.cancelled, [], 'the answered round is not cancelled')
  t.equal(replica.rounds.length, 1, 'and not repeated')
})

t.test('a round that gets no answer is given up after its bound, and the reads behind it go out', async (t) => {
  const { replica, read, served } = setup()
  read('a')
  replica.clock.endTurn()
  read('b')
  replica.clock.endTurn()
  replica.clock.advance(2_000)
  t.same(replica.cancelled, ['round-1'])
  await settled()
  replica.clock.endTurn()
  t.equal(replica.rounds.length, 2, 'the waiting read goes out once the silent round is given up')
  replica.rounds[1]?.answer(10)
  await settled()
  t.same(served, ['b'])
})
