// Labels from a CSV: the seed article's x_y table (path, then one-hot columns),
// streamed with csv-parse, never loaded whole.
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { batch, csv, fit, imageSample, map, pipe, prefetch, shuffle, useBestBackend } from '../lib/index.js'

// #region csv
export async function trainFromCsv(corpus: string, { epochs = 2, size = 48, verbose = 1 as 0 | 1 | 2 } = {}) {
  await useBestBackend()
  const rows = csv(join(corpus, 'labels.csv')) // data/img/fimg_4092.jpg,0,1,0,0,0 -> { path, label, y }
  const decode = map(imageSample({ size: [size, size] }), { concurrency: 'auto' }) // decodes in flight chosen as it goes, like AUTOTUNE
  const batches = pipe(rows, shuffle(1000, { seed: 3 }), decode, batch(16), prefetch(2))
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [size, size, 3], filters: 8, kernelSize: 3, activation: 'relu' }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: 2, activation: 'softmax' }),
  ] })
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  const history = await fit(model, batches, { epochs, verbose }) // the size is unknown (streamed): each epoch runs to the end of the table
  if (verbose > 0) console.log(`decodes in flight: ${decode.autotune.concurrency} (${decode.autotune.steps.length} trials and verdicts)`)
  return history
}
// #endregion csv
