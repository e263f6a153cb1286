// A fixed-size bit field of open work items, in the wire layout of the `bitfield` message.

import { MAX_ITEMS } from './messages.ts'

/** Bytes needed for `size` bits. */
export function bitfieldBytes(size: number): number {
  return Math.ceil(size / 8)
}

/**
 * Why `bytes` is not the wire form of a `size`-bit field, or null when it is: exactly
 * ceil(size / 8) bytes, and the unused high bits of the last byte zero (one field, one encoding).
 */
export function bitfieldBytesProblem(bytes: Uint8Array, size: number): string | null {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ITEMS)
    return `size ${size} is not an integer in 0..${MAX_ITEMS}`
  const expected = bitfieldBytes(size)
  if (bytes.byteLength !== expected)
    return `${bytes.byteLength} bytes for ${size} bits; expected ${expected}`
  const spare = expected * 8 - size
  if (spare > 0 && (bytes[expected - 1]! & ~(0xff >>> spare) & 0xff) !== 0)
    return `bits past ${size} are set in the last byte`
  return null
}

const POPCOUNT = new Uint8Array(256)
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!

/**
 * Bit i lives in byte i >> 3 under mask 1 << (i & 7) (LSB-first). A set bit means item i is
 * still open.
 */
export class Bitfield {
  readonly size: number
  readonly #bytes: Uint8Array

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ITEMS)
      throw new RangeError(`bit field size ${size} is not an integer in 0..${MAX_ITEMS}`)
    this.size = size
    this.#bytes = new Uint8Array(bitfieldBytes(size))
  }

  /** A field of `size` bits, all set: every item open. */
  static allOpen(size: number): Bitfield {
    const field = new Bitfield(size)
    field.#bytes.fill(0xff)
    const spare = field.#bytes.length * 8 - size
    if (spare > 0) field.#bytes[field.#bytes.length - 1] = 0xff >>> spare
    return field
  }

  /** Reads the wire form; throws RangeError unless `bytes` is exactly that of a `size`-bit field. */
  static fromBytes(bytes: Uint8Array, size: number): Bitfield {
    const problem = bitfieldBytesProblem(bytes, size)
    if (problem) throw new RangeError(`not a bit field: ${problem}`)
    const field = new Bitfield(size)
    field.#bytes.set(bytes)
    return field
  }

  /** The wire form: a copy, ceil(size / 8) bytes. */
  toBytes(): Uint8Array {
    return this.#bytes.slice()
  }

  get(index: number): boolean {
    this.#check(index)
    return (this.#bytes[index >> 3]! & (1 << (index & 7))) !== 0
  }

  set(index: number): void {
    this.#check(index)
    this.#bytes[index >> 3]! |= 1 << (index & 7)
  }

  clear(index: number): void {
    this.#check(index)
    this.#bytes[index >> 3]! &= ~(1 << (index & 7))
  }

  /** Number of set bits. */
  count(): number {
    let n = 0
    for (const byte of this.#bytes) n += POPCOUNT[byte]!
    return n
  }

  /** Indexes of the set bits, ascending. */
  ones(): number[] {
    const out: number[] = []
    for (let b = 0; b < this.#bytes.length; b++) {
      let byte = this.#bytes[b]!
      while (byte !== 0) {
        const low = byte & -byte
        out.push(b * 8 + (31 - Math.clz32(low)))
        byte ^= low
      }
    }
    return out
  }

  /**
   * A set bit chosen uniformly at random, skipping those also set in `exclude` (a field of the
   * same size, e.g. the items this prover already works on); undefined when none is left.
   * `rng` returns a number in [0, 1), like Math.random.
   */
  pickRandom(rng: () => number, exclude?: Bitfield): number | undefined {
    if (exclude && exclude.size !== this.size)
      throw new RangeError(`exclude has ${exclude.size} bits; this field has ${this.size}`)
    const other = exclude ? exclude.#bytes : undefined
    const byteAt = (b: number): number => (other ? this.#bytes[b]! & ~other[b]! : this.#bytes[b]!)
    let open = 0
    for (let b = 0; b < this.#bytes.length; b++) open += POPCOUNT[byteAt(b)]!
    if (open === 0) return undefined
    const r = rng()
    let target = Math.floor((Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0) * open)
    if (target >= open) target = open - 1
    for (let b = 0; b < this.#bytes.length; b++) {
      let byte = byteAt(b)
      const ones = POPCOUNT[byte]!
      if (target >= ones) {
        target -= ones
        continue
      }
      for (; target > 0; target--) byte &= byte - 1
      return b * 8 + (31 - Math.clz32(byte & -byte))
    }
    return undefined
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`bit ${index} is outside 0..${this.size - 1}`)
  }
}
