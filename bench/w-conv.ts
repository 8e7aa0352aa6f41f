import * as tf from '@tensorflow/tfjs'
import { useBestBackend } from '../lib/index.js'
import { toTensors } from '../lib/train/tensors.js'
await useBestBackend()
const n = 32 * 224 * 224 * 3
const bytes = new Uint8Array(n).map((_, i) => i & 255)
const floats = new Float32Array(n).map((_, i) => i & 255)
for (const [name, b] of [['uint8+scale', { xs: { data: bytes, shape: [32, 224, 224, 3], dtype: 'float32', scale: 1 / 255 } }], ['float no scale', { xs: { data: floats, shape: [32, 224, 224, 3] } }], ['float+scale', { xs: { data: floats, shape: [32, 224, 224, 3], scale: 1 / 255 } }]] as const) {
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now()
    const t = toTensors({ ...b, ys: { data: new Float32Array(64), shape: [32, 2] } }, 'x')
    const t1 = performance.now()
    tf.dispose([t.xs as tf.Tensor, t.ys as tf.Tensor])
    if (r === 2) console.log(name, (t1 - t0).toFixed(1), 'ms')
  }
}
const m = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [224, 224, 3] }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
const xs = tf.tensor(floats, [32, 224, 224, 3]); const ys = tf.oneHot(tf.zeros([32], 'int32'), 2)
await m.trainOnBatch(xs, ys)
const t0 = performance.now(); for (let i = 0; i < 10; i++) await m.trainOnBatch(xs, ys); console.log('trainOnBatch', ((performance.now() - t0) / 10).toFixed(1), 'ms')
