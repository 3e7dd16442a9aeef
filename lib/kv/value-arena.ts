// Small string values held in slabs: one large Buffer holds many values, so a
// write that replaces a value copies bytes instead of allocating a V8 string
// that survives a scavenge, and a replaced value is no garbage at all.
//
// Values are sorted by size into classes (8-byte steps up to 128 bytes, then
// about ×1.25 up to 4 KiB, each a multiple of 16): a 100-byte value and its
// prefix take a 104-byte slot, where its V8 string took 120 bytes. A class owns slabs of a
// power-of-two number of fixed slots (each slab 128–256 KiB) and a stack of
// free slots. A slot starts with the value's length (u16 little-endian), then
// its bytes. A value is named by a handle, a small integer (a Smi in V8):
// the slot number times 32 plus the class. Rewriting a value of the same
// class reuses its slot; otherwise the slot goes back to its class's stack.
//
// Slabs are not given back one by one when they empty: a slot is found again
// only through its class's free stack, so releasing a slab would mean
// sweeping its slots out of the stack. Freed slots are reused first (the
// stack is last in, first out), and clear() (FLUSHALL) drops every slab.
//
// An owner may reserve a tag of `tagBytes` (0 or 6) after the length prefix:
// a number up to 2^48 it keeps with the value (the keyspace keeps a key's
// WATCH version there, so a key needs no object of its own). The tag counts
// toward the slot's size.
//
// Only the keyspace that owns an arena uses its handles. The layout is local:
// two replicas with the same history may place values differently, and no
// snapshot or reply depends on where a value is.

import { assert, fail } from '../util/assert.js'
import { WORD_COPY_BYTES_MAX, copyFromView, copyIntoView, copyViewToView } from '../codec/byte-copy.js'
import { writeLatin1 } from '../codec/latin1-text.js'

/** Bytes of the length prefix in a slot. */
const LENGTH_BYTES = 2
/** The largest slot; a value must fit with its length prefix. */
const SLOT_BYTES_MAX = 4096
/** Values longer than this are not held in an arena. */
export const ARENA_VALUE_BYTES_MAX = SLOT_BYTES_MAX - LENGTH_BYTES
/** A slab holds at most this many bytes (and at least half of it). */
const SLAB_BYTES_MAX = 256 * 1024
/** Strings up to this long are written char by char rather than by a native call (writeLatin1). */
const SHORT_COPY_BYTES = 32
/** Handles keep the class in their low bits. */
const CLASS_BITS = 5
const CLASS_MASK = (1 << CLASS_BITS) - 1
/** Slots per class, so that a handle stays below 2^30 (a Smi even with pointer compression). */
export const ARENA_SLOTS_PER_CLASS_MAX = 1 << (30 - CLASS_BITS)

/** The slot sizes of the classes, smallest first. */
export const ARENA_SLOT_BYTES: readonly number[] = (() => {
  const sizes: number[] = []
  for (let s = 8; s <= 128; s += 8) sizes.push(s)
  let s = 128
  while (s < SLOT_BYTES_MAX) {
    s = Math.min(SLOT_BYTES_MAX, Math.ceil((s * 1.25) / 16) * 16)
    sizes.push(s)
  }
  return sizes
})()
assert(ARENA_SLOT_BYTES.length <= CLASS_MASK + 1, 'value arena: too many classes for the handle bits')

/** The class for a slot of `bytes` (prefix included), by bytes / 8 rounded up. */
const CLASS_BY_EIGHTHS: Uint8Array = (() => {
  const table = new Uint8Array(SLOT_BYTES_MAX / 8 + 1)
  let c = 0
  for (let i = 0; i < table.length; i++) {
    while ((ARENA_SLOT_BYTES[c] as number) < i * 8) c++
    table[i] = c
  }
  return table
})()

/** The class of a value of `length` bytes (at most ARENA_VALUE_BYTES_MAX) in an arena without tags. */
export function arenaClassOf(length: number): number {
  return CLASS_BY_EIGHTHS[(length + LENGTH_BYTES + 7) >>> 3] as number
}

/** Bytes of a tag (ValueArena's `tagBytes`): 48 bits, written as a u32 and a u16. */
export const ARENA_TAG_BYTES = 6
/** Where a value starts in its slot of an arena with tags: the length prefix and the tag. */
export const ARENA_PREFIX_BYTES = LENGTH_BYTES + ARENA_TAG_BYTES
const TAG_HIGH_UNIT = 2 ** 32

class SizeClass {
  readonly slabs: Buffer[] = []
  /** A DataView of each slab, made with it: short values are copied through it (byte-copy.ts). */
  readonly views: DataView[] = []
  /** Slots ever handed out; slots below it are in use or on the free stack. */
  slotsMade = 0
  free = new Int32Array(64)
  freeCount = 0
  readonly slotsPerSlabLog2: number
  readonly slotMask: number

  constructor(readonly slotBytes: number) {
    this.slotsPerSlabLog2 = Math.floor(Math.log2(SLAB_BYTES_MAX / slotBytes))
    this.slotMask = (1 << this.slotsPerSlabLog2) - 1
  }
}

export class ValueArena {
  /** The longest value this arena holds: a slot less the prefix and the tag. */
  readonly valueBytesMax: number
  /** Where a value's bytes start in its slot. */
  private readonly dataOffset: number
  private classes: SizeClass[] = ARENA_SLOT_BYTES.map((bytes) => new SizeClass(bytes))
  /** The sum of the lengths of the values held. */
  valueBytes = 0
  /** The bytes of every slab allocated (held values, their prefixes, free and unused slots). */
  slabBytes = 0
  /** Values held. */
  count = 0

  /** `tagBytes`: 0, or ARENA_TAG_BYTES to keep a tag with each value (setTag, tag). */
  constructor(readonly tagBytes: 0 | typeof ARENA_TAG_BYTES = 0) {
    this.valueBytesMax = ARENA_VALUE_BYTES_MAX - tagBytes
    this.dataOffset = LENGTH_BYTES + tagBytes
  }

  /** The class of a value of `length` bytes (at most valueBytesMax). */
  private classOf(length: number): number {
    return CLASS_BY_EIGHTHS[(length + this.dataOffset + 7) >>> 3] as number
  }

  /** The size of the slot `handle` names (its class's). */
  slotBytesOf(handle: number): number {
    return ARENA_SLOT_BYTES[handle & CLASS_MASK] as number
  }

  /** Keeps `value` (an integer in [0, 2^48)) as the tag of `handle`'s value. */
  setTag(handle: number, value: number): void {
    if (this.tagBytes !== ARENA_TAG_BYTES || !(value >= 0 && value < 2 ** 48) || !Number.isInteger(value)) fail(`value arena: tag ${value} not held (tagBytes ${this.tagBytes})`)
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    const slab = c.slabs[slot >>> c.slotsPerSlabLog2] as Buffer
    const at = (slot & c.slotMask) * c.slotBytes + LENGTH_BYTES
    const high = Math.floor(value / TAG_HIGH_UNIT)
    slab.writeUInt32LE(value - high * TAG_HIGH_UNIT, at)
    slab.writeUInt16LE(high, at + 4)
  }

  /** The tag setTag kept with `handle`'s value. */
  tag(handle: number): number {
    assert(this.tagBytes === ARENA_TAG_BYTES, 'value arena: no tags in this arena')
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    const slab = c.slabs[slot >>> c.slotsPerSlabLog2] as Buffer
    const at = (slot & c.slotMask) * c.slotBytes + LENGTH_BYTES
    return slab.readUInt32LE(at) + slab.readUInt16LE(at + 4) * TAG_HIGH_UNIT
  }

  /** Stores `src[start, end)`; the handle, or -1 if it does not fit (too long, or its class is full). */
  allocBytes(src: Buffer, start: number, end: number): number {
    const length = end - start
    if (length > this.valueBytesMax) return -1
    const handle = this.alloc(this.classOf(length))
    if (handle >= 0) this.writeBytes(handle, src, start, length)
    return handle
  }

  /** Stores a latin1 string's bytes (one per char); -1 as for allocBytes. */
  allocString(value: string): number {
    const length = value.length
    if (length > this.valueBytesMax) return -1
    const handle = this.alloc(this.classOf(length))
    if (handle >= 0) this.writeString(handle, value)
    return handle
  }

  /**
   * Replaces the value at `handle`, `oldLength` bytes long, with
   * `src[start, end)`: in its slot when the class is the same, else in a new
   * slot (the old one is freed). The new handle, or -1 (the old value is
   * freed all the same).
   *
   * The caller says how long the old value is (the keyspace keeps it next to
   * the handle) because the slot is cold by then: reading its length prefix
   * waited on a cache miss, where writing the new bytes does not.
   */
  rewriteBytes(handle: number, oldLength: number, src: Buffer, start: number, end: number): number {
    const length = end - start
    if (length <= this.valueBytesMax && this.classOf(length) === (handle & CLASS_MASK)) {
      this.valueBytes -= oldLength
      this.writeBytes(handle, src, start, length)
      return handle
    }
    this.free(handle, oldLength)
    return this.allocBytes(src, start, end)
  }

  /** rewriteBytes for a latin1 string. */
  rewriteString(handle: number, oldLength: number, value: string): number {
    const length = value.length
    if (length <= this.valueBytesMax && this.classOf(length) === (handle & CLASS_MASK)) {
      this.valueBytes -= oldLength
      this.writeString(handle, value)
      return handle
    }
    this.free(handle, oldLength)
    return this.allocString(value)
  }

  /** Frees the slot; `length` is the value's length, read from the slot unless the caller knows it. */
  free(handle: number, length: number = this.length(handle)): void {
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    this.valueBytes -= length
    this.count--
    if (c.freeCount === c.free.length) {
      const grown = new Int32Array(c.free.length * 2)
      grown.set(c.free)
      c.free = grown
    }
    c.free[c.freeCount++] = slot
  }

  /** The value's length in bytes. */
  length(handle: number): number {
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    const slab = c.slabs[slot >>> c.slotsPerSlabLog2] as Buffer
    const at = (slot & c.slotMask) * c.slotBytes
    return (slab[at] as number) | ((slab[at + 1] as number) << 8)
  }

  /** The value as a latin1 string (a new string each call). */
  string(handle: number): string {
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    const slab = c.slabs[slot >>> c.slotsPerSlabLog2] as Buffer
    const at = (slot & c.slotMask) * c.slotBytes
    const length = (slab[at] as number) | ((slab[at + 1] as number) << 8)
    const from = at + this.dataOffset
    return slab.toString('latin1', from, from + length)
  }

  /**
   * Copies the value's bytes to `target` at `targetStart`; the bytes copied.
   * `targetView`, when given, views `target` from its first byte (a caller
   * writing into one buffer again and again makes it once).
   */
  copy(handle: number, target: Buffer, targetStart: number, targetView: DataView | null = null): number {
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    const slab = c.slabs[slot >>> c.slotsPerSlabLog2] as Buffer
    const at = (slot & c.slotMask) * c.slotBytes
    const length = (slab[at] as number) | ((slab[at + 1] as number) << 8)
    this.copyOut(c, slot, at + this.dataOffset, length, target, targetStart, targetView)
    return length
  }

  /**
   * Copies the value, whose `length` the caller knows, to `target` at
   * `targetStart` and answers its tag: one visit to the slot for both.
   * `targetView` as for copy.
   */
  copyTagged(handle: number, length: number, target: Buffer, targetStart: number, targetView: DataView | null = null): number {
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    this.copyOut(c, slot, (slot & c.slotMask) * c.slotBytes + this.dataOffset, length, target, targetStart, targetView)
    return this.tag(handle)
  }

  /** The value's bytes in a new Buffer of their own. */
  buffer(handle: number): Buffer {
    const out = Buffer.allocUnsafe(this.length(handle))
    this.copy(handle, out, 0)
    return out
  }

  /** Forgets every value and drops every slab (their memory goes at the next GC). */
  clear(): void {
    this.classes = ARENA_SLOT_BYTES.map((bytes) => new SizeClass(bytes))
    this.valueBytes = 0
    this.slabBytes = 0
    this.count = 0
  }

  /** A free slot of class `index` (a new slab if none is left); -1 when the class is full. */
  private alloc(index: number): number {
    const c = this.classes[index] as SizeClass
    let slot: number
    if (c.freeCount > 0) slot = c.free[--c.freeCount] as number
    else {
      if (c.slotsMade === ARENA_SLOTS_PER_CLASS_MAX) return -1
      slot = c.slotsMade++
      if (slot >>> c.slotsPerSlabLog2 === c.slabs.length) {
        // allocUnsafeSlow: a slab of its own, outside Node's shared pool; only written bytes are ever read.
        const bytes = c.slotBytes << c.slotsPerSlabLog2
        const slab = Buffer.allocUnsafeSlow(bytes)
        c.slabs.push(slab)
        c.views.push(new DataView(slab.buffer, slab.byteOffset, slab.length))
        this.slabBytes += bytes
      }
    }
    this.count++
    return (slot << CLASS_BITS) | index
  }

  private writeBytes(handle: number, src: Buffer, start: number, length: number): void {
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    const slab = c.slabs[slot >>> c.slotsPerSlabLog2] as Buffer
    const at = (slot & c.slotMask) * c.slotBytes
    slab[at] = length & 0xff
    slab[at + 1] = length >>> 8
    const to = at + this.dataOffset
    if (length <= WORD_COPY_BYTES_MAX) copyIntoView(src, start, length, c.views[slot >>> c.slotsPerSlabLog2] as DataView, to)
    else src.copy(slab, to, start, start + length)
    this.valueBytes += length
  }

  /** Copies `length` bytes at `from` in `slot`'s slab to `target` at `targetStart`. */
  private copyOut(c: SizeClass, slot: number, from: number, length: number, target: Buffer, targetStart: number, targetView: DataView | null): void {
    const slabIndex = slot >>> c.slotsPerSlabLog2
    if (length > WORD_COPY_BYTES_MAX) (c.slabs[slabIndex] as Buffer).copy(target, targetStart, from, from + length)
    else if (targetView !== null) copyViewToView(c.views[slabIndex] as DataView, from, length, targetView, targetStart)
    else copyFromView(c.views[slabIndex] as DataView, from, length, target, targetStart)
  }

  private writeString(handle: number, value: string): void {
    const c = this.classes[handle & CLASS_MASK] as SizeClass
    const slot = handle >>> CLASS_BITS
    const slab = c.slabs[slot >>> c.slotsPerSlabLog2] as Buffer
    const at = (slot & c.slotMask) * c.slotBytes
    const length = value.length
    slab[at] = length & 0xff
    slab[at + 1] = length >>> 8
    const to = at + this.dataOffset
    writeLatin1(slab, to, value, SHORT_COPY_BYTES)
    this.valueBytes += length
  }
}
