// A training loop of your own (a custom loss, a GAN, anything `fit` does not cover):
// the tensors come from toTfDataset's iterator, made as fit's sink makes them.
// Stacking the samples yourself (collateSamples) works too; then free the decoded
// images with releaseImages once they are stacked.
// Run: npx tsx examples/own-loop.ts PHOTOS_DIR [--epochs 2]
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { batch, collateSamples, imageFolder, imageSample, map, pipe, prefetch, releaseImages, shuffle, toTfDataset, useBestBackend, type Sample, type TensorData } from '../lib/index.js'

function smallModel(size: number, numClasses: number): tf.Sequential {
  return tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [size, size, 3], filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: numClasses }),
  ] })
}

// #region own-loop
/** Trains with tf.train.adam and a loss of its own; returns each epoch's mean loss. */
export async function trainInOwnLoop(root: string, { epochs = 2, size = 64 } = {}): Promise<number[]> {
  await useBestBackend()
  const files = imageFolder(root)
  const numClasses = files.classNames.length
  const batches = pipe(files, shuffle('all', { seed: 1 }), map(imageSample({ size: [size, size], numClasses }), { concurrency: 16 }), batch(16), prefetch(2))
  const model = smallModel(size, numClasses)
  const optimizer = tf.train.adam(0.01)
  const data = toTfDataset(batches) // { xs, ys } tensors; freeing each decoded image once stacked
  const means: number[] = []
  for (let epoch = 0; epoch < epochs; epoch++) {
    let sum = 0
    let steps = 0
    const it = await data.iterator()
    for (let r = await it.next(); r.done !== true; r = await it.next()) {
      const { xs, ys } = r.value as { xs: tf.Tensor, ys: tf.Tensor }
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor), true) as tf.Scalar
      sum += (await loss.data())[0] as number
      steps++
      tf.dispose([xs, ys, loss])
    }
    means.push(sum / steps)
  }
  model.dispose()
  optimizer.dispose()
  return means
}
// #endregion own-loop

// #region by-hand
/** The same batches stacked by hand: the mean pixel of each batch, its images freed once stacked. */
export async function meanPixelByHand(root: string, { size = 224 } = {}): Promise<{ means: number[], freed: number }> {
  const files = imageFolder(root)
  const batches = pipe(files, map(imageSample({ size: [size, size], numClasses: files.classNames.length })), batch(16))
  const means: number[] = []
  let freed = 0
  for await (const samples of batches) {
    const b = collateSamples(samples as Sample[]) // one Uint8Array for the batch, with the scaling attached
    freed += releaseImages(samples as Sample[]) // the samples' own bytes now read as empty
    const xs = b.xs as TensorData
    let total = 0
    for (const v of xs.data) total += v
    means.push(total / xs.data.length / 255)
  }
  return { means, freed }
}
// #endregion by-hand

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { epochs: { type: 'string', default: '2' } } })
  if (positionals[0] === undefined) throw new Error('usage: tsx examples/own-loop.ts PHOTOS_DIR [--epochs N]')
  console.log('mean loss per epoch:', await trainInOwnLoop(positionals[0], { epochs: Number(values.epochs) }))
}
