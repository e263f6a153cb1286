// The sender's sequence numbers: strictly increasing, and still increasing after a restart.

/**
 * Hands out `seq` values for one key. Each is max(previous + 1, floor(now) * 1000): strictly
 * increasing within a process, and above anything sent before a restart as long as the clock did
 * not go back and fewer than 1000 messages a millisecond were sent; no state is persisted. The
 * values stay below 2^53 until the year 2255. One key, one counter: two processes signing with
 * the same key would collide, and receivers would refuse one side's messages as replays.
 */
export class SeqCounter {
  #last: number

  /** `last`: the highest seq already used, if known. */
  constructor(last = -1) {
    this.#last = last
  }

  next(now: number): number {
    const seq = Math.max(this.#last + 1, Math.floor(now) * 1000)
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new RangeError(`sequence number ${seq} is not a safe non-negative integer`)
    this.#last = seq
    return seq
  }
}
