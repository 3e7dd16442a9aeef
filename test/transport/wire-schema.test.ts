// Decoded records become plain objects through a copier generated per record
// type: the same fields, in schema order, as a loop over the names gave.
import t from 'tap'
import { FRAME_HEADER_BYTES } from '../../lib/transport/frame-codec.js'
import { decodeWireMessage, encodeWireFrame } from '../../lib/transport/wire-codec.js'
import { plainRecordCopier } from '../../lib/transport/wire-schema.js'

t.test('a message record is copied with its type tag first, then every field in schema order', async (t) => {
  const copy = plainRecordCopier('Hello', ['b', 'a', 'c'])
  const out = copy({ c: 3, a: 1, b: 2, ignored: 9 })
  t.same(Object.keys(out), ['type', 'b', 'a', 'c'])
  t.same(out, { type: 'Hello', b: 2, a: 1, c: 3 })
})

t.test('a plain record gets no type tag', async (t) => {
  t.same(Object.keys(plainRecordCopier(null, ['x', 'y'])({ x: 1, y: 2 })), ['x', 'y'])
})

t.test('clockMs 0 decodes as absent, any other value is kept in its place', async (t) => {
  const copy = plainRecordCopier('AppendResp', ['from', 'clockMs'])
  t.same(Object.keys(copy({ from: 'n1', clockMs: 0 })), ['type', 'from'])
  t.same(copy({ from: 'n1', clockMs: 1_700_000_000_000 }), { type: 'AppendResp', from: 'n1', clockMs: 1_700_000_000_000 })
})

t.test('fields after clockMs keep their order', async (t) => {
  const copy = plainRecordCopier(null, ['a', 'clockMs', 'b', 'c'])
  t.same(Object.keys(copy({ a: 1, clockMs: 5, b: 2, c: 3 })), ['a', 'clockMs', 'b', 'c'])
  t.same(Object.keys(copy({ a: 1, clockMs: 0, b: 2, c: 3 })), ['a', 'b', 'c'])
})

t.test('field names are quoted, not spliced into the generated code', async (t) => {
  const name = 'x"]; globalThis.injected = 1; v["'
  const out = plainRecordCopier(null, [name])({ [name]: 7 })
  t.equal(out[name], 7)
  t.notOk('injected' in globalThis)
})

t.test('a decoded AppendResp has the type and the schema fields, in order, and nothing else', async (t) => {
  const msg = { type: 'AppendResp', from: 'n2', to: 'n1', term: 3, reject: false, index: 42, hintIndex: 0, hintTerm: 0, fromIncarnation: 'a', toIncarnation: 'b', clockMs: 1_700_000_000_123 } as const
  const back = decodeWireMessage(encodeWireFrame(msg).subarray(FRAME_HEADER_BYTES))
  t.same(Object.keys(back), Object.keys(msg))
  t.same(back, msg)
})
