// The packed list (list-value.ts) against a plain array, under seeded random
// pushes, pops, index reads and writes at both ends and in the middle, with
// empty, short and chunk-sized elements.
import t from 'tap'
import { ListValue } from '../../lib/kv/list-value.js'
import { Prng } from '../../lib/util/prng.js'

function element(r: Prng): string {
  const roll = r.next()
  if (roll < 0.05) return ''
  if (roll < 0.08) return 'x'.repeat(3000 + r.int(3000))
  return String.fromCharCode(...Array.from({ length: 1 + r.int(12) }, () => r.int(256)))
}

t.test('a packed list answers as an array does, whatever the sequence of operations', async (t) => {
  const mismatches: string[] = []
  for (let seed = 1; seed <= 8; seed++) {
    const r = new Prng(seed)
    const list = new ListValue()
    let model: string[] = []
    let bytes = 0
    for (let step = 0; step < 3000 && mismatches.length === 0; step++) {
      const op = r.int(10)
      if (op < 3) { const e = element(r); list.pushBack(e); model.push(e); bytes += 4 + e.length }
      else if (op < 5) { const e = element(r); list.pushFront(e); model.unshift(e); bytes += 4 + e.length }
      else if (op === 5) { const got = list.popFront(); const want = model.shift(); if (want !== undefined) bytes -= 4 + want.length; if (got !== want) mismatches.push(`seed ${seed} step ${step}: popFront`) }
      else if (op === 6) { const got = list.popBack(); const want = model.pop(); if (want !== undefined) bytes -= 4 + want.length; if (got !== want) mismatches.push(`seed ${seed} step ${step}: popBack`) }
      else if (op === 7 && model.length > 0) { const i = r.int(model.length); const e = element(r); bytes += e.length - (model[i] as string).length; list.setAt(i, e); model[i] = e }
      else if (op === 8 && model.length > 0) { const i = r.int(model.length); if (list.at(i) !== model[i]) mismatches.push(`seed ${seed} step ${step}: at(${i})`) }
      else if (op === 9 && r.chance(0.05)) { model = model.filter(() => r.chance(0.7)); list.replace(model); bytes = model.reduce((n, e) => n + 4 + e.length, 0) }
      if (list.size !== model.length || list.itemsBytes !== bytes) mismatches.push(`seed ${seed} step ${step}: size ${list.size}/${model.length}, bytes ${list.itemsBytes}/${bytes}`)
    }
    if (JSON.stringify(list.toArray()) !== JSON.stringify(model)) mismatches.push(`seed ${seed}: contents`)
    if (JSON.stringify(list.clone().toArray()) !== JSON.stringify(model)) mismatches.push(`seed ${seed}: clone`)
  }
  t.same(mismatches, [])
})

t.test('a range read as bytes is the array slice, and stays so when the list changes', async (t) => {
  const mismatches: string[] = []
  for (let seed = 1; seed <= 8; seed++) {
    const r = new Prng(seed)
    const list = new ListValue()
    const model: string[] = []
    for (let step = 0; step < 2000 && mismatches.length === 0; step++) {
      const e = element(r)
      if (r.chance(0.5)) { list.pushBack(e); model.push(e) } else { list.pushFront(e); model.unshift(e) }
      if (step % 20 !== 0) continue
      const start = r.int(model.length + 1)
      const end = start + r.int(model.length - start + 1)
      const range = list.bytesRange(start, end)
      const want = model.slice(start, end)
      const got = (): string[] => range.map((b) => b.toString('latin1'))
      if (JSON.stringify(got()) !== JSON.stringify(want)) mismatches.push(`seed ${seed} step ${step}: range [${start}, ${end})`)
      // Writes that move bytes inside the chunks the range was read from.
      list.pushFront('moved')
      model.unshift('moved')
      if (model.length > 1) { list.setAt(1, 'overwritten'); model[1] = 'overwritten' }
      if (JSON.stringify(got()) !== JSON.stringify(want)) mismatches.push(`seed ${seed} step ${step}: range [${start}, ${end}) changed with the list`)
    }
  }
  t.same(mismatches, [])
})
