import { Dataset } from '../dataset.js'
import { map } from '../operators/map.js'
import { assertFunction, assertInteger } from '../internal/validate.js'
import { Rng, mixSeed, randomSeed } from '../internal/rng.js'
import { closeQuietly } from '../internal/abort.js'

/**
 * The port of `keras.utils.Sequence`: a random-access source of batches.
 * Extend it (`length`, `getItem(index)`, optionally `onEpochEnd(epoch)`), or
 * make one with `sequence({...})`. `fit` fetches `workers` batches at once,
 * delivers them in order, uses each index exactly once per epoch, reshuffles
 * the batch order per epoch from a seed when `shuffle` is on, and can resume
 * at any step without reading the batches before it.
 * @example
 * class Photos extends Sequence<Batch> {
 *   get length() { return Math.ceil(this.rows.length / 32) }
 *   async getItem(i: number) { return loadBatch(this.rows.slice(i * 32, (i + 1) * 32)) }
 * }
 */
export abstract class Sequence<B = unknown> {
  /** Batches per epoch (`__len__`). */
  abstract get length(): number
  /** The batch at `index`, 0 <= index < length (`__getitem__`). */
  abstract getItem(index: number): B | Promise<B>
  /** Called once at the end of every epoch (`on_epoch_end`), with the epoch index. */
  onEpochEnd?(epoch: number): void | Promise<void>
}

export interface SequenceInit<B> {
  readonly length: number | (() => number)
  readonly getItem: (index: number) => B | Promise<B>
  readonly onEpochEnd?: (epoch: number) => void | Promise<void>
}

/**
 * Makes a `Sequence` from functions.
 * @example const seq = sequence({ length: 10, getItem: (i) => batches[i] })
 * Errors: a length that is not an integer >= 0 or a missing getItem throws now.
 */
export function sequence<B>(init: SequenceInit<B>): Sequence<B> {
  assertFunction('sequence', 'getItem', init.getItem)
  if (typeof init.length !== 'function') assertInteger('sequence', 'length', init.length, 0)
  const length = init.length
  const seq = new (class extends Sequence<B> {
    get length(): number { return typeof length === 'function' ? length() : length }
    getItem(index: number): B | Promise<B> { return init.getItem(index) }
  })()
  if (init.onEpochEnd !== undefined) seq.onEpochEnd = init.onEpochEnd
  return seq
}

export function isSequence(x: unknown): x is Sequence<unknown> {
  return x instanceof Sequence || (typeof x === 'object' && x !== null && typeof (x as { getItem?: unknown }).getItem === 'function' && typeof (x as { length?: unknown }).length === 'number')
}

export interface SequenceReadOptions {
  /** `getItem` calls in flight (Keras `workers`). Default 1. */
  readonly workers?: number
  /** Permute the batch order each epoch (Keras `shuffle`). Default false here; `fit` defaults it to true. */
  readonly shuffle?: boolean
  /** Seed of the per-epoch permutation. */
  readonly seed?: number
}

/**
 * The batch indices of one epoch, in the order they are read: a permutation drawn from `(seed, epoch)` when `shuffle`.
 * @example sequenceOrder(5, 0, true, 42) // the order fit reads a 5-batch Sequence in epoch 0 with seed 42
 * Errors: none. Cancellation: none (it is a plain array).
 */
export function sequenceOrder(length: number, epoch: number, shuffle: boolean, seed: number): number[] {
  const order = Array.from({ length }, (_, i) => i)
  return shuffle ? new Rng(mixSeed(seed, epoch)).shuffle(order) : order
}

/**
 * A `Sequence` as a `Dataset` of its batches: each pass is one epoch in the
 * epoch's order, with `workers` getItem calls in flight, delivered in order.
 * `iterate({ epoch })` picks the epoch; a `startStep` (see `fit`'s resume) starts mid-epoch in O(1).
 * @example for await (const b of fromSequence(seq, { workers: 4, shuffle: true, seed: 1 }).iterate({ epoch: 2 })) use(b)
 * Errors: a getItem error is raised as soon as it happens; an index out of range raises a RangeError.
 * Cancellation: `break` aborts the getItem calls in flight (their results are dropped).
 */
export function fromSequence<B>(seq: Sequence<B>, options: SequenceReadOptions & { readonly startStep?: number, readonly startEpoch?: number } = {}): Dataset<B> {
  const { workers = 1, shuffle = false, seed = randomSeed(), startStep = 0, startEpoch = -1 } = options
  assertInteger('fromSequence', 'workers', workers, 1)
  assertInteger('fromSequence', 'length', seq.length, 0)
  const fetch = map((i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= seq.length) throw new RangeError(`Sequence: index ${i} out of range [0, ${seq.length})`)
    return seq.getItem(i)
  }, { concurrency: workers })
  return new Dataset<B>(async function* sequencePass(context) {
    const epoch = context.epoch ?? 0
    const order = sequenceOrder(seq.length, epoch, shuffle, seed)
    const it = fetch(epoch === startEpoch ? order.slice(startStep) : order, context)
    try {
      yield* { [Symbol.asyncIterator]: () => it }
    } finally {
      closeQuietly(it)
    }
  }, { size: seq.length, labels: [`sequence(${seq.constructor.name || 'Sequence'}, length ${seq.length}, workers ${workers}${shuffle ? ', shuffled' : ''})`] })
}
