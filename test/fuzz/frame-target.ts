// Fuzz target for the peer wire: valid frames of every message type, and
// handshake frames, mutated and fed through the frame decoder in random
// chunks, then to the Avro decoders and the listener's handshake. The only
// outcomes allowed are a message, a FrameError or a WireDecodeError, and a
// refusal from the handshake: nothing throws, nothing is held beyond the
// frame limit.
import { randomBytes } from 'node:crypto'
import { FrameDecoder, FrameError, encodeFrame } from '../../lib/transport/frame-codec.js'
import { HANDSHAKE_FRAME_BYTES_MAX, ListenerHandshake, NONCE_BYTES, PROTOCOL_VERSION, handshakeCodec } from '../../lib/transport/handshake.js'
import { WIRE_MESSAGE_TYPES, WireDecodeError, decodeWireMessage, encodeWireFrame } from '../../lib/transport/wire-codec.js'
import { Prng } from '../../lib/util/prng.js'
import { WireGen } from '../transport/fixtures/wire-gen.js'
import { type FuzzResult, caseSeed, fail, newResult } from './fuzz-result.js'
import { chunks, runCases } from './fuzz-loop.js'

const FRAME_BYTES_MAX = 1024 * 1024

function seedStream(seed: number, rng: Prng): Buffer {
  const gen = new WireGen(seed)
  const frames: Buffer[] = []
  for (let n = 1 + rng.int(3); n > 0; n--) frames.push(encodeWireFrame(gen.message(rng.pick(WIRE_MESSAGE_TYPES))))
  return Buffer.concat(frames)
}

function helloFrame(rng: Prng): Buffer {
  return handshakeCodec.encodeFrame({
    type: 'Hello',
    protocolVersion: PROTOCOL_VERSION,
    clusterId: rng.pick(['cluster-a', '', 'other']),
    fromId: rng.pick(['n1', 'n2', 'bad id', '']),
    toId: rng.pick(['n1', '']),
    nonce: randomBytes(NONCE_BYTES),
  })
}

function decodeMessages(result: FuzzResult, seed: number, i: number, input: Buffer, rng: Prng): void {
  const decoder = new FrameDecoder(FRAME_BYTES_MAX)
  for (const chunk of chunks(rng, input, 5)) {
    const frames = decoder.push(chunk)
    if (frames instanceof FrameError) return
    if (decoder.bufferedBytes() > FRAME_BYTES_MAX + 4) fail(result, seed, i, 'decoder holds more than a frame', input)
    for (const payload of frames) {
      try {
        decodeWireMessage(payload)
      } catch (error) {
        if (!(error instanceof WireDecodeError)) fail(result, seed, i, `decode threw ${String(error)}`, input)
      }
    }
  }
}

function handshakeOnce(result: FuzzResult, seed: number, i: number, input: Buffer, rng: Prng): void {
  const decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX)
  const listener = new ListenerHandshake({ selfId: 'n1', clusterId: 'cluster-a', secret: 'fuzz-secret', nonce: randomBytes(NONCE_BYTES) })
  for (const chunk of chunks(rng, input, 5)) {
    const frames = decoder.push(chunk)
    if (frames instanceof FrameError) return
    for (const payload of frames) {
      const step = listener.receive(payload)
      if (step.kind === 'done') fail(result, seed, i, 'a mutated handshake was accepted', input)
      if (step.kind === 'refused') return
    }
  }
}

export function fuzzPeerFrames(seed: number, cases: number): FuzzResult {
  const result = newResult('peer-frames', cases)
  runCases(result, seed, cases, ({ index: i, rng, mutator }) => {
    try {
      if (rng.chance(0.3)) {
        // A Hello and a forged Proof (no secret): mutated, they must still never authenticate.
        const proof = handshakeCodec.encodeFrame({ type: 'Proof', mac: randomBytes(32) })
        const input = mutator.mutate(Buffer.concat([helloFrame(rng), proof]))
        handshakeOnce(result, seed, i, input, rng)
      } else {
        const input = rng.chance(0.05) ? mutator.noise(4096) : rng.chance(0.1) ? encodeFrame(mutator.noise(512)) : mutator.mutate(seedStream(caseSeed(seed, i), rng))
        decodeMessages(result, seed, i, input, rng)
      }
    } catch (error) {
      fail(result, seed, i, `threw ${String(error)}`, Buffer.alloc(0))
    }
  })
  return result
}
