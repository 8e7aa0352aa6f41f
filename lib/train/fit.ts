import * as tf from '@tensorflow/tfjs'
import { Dataset } from '../dataset.js'
import { from } from '../sources/from.js'
import { isSequence } from '../sources/sequence.js'
import type { AnyIterable } from '../types.js'
import { assertInteger, assertOneOf, assertSignal } from '../internal/validate.js'
import { randomSeed } from '../internal/rng.js'
import { isAsyncIterable, isIterable } from '../internal/iter.js'
import { useBestBackend } from '../backend.js'
import { Feed, type DataSource } from './feed.js'
import { Progress, type Logs, type ProgressOutput } from './progress.js'
import { WorkerPool, type WorkerTransform } from '../workers/pool.js'
import { saveCheckpoint, type CheckpointOptions } from './checkpoint.js'
import type { SkippedItem } from '../internal/skips.js'

/** A tfjs callback object, or plain hooks `{ onEpochEnd(epoch, logs) {...} }`. */
export type CallbackLike = tf.CustomCallbackArgs | tf.Callback

export interface FitOptions {
  /** Epochs to train up to (Keras `epochs`). Default 1. */
  readonly epochs?: number
  /** Batches per epoch. Default: the data's size when known. Required for one-shot sources (a generator object, a Readable) over more than one epoch. */
  readonly stepsPerEpoch?: number
  /** Epoch to start at (Keras `initial_epoch`): the seeds of later epochs are those of an uninterrupted run. */
  readonly initialEpoch?: number
  /** Step within `initialEpoch` to start at (resume mid-epoch; O(1) for a Sequence). */
  readonly initialStep?: number
  /** 0 silent, 1 progress bar on a terminal (one line per epoch otherwise), 2 one line per epoch. Default 1. */
  readonly verbose?: 0 | 1 | 2
  /** Plain hooks `{ onEpochEnd(epoch, logs) {...} }`, or an array of them and tfjs callbacks (`[tf.callbacks.earlyStopping(...)]`). */
  readonly callbacks?: tf.CustomCallbackArgs | readonly CallbackLike[]
  /** Validation batches: a dataset, Sequence or any source of batches, or `[xs, ys]` tensors. */
  readonly validationData?: DataSource | readonly [tf.Tensor | tf.Tensor[], tf.Tensor | tf.Tensor[]]
  /** Batches of `validationData` per validation (default: all). */
  readonly validationSteps?: number
  /** Weights per class (Keras `class_weight`). */
  readonly classWeight?: tf.ClassWeight | tf.ClassWeight[] | tf.ClassWeightMap
  /** Batches prepared ahead of training (Keras `max_queue_size`). Default 10. */
  readonly maxQueueSize?: number
  /** Sequence: `getItem` calls in flight; with `useMultiprocessing`: worker threads. Default 1. */
  readonly workers?: number
  /** Run `transform` on each batch in `workers` worker threads (Keras `use_multiprocessing`). */
  readonly useMultiprocessing?: boolean
  /** The JavaScript run in the worker threads: a module path (or URL) and an export name. */
  readonly transform?: WorkerTransform
  /** Sequence: permute the batch order every epoch (Keras `shuffle`). Default true. */
  readonly shuffle?: boolean
  /** Seed of the Sequence's per-epoch order. Default: random (printed in the History's stats). */
  readonly seed?: number
  /** Aborting stops at the next batch boundary and resolves with the History so far. */
  readonly signal?: AbortSignal
  /** Where progress goes. Default `process.stdout`. */
  readonly output?: ProgressOutput
  /**
   * Save the model and the position at every epoch end, every `everySteps`
   * batches, and when stopped by the signal; `loadCheckpoint(dir).resume`
   * continues mid-epoch with exactly the batches not yet trained on.
   */
  readonly checkpoint?: CheckpointOptions
}

/** What happened, beside tfjs' History: the backend, the seed, and the data side's share of each epoch. */
export interface FitStats {
  readonly backend: string
  readonly seed: number
  /** Per epoch: the share of the epoch's time spent waiting for data (0..1). */
  readonly waitShare: number[]
  readonly epochSeconds: number[]
  readonly steps: number[]
  /** Per epoch: items skipped by stages with `onError: 'skip'`. */
  readonly skipped: number[]
  /** The skipped items (path or index, the stage, the reason), the first 1000 of each stage. */
  readonly skippedItems: SkippedItem[]
  /** True when an abort signal stopped training. */
  aborted: boolean
  /** True when a one-shot source ran out before the last epoch. */
  exhausted: boolean
}

export type FitHistory = tf.History & { readonly stats: FitStats }

const fitKeys = new Set(['epochs', 'stepsPerEpoch', 'initialEpoch', 'initialStep', 'verbose', 'callbacks', 'validationData', 'validationSteps', 'classWeight', 'maxQueueSize', 'workers', 'useMultiprocessing', 'transform', 'shuffle', 'seed', 'signal', 'output', 'checkpoint'])

/**
 * Trains `model` on batches pulled from `data` with backpressure: Keras'
 * `fit_generator`, for tfjs. `data` is a Dataset, a Sequence, a generator
 * function, an (infinite) async iterable or generator object, or a Readable;
 * a batch is `{ xs, ys }` (typed arrays with shapes, or tensors) or an array
 * of samples `{ x, y }`. With only `(model, options)` it returns the last stage
 * of a `stream.pipeline`.
 * @example const history = await fit(model, pipe(files, map(load, { concurrency: 4 }), batch(32)), { epochs: 5, validationData: val })
 * @example await pipeline(readable, map(parse), batch(32), fit(model, { stepsPerEpoch: 100, epochs: 3 }))
 * Errors: bad options throw now; a data error rejects with it (naming the item), after closing the pipeline and disposing the batch's tensors.
 * Cancellation: `signal` stops at a batch boundary and resolves with the History so far; the pipeline is closed.
 */
export function fit(model: tf.LayersModel, data: DataSource, options?: FitOptions): Promise<FitHistory>
export function fit(model: tf.LayersModel, options?: FitOptions): (source: AnyIterable<unknown>) => Promise<FitHistory>
export function fit(model: tf.LayersModel, dataOrOptions?: DataSource | FitOptions, maybeOptions?: FitOptions): Promise<FitHistory> | ((source: AnyIterable<unknown>) => Promise<FitHistory>) {
  if (!(model instanceof tf.LayersModel)) throw new TypeError('fit: model must be a tfjs LayersModel (tf.sequential() or tf.model())')
  if (dataOrOptions === undefined || isOptions(dataOrOptions)) {
    const options = (dataOrOptions ?? {}) as FitOptions
    checkFitOptions(options)
    return (source: AnyIterable<unknown>) => runFit(model, from(source), options)
  }
  const options = maybeOptions ?? {}
  checkFitOptions(options)
  return runFit(model, dataOrOptions as DataSource, options)
}

function isOptions(x: unknown): boolean {
  if (x === null || typeof x !== 'object' || x instanceof Dataset || isSequence(x) || isIterable(x) || isAsyncIterable(x)) return false
  return Object.keys(x).every((k) => fitKeys.has(k))
}

function checkFitOptions(o: FitOptions): void {
  for (const k of Object.keys(o)) if (!fitKeys.has(k)) throw new TypeError(`fit: unknown option ${JSON.stringify(k)}; the options are ${[...fitKeys].join(', ')}`)
  if (o.epochs !== undefined) assertInteger('fit', 'epochs', o.epochs, 1)
  if (o.stepsPerEpoch !== undefined) assertInteger('fit', 'stepsPerEpoch', o.stepsPerEpoch, 1)
  if (o.initialEpoch !== undefined) assertInteger('fit', 'initialEpoch', o.initialEpoch, 0, (o.epochs ?? 1) - 1)
  if (o.initialStep !== undefined) assertInteger('fit', 'initialStep', o.initialStep, 0)
  if (o.verbose !== undefined) assertOneOf('fit', 'verbose', o.verbose, [0, 1, 2])
  if (o.validationSteps !== undefined) assertInteger('fit', 'validationSteps', o.validationSteps, 1)
  if (o.maxQueueSize !== undefined) assertInteger('fit', 'maxQueueSize', o.maxQueueSize, 1)
  if (o.workers !== undefined) assertInteger('fit', 'workers', o.workers, 1)
  if (o.seed !== undefined) assertInteger('fit', 'seed', o.seed, -(2 ** 53), 2 ** 53)
  assertSignal('fit', o.signal)
  if (o.checkpoint !== undefined) {
    if (typeof o.checkpoint.dir !== 'string' || o.checkpoint.dir === '') throw new TypeError(`fit: checkpoint.dir must be a folder path, got ${JSON.stringify(o.checkpoint.dir)}`)
    if (o.checkpoint.everySteps !== undefined) assertInteger('fit', 'checkpoint.everySteps', o.checkpoint.everySteps, 1)
  }
  if (o.useMultiprocessing === true && o.transform === undefined) {
    throw new TypeError('fit: useMultiprocessing runs a transform in worker threads: give transform: { module, name } (JavaScript code; tfjs is never loaded in a worker)')
  }
  if (o.transform !== undefined && o.useMultiprocessing !== true) throw new TypeError('fit: transform runs in worker threads: set useMultiprocessing: true with it')
}

async function runFit(model: tf.LayersModel, data: DataSource, o: FitOptions): Promise<FitHistory> {
  const epochs = o.epochs ?? 1
  const verbose = o.verbose ?? 1
  const initialEpoch = o.initialEpoch ?? 0
  const seed = o.seed ?? randomSeed()
  const backend = await useBestBackend()
  const progress = new Progress(o.output ?? process.stdout, verbose)
  const multiprocessing = o.useMultiprocessing === true && o.transform !== undefined
  // The pool is started once the options are known to be usable (below), so a refusal leaves no threads.
  let pool: WorkerPool | undefined
  const feed = new Feed(data, {
    where: 'fit', workers: multiprocessing ? 1 : (o.workers ?? 1), shuffle: o.shuffle ?? true, seed, maxQueueSize: o.maxQueueSize ?? 10,
    stepsPerEpoch: o.stepsPerEpoch, signal: o.signal, startEpoch: initialEpoch, startStep: o.initialStep ?? 0, model,
    ...(multiprocessing ? { transform: (b: unknown) => (pool as WorkerPool).run(b) } : {}),
  })
  if (feed.data.oneShot && o.stepsPerEpoch === undefined && epochs - initialEpoch > 1) {
    throw new TypeError(`fit: stepsPerEpoch is required: the data can be read only once (${feed.data.summary()}), so epochs are cut by step count, as with a fit_generator generator`)
  }
  const tensorPair = isTensorPair(o.validationData) ? o.validationData : undefined
  const validation = o.validationData === undefined || tensorPair !== undefined ? undefined
      : new Feed(o.validationData as DataSource, { where: 'fit (validationData)', workers: 1, shuffle: false, seed, maxQueueSize: o.maxQueueSize ?? 10, stepsPerEpoch: o.validationSteps, signal: o.signal, startEpoch: -1, startStep: 0, model })
  if (validation !== undefined) validation.linked = feed
  if (validation?.data.oneShot === true && epochs - initialEpoch > 1 && o.validationSteps === undefined) {
    throw new TypeError('fit: validationSteps is required: the validation data can be read only once, so each validation reads validationSteps batches of it')
  }
  if (multiprocessing) pool = new WorkerPool(o.transform as WorkerTransform, { threads: o.workers ?? 1 })
  const stats: FitStats = { backend: backend.name, seed, waitShare: [], epochSeconds: [], steps: [], skipped: [], skippedItems: [], aborted: false, exhausted: false }
  const skipLogs = feed.data.skipLogs
  const skipCount = (): number => skipLogs.reduce((a, l) => a + l.count, 0)
  let skippedAtStart = 0
  let listedAtStart: number[] = []
  let epochStart = 0
  let waitAtStart = 0
  let stepsAtStart = 0
  let step = 0
  let currentEpoch = initialEpoch
  const ours: tf.CustomCallbackArgs = {
    onEpochBegin: async (epoch) => {
      currentEpoch = epoch
      feed.setEpoch(epoch)
      epochStart = performance.now()
      waitAtStart = feed.clock.waitMs
      skippedAtStart = skipCount()
      listedAtStart = skipLogs.map((l) => l.items.length)
      stepsAtStart = feed.clock.steps
      step = epoch === initialEpoch ? (o.initialStep ?? 0) : 0
      const total = feed.steps
      progress.epochBegin(epoch, epochs, total)
    },
    onBatchEnd: async (_batch, logs) => {
      step++
      if (o.checkpoint?.everySteps !== undefined && step % o.checkpoint.everySteps === 0 && feed.failure === undefined) {
        await saveCheckpoint(model, o.checkpoint.dir, { epoch: currentEpoch, step, seed })
      }
      const elapsed = performance.now() - epochStart
      progress.batchEnd(step, numbers(logs), elapsed > 0 ? (feed.clock.waitMs - waitAtStart) / elapsed : 0)
    },
    onEpochEnd: async (epoch, logs) => {
      if (feed.failure !== undefined || validation?.failure !== undefined) return // fit rejects with the data error
      // An epoch cut short (the signal, or model.stopTraining set by a batch callback)
      // keeps its place; epoch-level stops (early stopping) run after this callback.
      const cut = (o.signal?.aborted === true || model.stopTraining) && !(feed.steps !== undefined && step >= feed.steps)
      if (o.checkpoint !== undefined) await saveCheckpoint(model, o.checkpoint.dir, cut ? { epoch, step, seed } : { epoch: epoch + 1, step: 0, seed })
      if (o.signal?.aborted === true) { model.stopTraining = true; return }
      const seconds = (performance.now() - epochStart) / 1000
      const waitShare = seconds > 0 ? (feed.clock.waitMs - waitAtStart) / 1000 / seconds : 0
      const steps = feed.clock.steps - stepsAtStart
      stats.waitShare.push(waitShare)
      stats.epochSeconds.push(seconds)
      stats.steps.push(steps)
      const skipped = skipCount() - skippedAtStart
      stats.skipped.push(skipped)
      const fresh = skipLogs.flatMap((l, i) => l.items.slice(listedAtStart[i] ?? 0))
      stats.skippedItems.push(...fresh)
      progress.epochEnd({ epoch, epochs, steps, seconds, waitShare, logs: numbers(logs), skipped })
      if (skipped > 0) {
        for (const s of fresh.slice(0, 5)) progress.line(`  skipped ${s.item}: ${s.reason}`)
        if (skipped > 5) progress.line(`  ... and ${skipped - 5} more (history.stats.skippedItems lists them)`)
      }
      await feed.sequence?.onEpochEnd?.(epoch)
      if (feed.exhausted && epoch + 1 < epochs) {
        stats.exhausted = true
        progress.line(`fit: the data ran out after ${feed.clock.steps} steps, before epoch ${epoch + 2} of ${epochs}; training stops (give a longer source or fewer stepsPerEpoch)`)
        model.stopTraining = true
      }
    },
  }
  const onAbort = (): void => { stats.aborted = true; model.stopTraining = true }
  o.signal?.addEventListener('abort', onAbort, { once: true })
  if (o.signal?.aborted === true) onAbort()
  const user: readonly CallbackLike[] = o.callbacks === undefined ? [] : Array.isArray(o.callbacks) ? o.callbacks : [o.callbacks as CallbackLike]
  progress.line(`tfpipe: training on the ${backend.name} backend${backend.native ? '' : ' (slow: see "Installing the native backend")'}; ${feed.data.summary()}`)
  try {
    const args: tf.ModelFitDatasetArgs<tf.TensorContainer> = {
      epochs,
      initialEpoch,
      verbose: 0,
      yieldEvery: 'never',
      callbacks: [ours, ...user].map((c) => (c instanceof tf.Callback || c instanceof tf.CustomCallback ? c : new tf.CustomCallback(c, 'never'))) as tf.CustomCallbackArgs[],
      ...(o.classWeight !== undefined ? { classWeight: o.classWeight } : {}),
      ...(validation !== undefined ? { validationData: validation.asTfDataset() } : {}),
      ...(tensorPair !== undefined ? { validationData: tensorPair as [tf.Tensor, tf.Tensor] } : {}),
    }
    const history = await model.fitDataset(feed.asTfDataset(), args)
    feed.rethrow()
    validation?.rethrow()
    if (stats.aborted && validation !== undefined) {
      // The last epoch was cut short: its validation ran on a placeholder batch, not the data.
      for (const [k, v] of Object.entries(history.history)) if (k.startsWith('val_') && v.length > 0) v[v.length - 1] = NaN
    }
    return Object.assign(history, { stats })
  } finally {
    o.signal?.removeEventListener('abort', onAbort)
    feed.close()
    validation?.close()
    await pool?.destroy()
  }
}

function numbers(logs: tf.Logs | undefined): Logs {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(logs ?? {})) {
    if (k === 'batch' || k === 'size') continue
    if (typeof v === 'number') out[k] = v
  }
  return out
}

/** `[xs, ys]` tensors (Keras' validation_data tuple), as opposed to an array of batches, which is a source like any other. */
function isTensorPair(v: unknown): v is readonly [tf.Tensor | tf.Tensor[], tf.Tensor | tf.Tensor[]] {
  const tensors = (x: unknown) => x instanceof tf.Tensor || (Array.isArray(x) && x.length > 0 && x.every((t) => t instanceof tf.Tensor))
  return Array.isArray(v) && v.length === 2 && tensors(v[0]) && tensors(v[1])
}
