import type { AnyIterable, Operator, StageContext } from './types.js'
import { mixSeed } from './internal/rng.js'
import { asyncIteratorOf } from './internal/iter.js'
import type { SkipLog } from './internal/skips.js'
import { disowned, isProducer, isTrusted } from './internal/owned.js'

/** A stage in a chain: an `Operator`, or any plain `(source) => iterable` function (a `stream.pipeline` transform). */
export type Stage<I, O> = Operator<I, O> | ((source: AnyIterable<I>, context?: StageContext) => AnyIterable<O>)

/** Opens one pass over the data. */
export type Open<T> = (context: StageContext) => AnyIterable<T>

export interface DatasetInit {
  /** Items per pass, where known without reading. */
  readonly size?: number | undefined
  /** The chain's stage names, for `summary()`; a function for a name read when `summary()` is called. */
  readonly labels?: ReadonlyArray<string | (() => string)>
  /** True when the data can be read only once (a generator object, a `Readable`). */
  readonly oneShot?: boolean
  /** The skip records of the chain's stages that skip bad items. */
  readonly skipLogs?: readonly SkipLog[]
}

export interface IterateOptions {
  /** Which epoch this pass is: seeds per-epoch randomness (shuffle, augmentation). Default: the count of passes started so far. */
  readonly epoch?: number
  readonly signal?: AbortSignal
}

/**
 * A lazy, re-iterable dataset: each `for await` is a fresh epoch read from
 * the source, like `tf.data`. Nothing is read until the first `next()`.
 * @example
 * const ds = pipe([1, 2, 3], map((x) => x * 2))
 * for await (const x of ds) console.log(x) // 2 4 6, and again on the next loop
 */
/**
 * One pass with owned samples left marked (internal/owned.ts): for fit's,
 * evaluate's and predict's feeds only, which free their bytes once stacked.
 */
export let iterateOwned: <T>(ds: Dataset<T>, options: IterateOptions) => AsyncIterator<T> & AsyncIterable<T>

export class Dataset<T> implements AsyncIterable<T> {
  /** Items per epoch when known without reading; `undefined` after `filter` or for unsized sources. */
  readonly size: number | undefined
  /** True when the source can be read only once; `fit` then cuts epochs with `stepsPerEpoch`. */
  readonly oneShot: boolean
  readonly #open: Open<T>
  readonly #labels: ReadonlyArray<string | (() => string)>
  /** The records of items skipped by the chain's stages (`map(fn, { onError: 'skip' })`). */
  readonly skipLogs: readonly SkipLog[]
  #passes = 0
  /** Items may be owned samples (internal/owned.ts): a producing map, then only trusted stages. */
  #mayOwn = false

  constructor(open: Open<T>, init: DatasetInit = {}) {
    this.#open = open
    this.size = init.size
    this.oneShot = init.oneShot ?? false
    this.#labels = init.labels ?? ['source']
    this.skipLogs = init.skipLogs ?? []
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterate()
  }

  /** Starts one pass (an epoch). `epoch` defaults to the count of passes started so far. */
  iterate(options: IterateOptions = {}): AsyncIterator<T> & AsyncIterable<T> {
    return this.#iterate(options, false)
  }

  // The user's items are theirs: owned marks come off as they leave (fit's feeds read with them kept).
  #iterate(options: IterateOptions, keepOwned: boolean): AsyncIterator<T> & AsyncIterable<T> {
    const epoch = options.epoch ?? this.#passes
    this.#passes = Math.max(this.#passes, epoch) + 1
    const pass = this.#open({ epoch, signal: options.signal })
    const it = asyncIteratorOf(this.#mayOwn && !keepOwned ? disowned(pass) : pass)
    return Object.assign(it, { [Symbol.asyncIterator]() { return it } })
  }

  static {
    iterateOwned = (ds, options) => ds.#iterate(options, true)
  }

  /** A new dataset with the stages appended; this one is unchanged. */
  pipe(...stages: Array<Stage<unknown, unknown>>): Dataset<unknown> {
    let ds: Dataset<unknown> = this as Dataset<unknown>
    for (const stage of stages) ds = ds.#then(stage)
    return ds
  }

  /** Names the chain, for debugging: `from(array[3]) -> map -> batch(2)  [size 2]`. */
  summary(): string {
    return `${this.#labels.map((l) => typeof l === 'string' ? l : l()).join(' -> ')}  [size ${this.size ?? 'unknown'}${this.oneShot ? ', one-shot' : ''}]`
  }

  #then<O>(stage: Stage<T, O>): Dataset<O> {
    const op = stage as Partial<Operator<T, O>>
    // Read when summary() is called: a stage's label may say what it has chosen so far (map's 'auto').
    const label = (): string => op.label ?? (stage.name !== '' ? stage.name : 'stage')
    const size = op.sizeOf !== undefined ? op.sizeOf(this.size) : undefined
    // A stage not trusted with owned samples (user code, or one that keeps items) gets them unmarked.
    const keeps = isTrusted(stage)
    const unmark = this.#mayOwn && !keeps
    const open: Open<O> = (context) => stage(unmark ? disowned(this.#upstream(context)) : this.#upstream(context), context)
    const log = (stage as { skipLog?: SkipLog }).skipLog
    const next = new Dataset<O>(open, { size, labels: [...this.#labels, label], oneShot: this.oneShot, skipLogs: log !== undefined ? [...this.skipLogs, log] : this.skipLogs })
    next.#mayOwn = isProducer(stage) || (this.#mayOwn && keeps)
    return next
  }

  /**
   * What a stage reads: re-iterable, so `repeat` and `cache` can read their
   * upstream again. The first read is the pass itself; each further read
   * gets its own epoch seed, so a repeated shuffle is a new order.
   */
  #upstream(context: StageContext): AsyncIterable<T> {
    let reads = 0
    return {
      [Symbol.asyncIterator]: () => {
        const n = reads++
        const ctx = n === 0 ? context : { ...context, epoch: mixSeed(context.epoch ?? 0, n) }
        return asyncIteratorOf(this.#open(ctx))
      },
    }
  }
}
