import t from 'tap'
import { copyFromView, copyIntoView, copyViewToView } from '../../lib/codec/byte-copy.js'

/** A slab-like buffer of its own, with its DataView, filled with a pattern. */
function slab(bytes: number, seed: number): { buf: Buffer; view: DataView } {
  const buf = Buffer.allocUnsafeSlow(bytes)
  for (let i = 0; i < bytes; i++) buf[i] = (i * 31 + seed) & 0xff
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.length) }
}

/** A Buffer that is a view in the middle of a larger one, as frames and pooled Buffers are. */
function window(bytes: number, seed: number): Buffer {
  const outer = Buffer.alloc(bytes + 16, 0xee)
  for (let i = 0; i < bytes; i++) outer[8 + i] = (i * 17 + seed) & 0xff
  return outer.subarray(8, 8 + bytes)
}

/** Calls `check` for every length 0–40 (the word loop and its tail) at every alignment of both sides; the cases checked. */
function everyLengthAndAlignment(check: (length: number, from: number, to: number) => boolean): number {
  let checked = 0
  for (let length = 0; length <= 40; length++) {
    for (let from = 0; from < 4; from++) {
      for (let to = 0; to < 4; to++) {
        if (!check(length, from, to)) throw new Error(`length ${length}, from ${from}, to ${to}`)
        checked++
      }
    }
  }
  return checked
}

t.test('copyIntoView writes exactly the bytes Buffer#copy would, for every length and alignment', async (t) => {
  const checked = everyLengthAndAlignment((length, from, to) => {
    const source = window(48, length)
    const got = slab(64, 1)
    const want = slab(64, 1)
    copyIntoView(source, from, length, got.view, to + 3)
    source.copy(want.buf, to + 3, from, from + length)
    return got.buf.equals(want.buf)
  })
  t.equal(checked, 41 * 16)
})

t.test('copyFromView writes exactly the bytes Buffer#copy would, for every length and alignment', async (t) => {
  const checked = everyLengthAndAlignment((length, from, to) => {
    const source = slab(64, length)
    const got = window(48, 2)
    const want = Buffer.from(got)
    copyFromView(source.view, from + 5, length, got, to)
    source.buf.copy(want, to, from + 5, from + 5 + length)
    return got.equals(want)
  })
  t.equal(checked, 41 * 16)
})

t.test('copyViewToView writes exactly the bytes Buffer#copy would, for every length and alignment', async (t) => {
  const checked = everyLengthAndAlignment((length, from, to) => {
    const source = slab(64, length)
    const got = window(48, 2)
    const want = Buffer.from(got)
    copyViewToView(source.view, from + 5, length, new DataView(got.buffer, got.byteOffset, got.length), to)
    source.buf.copy(want, to, from + 5, from + 5 + length)
    return got.equals(want)
  })
  t.equal(checked, 41 * 16)
})

t.test('bytes with the high bit set survive both ways (no sign or NaN games)', async (t) => {
  const source = Buffer.from([0xff, 0x80, 0x7f, 0x00, 0xfe, 0xff, 0xff, 0x7f, 0x01, 0xff, 0xf0])
  const s = slab(16, 0)
  copyIntoView(source, 0, source.length, s.view, 1)
  t.same(s.buf.subarray(1, 1 + source.length), source)
  const back = Buffer.alloc(source.length)
  copyFromView(s.view, 1, source.length, back, 0)
  t.same(back, source)
  const viewed = Buffer.alloc(source.length + 3)
  copyViewToView(s.view, 1, source.length, new DataView(viewed.buffer, viewed.byteOffset, viewed.length), 3)
  t.same(viewed.subarray(3), source)
})

t.test('a range past the Buffer side is refused, not cut short or read from its neighbours', async (t) => {
  const source = window(10, 0)
  const s = slab(32, 0)
  const before = Buffer.from(s.buf)
  t.throws(() => copyIntoView(source, 4, 7, s.view, 0), RangeError)
  t.throws(() => copyIntoView(source, -1, 2, s.view, 0), RangeError)
  t.same(s.buf, before, 'nothing written')
  const target = window(10, 0)
  const targetBefore = Buffer.from(target.buffer as ArrayBuffer, target.byteOffset - 8, 26)
  t.throws(() => copyFromView(s.view, 0, 11, target, 0), RangeError)
  t.throws(() => copyFromView(s.view, 0, 3, target, 8), RangeError)
  t.same(Buffer.from(target.buffer as ArrayBuffer, target.byteOffset - 8, 26), targetBefore, 'nothing written, the neighbours included')
})

t.test('a range past the view is refused before a byte is written', async (t) => {
  const s = slab(16, 0)
  const before = Buffer.from(s.buf)
  t.throws(() => copyIntoView(Buffer.alloc(8), 0, 8, s.view, 12), RangeError)
  t.same(s.buf, before)
  const target = Buffer.alloc(8, 0xaa)
  t.throws(() => copyFromView(s.view, 12, 8, target, 0), RangeError)
  t.same(target, Buffer.alloc(8, 0xaa))
  const targetView = new DataView(target.buffer, target.byteOffset, target.length)
  t.throws(() => copyViewToView(s.view, 12, 8, targetView, 0), RangeError, 'source range past its view')
  t.throws(() => copyViewToView(s.view, 0, 8, targetView, 1), RangeError, 'target range past its view')
  t.same(target, Buffer.alloc(8, 0xaa))
})
