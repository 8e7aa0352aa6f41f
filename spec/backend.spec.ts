import { describe, it } from 'node:test'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
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

describe('backend: intraOpThreads', () => {
  const fixture = fileURLToPath(new URL('./fixtures/intra-op-threads.ts', import.meta.url))
  const child = (arg: string, env: Record<string, string> = {}) => {
    const base = { ...process.env }
    delete base.TF_NUM_INTRAOP_THREADS
    const r = spawnSync(process.execPath, ['--import', 'tsx', fixture, arg], { encoding: 'utf8', timeout: 60_000, env: { ...base, TF_CPP_MIN_LOG_LEVEL: '3', ...env } })
    assert.equal(r.status, 0, r.stderr)
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
    return JSON.parse(line ?? '{}') as { info: { name: string, intraOpThreads?: number }, env: string | null, threads: number | null, warnings: string[] }
  }

  it('rejects a count that is not a positive integer, before loading anything', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => useBestBackend({ intraOpThreads: bad }), { name: 'RangeError', message: `useBestBackend: intraOpThreads must be a positive integer, got ${String(bad)}` })
    }
  })

  it('starts TensorFlow with that many intra-op threads when it is the call that loads it', () => {
    const one = child('1')
    const three = child('3')
    assert.deepEqual([one.env, three.env], ['1', '3'])
    assert.deepEqual([one.warnings, three.warnings], [[], []])
    if (one.info.name === 'tensorflow') {
      assert.deepEqual([one.info.intraOpThreads, three.info.intraOpThreads], [1, 3])
      // The pool's threads are made when TensorFlow starts: two more for 3 than for 1.
      if (one.threads !== null && three.threads !== null) assert.equal(three.threads - one.threads, 2)
    } else {
      assert.ok(!requireNative, `native backend required, got ${one.info.name}`)
    }
    const plain = child('default')
    assert.equal(plain.env, null)
    assert.equal(plain.info.intraOpThreads, undefined)
  })

  it('leaves TF_NUM_INTRAOP_THREADS from the environment in force, with one warning', () => {
    const r = child('1', { TF_NUM_INTRAOP_THREADS: '2' })
    assert.equal(r.env, '2')
    assert.equal(r.warnings.length, 1)
    assert.match(r.warnings[0] ?? '', /intraOpThreads 1 is ignored: the environment sets TF_NUM_INTRAOP_THREADS=2/)
    if (r.info.name === 'tensorflow') assert.equal(r.info.intraOpThreads, 2)
  })

  it('warns once and changes nothing when TensorFlow is already loaded', async () => {
    const info = await useBestBackend({ warn: () => undefined })
    const saved = process.env.TF_NUM_INTRAOP_THREADS
    delete process.env.TF_NUM_INTRAOP_THREADS
    try {
      const warnings: string[] = []
      await useBestBackend({ intraOpThreads: 7, warn: (m) => warnings.push(m) })
      if (info.name === 'tensorflow') {
        assert.equal(process.env.TF_NUM_INTRAOP_THREADS, undefined)
        assert.equal(warnings.length, 1)
        assert.match(warnings[0] ?? '', /intraOpThreads 7 is ignored: TensorFlow is already loaded/)
      } else {
        // No TensorFlow in this process: the setting waits for whoever loads it.
        assert.equal(process.env.TF_NUM_INTRAOP_THREADS, '7')
        assert.deepEqual(warnings, [])
      }
    } finally {
      if (saved === undefined) delete process.env.TF_NUM_INTRAOP_THREADS
      else process.env.TF_NUM_INTRAOP_THREADS = saved
    }
  })
})
