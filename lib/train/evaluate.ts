import * as tf from '@tensorflow/tfjs'
import { useBestBackend } from '../backend.js'
import { assertInteger, assertSignal } from '../internal/validate.js'
import { from } from '../sources/from.js'
import { fromSequence, isSequence } from '../sources/sequence.js'
import { Dataset, iterateOwned } from '../dataset.js'
import { Feed, type DataSource } from './feed.js'
import { toTensors } from './tensors.js'
import type { TensorData } from '../tensors/collate.js'

export interface EvaluateOptions {
  /** Batches to read (Keras `steps`). Default: all; required for a one-shot infinite source. */
  readonly steps?: number
  /** Sequence: getItem calls in flight. Default 1. */
  readonly workers?: number
  /** Batches prepared ahead. Default 10. */
  readonly maxQueueSize?: number
  readonly signal?: AbortSignal
}

function feedFor(where: 'evaluate' | 'predict', model: tf.LayersModel, data: DataSource, o: EvaluateOptions): Feed {
  if (o.steps !== undefined) assertInteger(where, 'steps', o.steps, 1)
  if (o.workers !== undefined) assertInteger(where, 'workers', o.workers, 1)
  if (o.maxQueueSize !== undefined) assertInteger(where, 'maxQueueSize', o.maxQueueSize, 1)
  assertSignal(where, o.signal)
  return new Feed(data, { where, workers: o.workers ?? 1, shuffle: false, seed: 0, maxQueueSize: o.maxQueueSize ?? 10, stepsPerEpoch: o.steps, signal: o.signal, startEpoch: -1, startStep: 0, model, checkTargets: where === 'evaluate' })
}

/**
 * The loss and metrics of `model` over `data` (Keras `evaluate_generator`), as numbers by name.
 * @example const { loss, acc } = await evaluate(model, testBatches)
 * Errors: a data error rejects with it; the pipeline is closed and no tensor is left.
 * Cancellation: the signal ends reading; the result covers the batches read.
 */
export async function evaluate(model: tf.LayersModel, data: DataSource, options: EvaluateOptions = {}): Promise<Record<string, number>> {
  const feed = feedFor('evaluate', model, data, options)
  await useBestBackend()
  try {
    const out = await model.evaluateDataset(feed.asTfDataset() as never, options.steps !== undefined ? { batches: options.steps } : {})
    const scalars = Array.isArray(out) ? out : [out]
    // A data error ended the pass early: reject with it, not with the metrics of the batches before it.
    if (feed.failure !== undefined) tf.dispose(scalars)
    feed.rethrow()
    const values = await Promise.all(scalars.map(async (s) => (await s.data())[0] ?? NaN))
    tf.dispose(scalars)
    return Object.fromEntries(model.metricsNames.map((name, i) => [name, values[i] ?? NaN]))
  } finally {
    feed.close()
  }
}

/**
 * Runs `model` on every batch's `xs` (Keras `predict_generator`) and returns
 * the outputs stacked as typed arrays (one per model output), not tensors.
 * @example const { data, shape } = (await predict(model, batches)) as TensorData
 * Errors: a data error rejects with it; no tensor is left.
 * Cancellation: the signal ends reading; the result covers the batches read.
 */
export async function predict(model: tf.LayersModel, data: DataSource, options: EvaluateOptions = {}): Promise<TensorData | TensorData[]> {
  const feed = feedFor('predict', model, data, options)
  await useBestBackend()
  const it = feed.asTfDataset()
  const parts: Float32Array[][] = []
  const shapes: number[][] = []
  let rows = 0
  try {
    const iterator = await it.iterator()
    for (;;) {
      const r = await iterator.next()
      if (r.done === true || r.value === null) break
      const batch = r.value as unknown as { xs: tf.Tensor | tf.Tensor[], ys: tf.Tensor | tf.Tensor[] }
      try {
        const out = model.predict(batch.xs as tf.Tensor)
        const outs = Array.isArray(out) ? out : [out]
        outs.forEach((t, i) => {
          ;(parts[i] ??= []).push(t.dataSync() as Float32Array)
          shapes[i] = t.shape.slice(1)
        })
        rows += outs[0]?.shape[0] ?? 0
        tf.dispose(outs)
      } finally {
        tf.dispose([batch.xs, batch.ys] as tf.Tensor[])
      }
    }
    // A data error ended the pass early: reject with it, not with the outputs of the batches before it.
    feed.rethrow()
  } finally {
    feed.close()
  }
  const stacked = parts.map((chunks, i) => {
    const total = chunks.reduce((a, c) => a + c.length, 0)
    const data = new Float32Array(total)
    let at = 0
    for (const c of chunks) { data.set(c, at); at += c.length }
    return { data, shape: [rows, ...(shapes[i] ?? [])], dtype: 'float32' as const }
  })
  if (stacked.length === 0) return { data: new Float32Array(0), shape: [0], dtype: 'float32' }
  return stacked.length === 1 ? (stacked[0] as TensorData) : stacked
}

/**
 * A tfpipe dataset of batches as a `tf.data.Dataset` of `{ xs, ys }` tensors,
 * so `model.fitDataset` (and anything else taking a tf.data dataset) works on it.
 * @example await model.fitDataset(toTfDataset(train), { epochs: 3 })
 * Errors: a data error rejects the consumer's `next()`.
 * Cancellation: a pass stopped by the consumer closes the tfpipe pass.
 */
export function toTfDataset(data: DataSource): tf.data.Dataset<tf.TensorContainer> {
  const ds = isSequence(data) ? fromSequence(data) : data instanceof Dataset ? data : from(data)
  let epoch = 0
  return tf.data.generator(() => {
    // Its consumer gets tensors, never the samples: read with owned marks kept, so toTensors frees
    // each decoded image once stacked (internal/owned.ts).
    const it = iterateOwned(ds, { epoch: epoch++ })
    return {
      next: async () => {
        const r = await it.next()
        return r.done === true ? { done: true, value: undefined } : { done: false, value: toTensors(r.value, 'toTfDataset') as unknown as tf.TensorContainer }
      },
    } as unknown as Iterator<tf.TensorContainer>
  })
}
