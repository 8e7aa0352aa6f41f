// The benchmarks' job, for the scripts that measure around it (threads.ts, held.ts): the bench's
// pipeline (csv -> shuffle -> map(imageSample) -> batch(32) -> prefetch(2), 224x224) and its tiny
// model (global average pooling + dense, sgd), as bench/tfpipe-fit.ts runs them.
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { batch, csv, imageSample, map, pipe, prefetch, releaseImages, shuffle, type Sample } from '../lib/index.js'

/** The bench's pipeline over CORPUS/labels.csv, and the number of classes (the labels' length). */
export async function benchData(corpus: string, concurrency: number | 'auto' = 16) {
  const rows = csv(join(corpus, 'labels.csv'))
  const first = (await rows.iterate()[Symbol.asyncIterator]().next()).value
  const data = pipe(rows, shuffle('all', { seed: 1 }), map(imageSample({ size: [224, 224] }), { concurrency }), batch(32)).pipe(prefetch(2))
  return { data, classes: first?.y?.length ?? 2 }
}

/**
 * One pass of the input pipeline alone (tfpipe-fit --input-only, threads.ts --input-only): each batch's
 * decoded images are freed as fit's sink frees them once stacked (releaseImages). Left to V8, they would
 * start major collections that fit does not pay.
 */
export async function drainFreeing(data: AsyncIterable<unknown>): Promise<void> {
  for await (const b of data) if (Array.isArray(b)) releaseImages(b as Sample[])
}

/**
 * The overlap's small CNN (bench/tfpipe-fit.ts --model cnn, bench/kernels.ts): three 3x3 stride-2
 * ReLU convs (16, 32, 64 filters), global average pooling, dense; compiled with sgd.
 */
export function smallCnn(size: number, classes: number): tf.Sequential {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [size, size, 3], filters: 16, kernelSize: 3, strides: 2, activation: 'relu' }),
    tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, activation: 'relu' }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, activation: 'relu' }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: classes, activation: 'softmax' }),
  ] })
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  return model
}

/** The peers' tiny model: global average pooling + dense, compiled with sgd. */
export function tinyModel(size: number, classes: number): tf.Sequential {
  const model = tf.sequential({ layers: [
    tf.layers.globalAveragePooling2d({ inputShape: [size, size, 3] }),
    tf.layers.dense({ units: classes, activation: 'softmax' }),
  ] })
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  return model
}
