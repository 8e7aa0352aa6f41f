import * as tf from '@tensorflow/tfjs'
import { Dataset, iterateOwned } from '../dataset.js'
import { from, type Source } from '../sources/from.js'
import { fromSequence, isSequence, type Sequence } from '../sources/sequence.js'
import { prefetch } from '../operators/prefetch.js'
import { take } from '../operators/take.js'
import { skip } from '../operators/skip.js'
import { closeQuietly, raceAbort } from '../internal/abort.js'
import { checkAgainstModel, toTensors, type TensorBatch } from './tensors.js'

/** What `fit`, `evaluate` and `predict` accept as data. */
export type DataSource = Source<unknown> | Sequence<unknown>

export interface FeedOptions {
  readonly where: string
  readonly workers: number
  readonly shuffle: boolean
  readonly seed: number
  readonly maxQueueSize: number
  readonly stepsPerEpoch: number | undefined
  readonly signal: AbortSignal | undefined
  /** Resume: the epoch and step to start at (steps before it are not trained on). */
  readonly startEpoch: number
  readonly startStep: number
  readonly model?: tf.LayersModel
  /** Check the batch's targets against the model's outputs too (default true; predict does not read them). */
  readonly checkTargets?: boolean
  /** Transforms each batch before tensors are made (the worker pool). */
  readonly transform?: (batch: unknown) => Promise<unknown>
}

/** Timing of the data side of one epoch. */
export interface FeedClock {
  waitMs: number
  steps: number
}

/**
 * Feeds batches to tfjs' `fitDataset` loop, which calls `iterator()` at the
 * start of each epoch and `next()` per step. A re-iterable source opens a
 * fresh pass per epoch (cut at `stepsPerEpoch`); a one-shot source is read
 * through one iterator, `stepsPerEpoch` batches an epoch, as `fit_generator`
 * reads a `while True` generator. Tensors are made here, at the sink, one
 * per input and target; tfjs disposes them after the step.
 */
export class Feed {
  readonly data: Dataset<unknown>
  readonly sequence: Sequence<unknown> | undefined
  readonly options: FeedOptions
  readonly clock: FeedClock = { waitMs: 0, steps: 0 }
  /** True once a one-shot source has ended. */
  exhausted = false
  /**
   * A data error, held while the epoch is closed normally (tfjs keeps running
   * totals as tensors that only an epoch end frees); `fit` rethrows it.
   */
  failure: { error: unknown } | undefined
  /** Another feed whose failure should end this one too (validation ends when training failed). */
  linked: Feed | undefined
  #shared: AsyncIterator<unknown> | undefined
  readonly #open = new Set<AsyncIterator<unknown>>()
  #checked = false
  #epoch: number

  constructor(source: DataSource, options: FeedOptions) {
    this.options = options
    this.#epoch = options.startEpoch
    if (isSequence(source)) {
      this.sequence = source
      this.data = fromSequence(source, { workers: options.workers, shuffle: options.shuffle, seed: options.seed, startEpoch: options.startEpoch, startStep: options.startStep })
    } else {
      if (options.workers > 1) {
        throw new RangeError(`${options.where}: workers applies to a Sequence (parallel getItem calls); for a dataset, set the parallelism in the pipeline with map(fn, { concurrency: ${options.workers} }), or use useMultiprocessing with a transform`)
      }
      this.sequence = undefined
      this.data = source instanceof Dataset ? source : from(source as Source<unknown>)
    }
  }

  /** Batches per epoch, when known. */
  get steps(): number | undefined {
    const size = this.data.size
    const s = this.options.stepsPerEpoch
    if (s !== undefined) return size !== undefined && !this.data.oneShot ? Math.min(s, size) : s
    return size
  }

  /** A tfjs-layers dataset (only `iterator()` is used by fitDataset/evaluateDataset). */
  asTfDataset(): tf.data.Dataset<tf.TensorContainer> {
    const size = this.steps ?? null
    return { size, iterator: async () => this.#epochIterator() } as unknown as tf.data.Dataset<tf.TensorContainer>
  }

  /** Sets the epoch the next `iterator()` call belongs to (fit's onEpochBegin). */
  setEpoch(epoch: number): void {
    this.#epoch = epoch
  }

  /** Batches to read in `epoch`: `stepsPerEpoch`, less those done before a resume. */
  #stepsIn(epoch: number): number {
    const { stepsPerEpoch = Infinity, startEpoch, startStep } = this.options
    return epoch === startEpoch ? Math.max(0, stepsPerEpoch - startStep) : stepsPerEpoch
  }

  /**
   * Opens a pass: one epoch of a re-iterable source (`epoch` given, cut at its
   * steps), or the single pass of a one-shot source that spans every epoch.
   * Batches done before a resume are skipped (a Sequence starts there itself).
   */
  #openPass(epoch: number | undefined): AsyncIterator<unknown> {
    const { maxQueueSize, startEpoch, startStep, signal, transform } = this.options
    const options = { ...(epoch !== undefined ? { epoch } : {}), ...(signal !== undefined ? { signal } : {}) }
    // Owned samples stay marked only when nothing but tfpipe sees the batches before toTensors (no transform).
    let pass: AsyncIterable<unknown> = transform === undefined ? iterateOwned(this.data, options) : this.data.iterate(options)
    if (this.sequence === undefined && (epoch === undefined || epoch === startEpoch) && startStep > 0) pass = skip(startStep)(pass)
    if (epoch !== undefined && this.#stepsIn(epoch) !== Infinity) pass = take(this.#stepsIn(epoch))(pass)
    if (transform !== undefined) pass = transformed(pass, transform)
    return prefetch(maxQueueSize)(pass)
  }

  /** One epoch's view: lazy (the first, unused iterator tfjs opens costs nothing). */
  #epochIterator(): { next: () => Promise<IteratorResult<TensorBatch | null>> } {
    const epoch = this.#epoch
    let it: AsyncIterator<unknown> | undefined
    let taken = 0
    const oneShot = this.data.oneShot
    // A one-shot pass spans epochs, so each epoch's view stops after its steps; a fresh pass is cut by take().
    const limit = oneShot ? this.#stepsIn(epoch) : Infinity
    return {
      next: async () => {
        const stopped = (): IteratorResult<TensorBatch | null> => {
          // Training stopped: a validation pass must still give tfjs one batch, or its epoch logs
          // hold undefined metrics and tfjs' own callbacks throw. A batch of zeros costs nothing;
          // fit marks that epoch's validation metrics NaN.
          if (this.linked !== undefined && taken === 0 && this.options.model !== undefined) { taken = limit; return { done: false, value: zerosFor(this.options.model) } }
          return { done: true, value: null }
        }
        if (isAborted(this.options.signal) || this.failure !== undefined || this.linked?.failure !== undefined) return stopped()
        if (taken >= limit) return { done: true, value: null }
        if (it === undefined) {
          if (oneShot) {
            this.#shared ??= this.#track(this.#openPass(undefined))
            it = this.#shared
          } else it = this.#track(this.#openPass(epoch))
        }
        const t0 = performance.now()
        let r: IteratorResult<unknown>
        try {
          r = await raceAbort(it.next(), this.options.signal)
        } catch (err) {
          if (isAborted(this.options.signal)) return stopped()
          this.#fail(err)
          return stopped()
        }
        if (r.done === true) {
          this.#open.delete(it)
          if (oneShot) this.exhausted = true
          this.clock.waitMs += performance.now() - t0
          return { done: true, value: null }
        }
        let tensors: TensorBatch
        try {
          // Every consumer of a feed (fitDataset, evaluateDataset, predict) disposes a batch's
          // tensors before it asks for the next, so the floats may reach TensorFlow in place.
          tensors = toTensors(r.value, this.options.where, { inPlace: true })
        } catch (err) {
          this.#fail(err)
          return stopped()
        }
        if (!this.#checked && this.options.model !== undefined) {
          this.#checked = true
          try { checkAgainstModel(this.options.model, tensors, this.options.where, this.options.checkTargets !== false) } catch (err) { tf.dispose(tensors as unknown as tf.TensorContainer); this.#fail(err); return stopped() }
        }
        taken++
        this.clock.waitMs += performance.now() - t0
        this.clock.steps++
        return { done: false, value: tensors }
      },
    }
  }

  /** Holds the error and asks the model to stop; the caller ends the pass. */
  #fail(error: unknown): void {
    this.failure ??= { error }
    try {
      if (this.options.model !== undefined) this.options.model.stopTraining = true
    } catch {
      // An uncompiled model (predict needs none) refuses stopTraining; nothing is training.
    }
  }

  /** Rejects with the held data error, if any. */
  rethrow(): void {
    if (this.failure !== undefined) throw this.failure.error
  }

  #track(it: AsyncIterator<unknown>): AsyncIterator<unknown> {
    this.#open.add(it)
    return it
  }

  /** Closes every pass still open (training stopped early, or ended with a one-shot source not read to its end). */
  close(): void {
    for (const it of this.#open) closeQuietly(it)
    this.#open.clear()
  }
}

async function* transformed(source: AsyncIterable<unknown>, fn: (batch: unknown) => Promise<unknown>): AsyncGenerator<unknown> {
  let index = 0
  for await (const b of source) {
    try {
      yield await fn(b)
    } catch (err) {
      // Name the batch: a worker that crashed (exited, ran out of memory) says only that it stopped.
      const message = err instanceof Error ? err.message : String(err)
      throw new Error(`useMultiprocessing: the transform failed on batch ${index} of this pass: ${message}`, { cause: err })
    }
    index++
  }
}

/** Read through a function: the signal can abort while a step waits, which narrowing cannot see. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** One batch of zeros shaped for the model (batch size 1). */
function zerosFor(model: tf.LayersModel): TensorBatch {
  const make = (shape: Array<number | null>): tf.Tensor => tf.zeros(shape.map((d) => d ?? 1))
  const xs = model.inputs.map((i) => make(i.shape))
  const ys = model.outputs.map((o) => make(o.shape))
  return { xs: xs.length === 1 ? xs[0] as tf.Tensor : xs, ys: ys.length === 1 ? ys[0] as tf.Tensor : ys }
}
