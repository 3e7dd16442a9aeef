// Renders `raftkv status` for a terminal: one header block, one row per member.

export function renderStatusTable(s: Record<string, unknown>): string {
  const lines: string[] = []
  lines.push(`node ${String(s['id'])}  role ${String(s['role'])}  term ${String(s['term'])}  leader ${String(s['leader'] ?? '-')}`)
  // A membership change not yet committed: the quorum is still the previous voters' (README, "A node that lost its disk").
  const pending = Number(s['pendingConfigIndex'] ?? 0)
  lines.push(`commit ${String(s['commitIndex'])}  applied ${String(s['appliedIndex'])}  snapshot ${String(s['snapshotIndex'])}  log ${String(s['firstIndex'])}..${String(s['lastIndex'])}${pending > 0 ? `  membership change pending at ${pending}` : ''}`)
  // Non-zero only while some peer's log predates a member's re-add (README, "A node that lost its disk").
  const dropped = Number(s['droppedForOtherIncarnation'] ?? 0) + Number(s['droppedFromStaleIncarnation'] ?? 0)
  lines.push(`incarnation ${String(s['incarnation'] ?? '-')}${dropped > 0 ? `  ignored ${String(s['droppedForOtherIncarnation'] ?? 0)} messages for another incarnation, ${String(s['droppedFromStaleIncarnation'] ?? 0)} from a stale one` : ''}`)
  const members = Array.isArray(s['members']) ? (s['members'] as Record<string, unknown>[]) : []
  const rows = [['ID', 'ROLE', 'RAFT ADDR', 'RESP ADDR', 'MATCH', 'LAG', 'LAST CONTACT', 'STATE', 'INCARNATION']]
  for (const m of members) {
    rows.push([
      String(m['id']),
      String(m['role']),
      String(m['raftAddr']),
      String(m['respAddr'] ?? '-'),
      m['match'] === null ? '-' : String(m['match']),
      m['lag'] === null ? '-' : String(m['lag']),
      m['lastContactMs'] === null ? '-' : `${String(m['lastContactMs'])}ms`,
      String(m['state'] ?? '-'),
      m['incarnation'] === undefined || m['incarnation'] === '' ? '-' : String(m['incarnation']),
    ])
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  for (const r of rows) lines.push(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd())
  return lines.join('\n') + '\n'
}
