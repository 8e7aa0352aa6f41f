// Piping from a stream: lines of a file (or an HTTP response, or any Readable)
// through tfpipe operators inside stream.pipeline, ending in fit.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { batch, fit, map, shuffle, useBestBackend, type Sample } from '../lib/index.js'

const digits = fileURLToPath(new URL('./digits/digits.csv.gz', import.meta.url))

// #region streams
export async function trainFromLines({ epochs = 3, verbose = 1 as 0 | 1 | 2 } = {}) {
  await useBestBackend()
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [64], units: 32, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ] })
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] })

  // One line per sample: 64 pixel values 0..16, then the class. The stream is read once,
  // so epochs are cut by stepsPerEpoch, as with a fit_generator generator.
  const lines = Readable.from(createInterface({ input: createReadStream(digits).pipe(createGunzip()) }))
  const toSample = (line: string): Sample => {
    const v = line.split(',').map(Number)
    return { x: Float32Array.from(v.slice(0, 64), (p) => p / 16), y: v[64] as number }
  }
  return pipeline(lines, map(toSample), shuffle<Sample>(256, { seed: 1 }), batch<Sample>(32),
    fit(model, { epochs, stepsPerEpoch: Math.floor(1797 / 32 / epochs), verbose }))
}
// #endregion streams
