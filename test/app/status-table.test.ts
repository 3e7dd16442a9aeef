// `raftkv status` in a terminal (lib/app/status-table.ts).
import t from 'tap'
import { renderStatusTable } from '../../lib/app/status-table.js'

const status = (extra: Record<string, unknown>): Record<string, unknown> => ({
  id: 'n1', role: 'leader', term: 3, leader: 'n1', commitIndex: 40, appliedIndex: 40, snapshotIndex: 0,
  firstIndex: 1, lastIndex: 41, incarnation: 'abc', members: [], ...extra,
})

t.test('a membership change not committed yet is shown with its index', async (t) => {
  t.match(renderStatusTable(status({ pendingConfigIndex: 41 })), /log 1\.\.41 {2}membership change pending at 41\n/)
})

t.test('with no pending membership change the line says nothing of one', async (t) => {
  t.notMatch(renderStatusTable(status({ pendingConfigIndex: 0 })), /pending/)
  t.notMatch(renderStatusTable(status({})), /pending/, 'nor from a node too old to report it')
})
