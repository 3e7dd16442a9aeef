// lookupCommand: a command name is found whatever its case, short names
// (packed into a number) and long ones (by string) alike, and nothing else is.
import t from 'tap'
import { allCommands, lookupCommand } from '../../lib/server/resp/command-table.js'

function mixedCase(name: string): string {
  return [...name].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join('')
}

t.test('every command is found by its name in lower, upper and mixed case', async (t) => {
  let checked = 0
  for (const spec of allCommands()) {
    for (const form of [spec.name, spec.name.toUpperCase(), mixedCase(spec.name)]) {
      if (lookupCommand(Buffer.from(form, 'latin1')) !== spec) t.fail(`${form} does not find ${spec.name}`)
      checked++
    }
  }
  t.ok(checked > 300, `${checked} names checked`)
})

t.test('names that differ from a command by a byte, a length or a non-ASCII letter are not found', async (t) => {
  for (const name of ['', 's', 'se', 'sets', 'sex', 'get\0', '\0get', 'gét', 'GÉT', 'sEt ', 'incrbyfloa', 'incrbyfloatt', 'x'.repeat(33), 'zunionstor', 'ping\n']) {
    t.equal(lookupCommand(Buffer.from(name, 'latin1')), undefined, JSON.stringify(name))
  }
})

t.test('only ASCII capitals fold: a Latin-1 capital or a byte next to the capitals does not', async (t) => {
  t.equal(lookupCommand(Buffer.from([0xd3, 0x45, 0x54])), undefined, '"ÓET" (0xd3 folds to 0xf3, not to "s")')
  t.equal(lookupCommand(Buffer.from([0x40, 0x45, 0x54])), undefined, '"@ET"')
  t.equal(lookupCommand(Buffer.from('SeT', 'latin1'))?.name, 'set')
})
