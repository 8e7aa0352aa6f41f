import { defineOperator, sameSize, type CommonOptions, type Operator } from '../types.js'
import { trust } from '../internal/owned.js'
import { assertInteger, assertSignal } from '../internal/validate.js'
import { Rng, mixSeed, randomSeed } from '../internal/rng.js'
import { guard } from '../internal/guard.js'

export interface ShuffleOptions extends CommonOptions {
  /** Seed of the order; each epoch draws a new order from it, the same on every run and machine. Default: random. */
  readonly seed?: number
}

/**
 * Shuffles with a buffer of `window` items (like `tf.data`'s `shuffle(buffer)`),
 * or the whole epoch with `'all'` (holds every item of the epoch in memory;
 * for file paths that is cheap). Reshuffled every epoch from the seed.
 * @example pipe(glob('**\/*.jpg'), shuffle('all', { seed: 42 }), map(decode))
 * Errors: a source error is raised when it is reached; buffered items are dropped.
 * Cancellation: `break` or the signal closes the source and drops the buffer.
 */
export function shuffle<T>(window: number | 'all', options: ShuffleOptions = {}): Operator<T, T> {
  if (window !== 'all') assertInteger('shuffle', 'window', window, 1)
  const { seed = randomSeed(), signal } = options
  assertInteger('shuffle', 'seed', seed, -(2 ** 53), 2 ** 53)
  assertSignal('shuffle', signal)
  let passes = 0
  return trust(defineOperator(`shuffle(${window}, seed ${seed})`, sameSize, async function* shuffleOperator(source, context) {
    const rng = new Rng(mixSeed(seed, context.epoch ?? passes++))
    const input = guard(source, signal, context.signal)
    if (window === 'all') {
      const all: T[] = []
      for await (const item of input) all.push(item)
      yield* rng.shuffle(all)
      return
    }
    const buffer: T[] = []
    for await (const item of input) {
      if (buffer.length < window) { buffer.push(item); continue }
      const i = rng.int(0, window - 1)
      const out = buffer[i] as T
      buffer[i] = item
      yield out
    }
    yield* rng.shuffle(buffer)
  }))
}
