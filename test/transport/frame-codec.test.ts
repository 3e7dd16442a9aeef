import t from 'tap'
import { FRAME_HEADER_BYTES, FrameDecoder, FrameError, encodeFrame } from '../../lib/transport/frame-codec.js'
import { Prng } from '../../lib/util/prng.js'

function payloads(prng: Prng, count: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const p = Buffer.alloc(1 + prng.int(prng.chance(0.1) ? 5000 : 40))
    for (let j = 0; j < p.length; j++) p[j] = prng.int(256)
    out.push(p)
  }
  return out
}

function splitAt(prng: Prng, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = []
  let pos = 0
  while (pos < stream.length) {
    const size = prng.chance(0.3) ? 1 + prng.int(3) : 1 + prng.int(200)
    chunks.push(stream.subarray(pos, pos + size))
    pos += size
  }
  return chunks
}

t.test('frames survive arbitrary chunk splits (seeded, 300 streams)', async (t) => {
  const prng = new Prng(1234)
  for (let round = 0; round < 300; round++) {
    const sent = payloads(prng, 1 + prng.int(20))
    const stream = Buffer.concat(sent.map(encodeFrame))
    const decoder = new FrameDecoder(1 << 20)
    const received: Buffer[] = []
    for (const chunk of splitAt(prng, stream)) {
      const out = decoder.push(chunk)
      if (out instanceof FrameError) {
        t.fail(out.message)
        return
      }
      received.push(...out.map((p) => Buffer.from(p)))
    }
    if (received.length !== sent.length || !received.every((p, i) => p.equals(sent[i] as Buffer))) {
      t.fail(`round ${round}: frames differ`)
      return
    }
    t.equal(decoder.bufferedBytes(), 0)
  }
})

t.test('a whole stream in one chunk yields every frame', async (t) => {
  const sent = [Buffer.from('a'), Buffer.from('bc'), Buffer.from('def')]
  const out = new FrameDecoder().push(Buffer.concat(sent.map(encodeFrame)))
  t.same(out, sent)
})

t.test('an oversize length is refused before any allocation', async (t) => {
  const decoder = new FrameDecoder(1024)
  const allocated: number[] = []
  const original = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe }
  Buffer.allocUnsafe = ((size: number) => (allocated.push(size), original.allocUnsafe(size))) as typeof Buffer.allocUnsafe
  Buffer.alloc = ((size: number, ...rest: []) => (allocated.push(size), original.alloc(size, ...rest))) as typeof Buffer.alloc
  let out: Buffer[] | FrameError
  try {
    // Header split across two chunks, then some payload bytes.
    decoder.push(Buffer.from([0xff, 0xff]))
    out = decoder.push(Buffer.from([0xff, 0xf0, 1, 2, 3]))
  } finally {
    Buffer.allocUnsafe = original.allocUnsafe
    Buffer.alloc = original.alloc
  }
  t.ok(out instanceof FrameError && out.code === 'ERR_FRAME_TOO_LARGE')
  t.same(allocated.filter((size) => size > 1024), [], 'nothing large allocated')
  t.equal(decoder.bufferedBytes(), 0)
})

t.test('a length just at the maximum is accepted', async (t) => {
  const decoder = new FrameDecoder(8)
  const out = decoder.push(encodeFrame(Buffer.alloc(8, 1)))
  t.ok(Array.isArray(out) && out.length === 1)
})

t.test('an empty frame is an error', async (t) => {
  const out = new FrameDecoder().push(Buffer.alloc(FRAME_HEADER_BYTES))
  t.ok(out instanceof FrameError && out.code === 'ERR_FRAME_EMPTY')
})

t.test('after an error the decoder stays failed', async (t) => {
  const decoder = new FrameDecoder(4)
  t.ok(decoder.push(encodeFrame(Buffer.alloc(5))) instanceof FrameError)
  t.ok(decoder.push(encodeFrame(Buffer.alloc(1))) instanceof FrameError)
})

t.test('a half frame is held, not delivered', async (t) => {
  const decoder = new FrameDecoder()
  const frame = encodeFrame(Buffer.from('hello world'))
  t.same(decoder.push(frame.subarray(0, 7)), [])
  t.equal(decoder.bufferedBytes(), 3)
  t.same(decoder.push(frame.subarray(7)), [Buffer.from('hello world')])
})
