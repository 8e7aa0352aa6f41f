import { xoroshiro128plus, unsafeUniformIntDistribution, type RandomGenerator } from 'pure-rand'

/** Mixes integers into one 32-bit seed (splitmix-style), so (seed, epoch, item) streams never collide by accident. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9 | 0
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0) ^ Math.floor(p / 0x100000000), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h | 0
}

/** A seeded random source: integers in a range and floats in [0, 1). */
export class Rng {
  readonly #gen: RandomGenerator
  constructor(seed: number) {
    this.#gen = xoroshiro128plus(seed | 0)
  }

  /** An integer in [from, to], both included. */
  int(from: number, to: number): number {
    return unsafeUniformIntDistribution(from, to, this.#gen)
  }

  /** A float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.int(0, (1 << 26) - 1)
    const lo = this.int(0, (1 << 27) - 1)
    return (hi * 134217728 + lo) / 9007199254740992
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.float()
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      const t = items[i] as T
      items[i] = items[j] as T
      items[j] = t
    }
    return items
  }
}

/** A fresh seed for callers that gave none. */
export function randomSeed(): number {
  return (Math.random() * 0x100000000) | 0
}
