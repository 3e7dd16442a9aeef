// The sorted set's skip list (skip-list.ts) against a sorted array, under
// seeded random inserts and deletes: order, rank, element at a rank, both
// ends and the backward links.
import t from 'tap'
import { SkipList, compareEntry } from '../../lib/kv/skip-list.js'
import { Prng } from '../../lib/util/prng.js'

t.test('a skip list keeps (score, member) order, ranks and links as a sorted array does', async (t) => {
  const mismatches: string[] = []
  for (let seed = 1; seed <= 5 && mismatches.length === 0; seed++) {
    const r = new Prng(seed)
    const list = new SkipList()
    const model: [number, string][] = []
    const live = new Map<string, number>()
    for (let step = 0; step < 2000; step++) {
      const member = `m${r.int(400)}`
      const score = r.int(50) - 10
      const held = live.get(member)
      if (held !== undefined) {
        if (!list.delete(held, member)) mismatches.push(`seed ${seed} step ${step}: delete`)
        model.splice(model.findIndex(([s, m]) => s === held && m === member), 1)
        live.delete(member)
      } else {
        list.insert(score, member)
        const at = model.findIndex(([s, m]) => compareEntry(s, m, score, member) > 0)
        model.splice(at < 0 ? model.length : at, 0, [score, member])
        live.set(member, score)
      }
      if (step % 50 !== 0) continue
      const forward: string[] = []
      for (let n = list.first(); n !== null; n = n.next0) forward.push(`${n.score}/${n.member}`)
      const backward: string[] = []
      for (let n = list.last(); n !== null; n = n.prev) backward.unshift(`${n.score}/${n.member}`)
      const want = model.map(([s, m]) => `${s}/${m}`)
      if (JSON.stringify(forward) !== JSON.stringify(want) || JSON.stringify(backward) !== JSON.stringify(want)) mismatches.push(`seed ${seed} step ${step}: order`)
      for (let i = 0; i < model.length; i += 7) {
        const [s, m] = model[i] as [number, string]
        if (list.rank(s, m) !== i || list.at(i)?.member !== m) mismatches.push(`seed ${seed} step ${step}: rank ${i}`)
      }
      if (list.length !== model.length) mismatches.push(`seed ${seed} step ${step}: length`)
    }
  }
  t.same(mismatches, [])
})
