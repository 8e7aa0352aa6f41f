// A tfpipe dataset where a tf.data.Dataset is expected: model.fitDataset.
import * as tf from '@tensorflow/tfjs'
import { batch, collate, map, pipe, toTfDataset, useBestBackend, type Sample } from '../lib/index.js'

// #region fit-dataset
export async function trainWithFitDataset({ epochs = 3 } = {}) {
  await useBestBackend()
  const samples = pipe(function* rows() {
    for (let i = 0; i < 256; i++) yield i
  }, map((i: number): Sample => {
    const x = [Math.sin(i), Math.cos(i), (i % 7) / 7, (i % 3) / 3]
    return { x, y: x[0] as number > 0 ? [0, 1] : [1, 0] }
  }), batch(32), collate())
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  return model.fitDataset(toTfDataset(samples), { epochs, verbose: 0 })
}
// #endregion fit-dataset
