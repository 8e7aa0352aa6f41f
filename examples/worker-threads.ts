// Parallel decoding (map concurrency: sharp works on libuv threads) and a
// CPU-heavy JavaScript transform in worker threads (useMultiprocessing).
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { batch, fit, imageFolder, imageSample, map, pipe, useBestBackend, collateSamples, type Sample } from '../lib/index.js'
import { prepareDigits } from './digits/prepare.js'

// #region workers
export async function trainWithWorkers(dataDir: string, { epochs = 2, verbose = 1 as 0 | 1 | 2 } = {}) {
  await useBestBackend()
  const root = await prepareDigits(dataDir)
  const images = imageFolder(root)
  // decoding: 8 images in flight on libuv's threads; a fresh batch of arrays per step
  const batches = pipe(images, map(imageSample({ channels: 1, numClasses: 10, normalize: 'unit' }), { concurrency: 8 }), batch<Sample>(64),
    map((samples: Sample[]) => collateSamples(samples)))
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 8, kernelSize: 3, activation: 'relu' }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ] })
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  // the JavaScript feature code runs in 2 worker threads; typed arrays move there and back without copying
  return fit(model, batches, {
    epochs, verbose, workers: 2, useMultiprocessing: true,
    transform: { module: fileURLToPath(new URL('./features.mjs', import.meta.url)), name: 'blurChannel' },
  })
}
// #endregion workers
