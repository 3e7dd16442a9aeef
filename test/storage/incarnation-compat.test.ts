// Incarnations on disk: config members carry the incarnation they were added
// with (batch record types 2 and 3, snapshot files "RKVSNAP2"), and data written
// before incarnations existed (type 1, "RKVSNAP1") still opens, its members
// without one (unknown: never checked).
import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import avro from 'avsc'
import type { Entry } from '../../lib/raft/types.js'
import { decodeBatch, decodeBatchWithAvsc, encodeBatchInto } from '../../lib/storage/entry-codec.js'
import { decodeSnapshotFile, encodeSnapshotFile } from '../../lib/storage/snapshot-file.js'
import { crc32c } from '../../lib/util/checksum.js'

// The first layout, exactly as it was written before incarnations.
const memberV1 = {
  type: 'record', name: 'Member',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'addr', type: 'string' },
    { name: 'role', type: { type: 'enum', name: 'MemberRole', symbols: ['voter', 'learner'] } },
  ],
}
const configV1 = { type: 'record', name: 'Config', fields: [{ name: 'members', type: { type: 'array', items: memberV1 } }] }
const batchV1 = avro.Type.forSchema({
  type: 'record', name: 'LogBatch',
  fields: [
    { name: 'hardState', type: ['null', { type: 'record', name: 'HardState', fields: [{ name: 'term', type: 'long' }, { name: 'vote', type: 'string' }, { name: 'commit', type: 'long' }] }] },
    {
      name: 'entries',
      type: {
        type: 'array',
        items: {
          type: 'record', name: 'Entry',
          fields: [
            { name: 'index', type: 'long' },
            { name: 'term', type: 'long' },
            { name: 'kind', type: { type: 'enum', name: 'EntryKind', symbols: ['normal', 'noop', 'config'] } },
            { name: 'data', type: 'bytes' },
            { name: 'config', type: ['null', configV1] },
          ],
        },
      },
    },
  ],
} as avro.Schema)
const headerV1 = avro.Type.forSchema({
  type: 'record', name: 'SnapshotHeader',
  fields: [{ name: 'index', type: 'long' }, { name: 'term', type: 'long' }, { name: 'config', type: configV1 }, { name: 'logStartSeq', type: 'long' }],
} as avro.Schema)

const oldMembers = [
  { id: 'n1', addr: 'a:1', role: 'voter' as const },
  { id: 'n2', addr: 'b:1', role: 'learner' as const },
]

t.test('a log batch written before incarnations decodes, its members without one', async (t) => {
  const avroBytes = batchV1.toBuffer({
    hardState: { term: 3, vote: 'n1', commit: 2 },
    entries: [
      { index: 1, term: 1, kind: 'config', data: Buffer.alloc(0), config: { members: oldMembers } },
      { index: 2, term: 1, kind: 'normal', data: Buffer.from('x'), config: null },
    ],
  })
  const payload = Buffer.concat([Buffer.from([1]), avroBytes])
  for (const decode of [decodeBatch, decodeBatchWithAvsc]) {
    const batch = decode(payload)
    t.same(batch.hardState, { term: 3, vote: 'n1', commit: 2 })
    const first = batch.entries[0]
    t.equal(first?.kind, 'config')
    if (first?.kind === 'config') t.strictSame(first.config.members, oldMembers, 'no incarnation property at all')
  }
})

t.test('a config entry keeps its members\' incarnations through a write and a read', async (t) => {
  const members = [
    { id: 'n1', addr: 'a:1', role: 'voter' as const, incarnation: '9f3c' },
    { id: 'n2', addr: 'b:1', role: 'learner' as const },
  ]
  const entries: Entry[] = [{ index: 7, term: 2, kind: 'config', config: { members } }]
  const buf = Buffer.alloc(4096)
  const end = encodeBatchInto({ hardState: null, entries }, buf, 0)
  t.equal(buf[0], 3, 'written as record type 3')
  for (const decode of [decodeBatch, decodeBatchWithAvsc]) {
    const e = decode(buf.subarray(0, end)).entries[0]
    if (e?.kind === 'config') t.strictSame(e.config.members, members)
    else t.fail('not a config entry')
  }
})

t.test('a snapshot file written before incarnations loads; a new one keeps them', async (t) => {
  const dir = t.testdir()
  // RKVSNAP1, built as the old writer did.
  const metaBuf = headerV1.toBuffer({ index: 5, term: 2, config: { members: oldMembers }, logStartSeq: 0 })
  const data = Buffer.from('state')
  const head = Buffer.alloc(24 + metaBuf.length)
  Buffer.from('RKVSNAP1', 'latin1').copy(head, 0)
  head.writeUInt32LE(metaBuf.length, 8)
  head.writeUIntLE(data.length, 12, 6)
  metaBuf.copy(head, 24)
  let crc = crc32c(head.subarray(0, 20))
  crc = crc32c(metaBuf, crc)
  crc = crc32c(data, crc)
  head.writeUInt32LE(crc, 20)
  const oldPath = join(dir, 'old.snap')
  await writeFile(oldPath, Buffer.concat([head, data]))
  const old = decodeSnapshotFile(await readFile(oldPath))
  if (typeof old === 'string') return t.fail(old)
  t.strictSame(old.meta.config.members, oldMembers)
  t.equal(old.data.toString(), 'state')

  const members = [{ id: 'n1', addr: 'a:1', role: 'voter' as const, incarnation: 'c0ffee' }]
  const newPath = join(dir, 'new.snap')
  await writeFile(newPath, Buffer.concat(encodeSnapshotFile({ meta: { index: 9, term: 3, config: { members } }, logStartSeq: 0 }, data)))
  const loaded = decodeSnapshotFile(await readFile(newPath))
  if (typeof loaded === 'string') return t.fail(loaded)
  t.strictSame(loaded.meta.config.members, members)
})
