import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs'
import { useBestBackend } from '../lib/index.js'

// CI sets TFPIPE_REQUIRE_NATIVE=1: there the native path must work on a clean clone.
const requireNative = process.env.TFPIPE_REQUIRE_NATIVE === '1'

describe('backend', () => {
  it('uses the native tensorflow backend when the binding loads, and a conv model trains a step on it', async () => {
    const info = await useBestBackend({ warn: () => undefined })
    if (requireNative) assert.equal(info.name, 'tensorflow', `native backend required (TFPIPE_REQUIRE_NATIVE=1), got ${info.name}: ${info.reason ?? ''}`)
    assert.equal(tf.getBackend(), info.name)
    assert.equal(info.native, info.name === 'tensorflow')
    const model = tf.sequential({ layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(), tf.layers.dense({ units: 2, activation: 'softmax' })] })
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
    const xs = tf.randomNormal([4, 8, 8, 1])
    const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2)
    const loss = await model.trainOnBatch(xs, ys) as number
    assert.ok(Number.isFinite(loss))
    tf.dispose([xs, ys])
  })

  it('falls back to the cpu backend with one clear warning when the binding is missing, and a dense model still trains', async () => {
    const warnings: string[] = []
    const missing = async () => { throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: x') }
    // simulate a machine where tfjs-node never registered: hide the registered factory for this check
    const factory = tf.findBackendFactory('tensorflow')
    if (factory !== null) tf.removeBackend('tensorflow')
    try {
      const info = await useBestBackend({ fresh: true, loadNative: missing, warn: (m) => warnings.push(m) })
      assert.equal(info.name, 'cpu')
      assert.equal(info.native, false)
      assert.equal(warnings.length, 1)
      assert.match(warnings[0] ?? '', /native TensorFlow backend is not available \(The Node\.js native addon module .*\); training uses the pure-JS cpu backend, which is slow\. Fix: `npm run setup:native`/)
      const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'softmax' })] })
      model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
      const h = await model.fit(tf.ones([4, 3]), tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2), { epochs: 1, verbose: 0 })
      assert.ok(Number.isFinite(h.history.loss?.[0] as number))
      assert.equal(tf.getBackend(), 'cpu')
    } finally {
      if (factory !== null) tf.registerBackend('tensorflow', factory, 3)
      await useBestBackend({ fresh: true, warn: () => undefined })
    }
  })
})
