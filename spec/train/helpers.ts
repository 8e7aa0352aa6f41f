import * as tf from '@tensorflow/tfjs'
import type { Batch } from '../../lib/index.js'

/** A small dense classifier on 4 features, 2 classes. */
export function denseModel(): tf.Sequential {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  return model
}

/** A batch of `n` rows whose class is x0 > 0.5, as typed arrays (what a pipeline yields). */
export function makeBatch(n: number, seed = 0): Batch {
  const xs = new Float32Array(n * 4)
  const ys = new Float32Array(n * 2)
  let s = seed + 1
  const rand = () => { s = (s * 16807) % 2147483647; return s / 2147483647 }
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 4; k++) xs[i * 4 + k] = rand()
    ys[i * 2 + ((xs[i * 4] as number) > 0.5 ? 1 : 0)] = 1
  }
  return { xs: { data: xs, shape: [n, 4] }, ys: { data: ys, shape: [n, 2] } }
}

/** A fake terminal (or a pipe, with isTTY false) that records what is written. */
export class FakeTerminal {
  text = ''
  constructor(readonly isTTY: boolean, readonly columns = 120) {}
  write(chunk: string): boolean { this.text += chunk; return true }
}
