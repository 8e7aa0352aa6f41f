import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs'
import { useBestBackend } from '../lib/index.js'

// CI sets TFPIPE_REQUIRE_NATIVE=1; elsewhere a machine without the native backend has no Step kernel to replace.
const requireNative = process.env.TFPIPE_REQUIRE_NATIVE === '1'
const quiet = { warn: () => undefined }

// The values' bits, so that NaN, -0 and 0 compare as themselves.
const bits = (t: tf.Tensor) => [...new Uint32Array(new Float32Array(t.dataSync()).buffer)]

async function native(): Promise<boolean> {
  const info = await useBestBackend(quiet)
  if (requireNative) assert.equal(info.name, 'tensorflow', `native backend required (TFPIPE_REQUIRE_NATIVE=1), got ${info.name}`)
  return info.name === 'tensorflow'
}

// step(x, alpha) under tfjs-node's own kernel, then under tfpipe's.
async function bothKernels<T>(f: () => T): Promise<{ theirs: T, ours: T }> {
  const off = await useBestBackend({ ...quiet, fastKernels: false })
  assert.deepEqual(off.replacedKernels, [])
  const theirs = f()
  const on = await useBestBackend({ ...quiet, fastKernels: true })
  assert.deepEqual(on.replacedKernels, ALL)
  return { theirs, ours: f() }
}

const ALL = ['Step', 'Mean gradient', 'Sum gradient']
const edges = [-2, -0, 0, 1e-40, -1e-40, 0.5, 3, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -3.5, 7]

describe('kernels: tfpipe\'s Step kernel, Mean and Sum gradients on the tensorflow backend', () => {
  after(async () => { await useBestBackend({ ...quiet, fastKernels: true }) })

  it('is the one in use after useBestBackend, and fit\'s own call (no option) keeps whatever was chosen', async () => {
    if (!await native()) return
    assert.deepEqual((await useBestBackend(quiet)).replacedKernels, ALL)
    const before = tf.getKernel('Step', 'tensorflow')?.kernelFunc
    const meanBefore = tf.getGradient('Mean')
    assert.deepEqual((await useBestBackend({ ...quiet, fastKernels: false })).replacedKernels, [])
    const theirs = tf.getKernel('Step', 'tensorflow')?.kernelFunc
    assert.notEqual(theirs, before)
    assert.notEqual(tf.getGradient('Mean'), meanBefore)
    assert.deepEqual((await useBestBackend(quiet)).replacedKernels, [], 'a call without fastKernels changes nothing')
    assert.equal(tf.getKernel('Step', 'tensorflow')?.kernelFunc, theirs)
    assert.deepEqual((await useBestBackend({ ...quiet, fastKernels: true })).replacedKernels, ALL)
    assert.equal(tf.getKernel('Step', 'tensorflow')?.kernelFunc, before)
    assert.equal(tf.getGradient('Mean'), meanBefore)
    assert.deepEqual((await useBestBackend({ ...quiet, fastKernels: true })).replacedKernels, ALL, 'twice is the same as once')
  })

  it('gives tfjs-node\'s values bit for bit: NaN, -0, denormals and infinities, alpha 0, 0.25 and -0, any shape', async () => {
    if (!await native()) return
    const shapes: number[][] = [[12], [2, 3, 2], [3, 4]]
    for (const alpha of [0, 0.25, -0, -1.5]) {
      for (const shape of shapes) {
        const { theirs, ours } = await bothKernels(() => tf.tidy(() => bits(tf.step(tf.tensor(edges, shape, 'float32'), alpha))))
        assert.deepEqual(ours, theirs, `alpha ${alpha}, shape [${shape.join(',')}]`)
      }
    }
    const scalar = await bothKernels(() => tf.tidy(() => [tf.step(tf.scalar(-1), 0.5), tf.step(tf.scalar(Number.NaN))].map(bits)))
    assert.deepEqual(scalar.ours, scalar.theirs)
    const empty = await bothKernels(() => tf.tidy(() => { const s = tf.step(tf.zeros([0, 3])); return [s.shape, s.dtype] }))
    assert.deepEqual(empty.ours, empty.theirs)
    const random = tf.randomNormal([4, 9, 9, 5], 0, 1, 'float32', 7)
    const big = await bothKernels(() => tf.tidy(() => bits(tf.step(random))))
    assert.deepEqual(big.ours, big.theirs)
    random.dispose()
  })

  it('gives tfjs-node\'s values over the whole float32 range: 2^20 random bit patterns, every non-NaN bit for bit, NaN for NaN', async () => {
    if (!await native()) return
    // Bit patterns from a fixed LCG: about 0.4% are NaNs (half with the sign bit set), plus denormals,
    // infinities and every exponent. TensorFlow's vectorized Sign clears a NaN's sign bit, which
    // tfjs-node's kernel keeps, so NaNs are compared as NaN.
    const n = 1 << 20
    const patterns = new Uint32Array(n)
    let state = 12345
    for (let i = 0; i < n; i++) { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; patterns[i] = state }
    const x = tf.tensor(new Float32Array(patterns.buffer), [n], 'float32')
    const { theirs, ours } = await bothKernels(() => tf.tidy(() => new Float32Array(tf.step(x).dataSync())))
    x.dispose()
    const theirBits = new Uint32Array(theirs.buffer)
    const ourBits = new Uint32Array(ours.buffer)
    let nans = 0
    const wrong: string[] = []
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(theirs[i])) { nans++; if (!Number.isNaN(ours[i])) wrong.push(`x bits ${(patterns[i] as number).toString(16)}: NaN against ${ours[i]}`) }
      else if (theirBits[i] !== ourBits[i]) wrong.push(`x bits ${(patterns[i] as number).toString(16)}: ${(theirBits[i] as number).toString(16)} against ${(ourBits[i] as number).toString(16)}`)
    }
    assert.ok(nans > 1000, `NaNs among the patterns: ${nans}`)
    assert.deepEqual(wrong.slice(0, 5), [])
  })

  it('keeps no tensor of its own: one step in, one tensor out', async () => {
    if (!await native()) return
    await useBestBackend({ ...quiet, fastKernels: true })
    const x = tf.tensor(edges)
    for (const alpha of [0, 0.5]) {
      const before = tf.memory().numTensors
      const s = tf.step(x, alpha)
      assert.equal(tf.memory().numTensors, before + 1)
      s.dispose()
    }
    x.dispose()
  })

  it('treats int32 input as tfjs-node\'s kernel does (TensorFlow\'s IsNan rejects it)', async () => {
    if (!await native()) return
    const run = () => tf.tidy(() => { const s = tf.step(tf.tensor([-2, 0, 3], [3], 'int32')); return { dtype: s.dtype, values: [...s.dataSync()] } })
    const { theirs, ours } = await bothKernels(() => { try { return run() } catch (err) { return String(err) } })
    assert.deepEqual(ours, theirs)
  })

  it('gives ReLU\'s gradient, dy where x > 0, 0 elsewhere, NaN for NaN', async () => {
    if (!await native()) return
    await useBestBackend({ ...quiet, fastKernels: true })
    const x = tf.tensor([-1, 0, 2, Number.NaN, 5, -0], [6])
    const dy = tf.tensor([10, 20, 30, 40, 50, 60], [6])
    const g = tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy)
    const got = [...g.dataSync()]
    assert.deepEqual(got, [0, 0, 30, Number.NaN, 50, 0])
    tf.dispose([x, dy, g])
  })

  it('trains a ReLU model to the same weights as tfjs-node\'s kernel, and leaves no tensors behind', async () => {
    if (!await native()) return
    const train = () => {
      const model = tf.sequential({ layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        tf.layers.flatten(), tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })] })
      model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' })
      const xs = tf.randomNormal([6, 8, 8, 1], 0, 1, 'float32', 5)
      const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0], 'int32'), 2)
      return { model, xs, ys }
    }
    const step = async (use: boolean) => {
      await useBestBackend({ ...quiet, fastKernels: use })
      const { model, xs, ys } = train()
      const initial = [...(model.getWeights()[0]?.dataSync() ?? [])]
      const before = tf.memory().numTensors
      for (let i = 0; i < 3; i++) await model.trainOnBatch(xs, ys)
      const left = tf.memory().numTensors - before
      const weights = model.getWeights().map((w) => [...w.dataSync()])
      tf.dispose([xs, ys])
      model.dispose()
      return { initial, weights, left }
    }
    const theirs = await step(false)
    const ours = await step(true)
    assert.equal(ours.left, theirs.left, 'tensors left by three steps (the optimizer\'s own state counts for both)')
    assert.equal(ours.weights.length, 4)
    assert.notDeepEqual(ours.weights[0], ours.initial, 'training moved the conv kernel')
    assert.deepEqual(ours.weights, theirs.weights)
  })

  it('gives tfjs\' Mean and Sum gradients bit for bit, over any axes, with keepDims or not', async () => {
    if (!await native()) return
    const x = tf.randomNormal([3, 4, 5, 2], 0, 1, 'float32', 11)
    const cases: Array<[number | number[] | undefined, boolean]> = [[undefined, false], [0, false], [[1, 2], false], [[1, 2], true], [-1, true], [[0, 3], false], [3, true]]
    for (const [axis, keepDims] of cases) {
      for (const reduce of [tf.mean, tf.sum]) {
        const grads = () => tf.tidy(() => {
          // a dy that is not all ones, so the reshape and broadcast are checked too
          const f = (v: tf.Tensor) => tf.mul(reduce(v, axis, keepDims), tf.range(1, 1 + reduce(x, axis, keepDims).size).reshape(reduce(x, axis, keepDims).shape))
          return bits(tf.grad(f)(x))
        })
        const { theirs, ours } = await bothKernels(grads)
        assert.deepEqual(ours, theirs, `${reduce === tf.mean ? 'mean' : 'sum'} over ${JSON.stringify(axis)}, keepDims ${keepDims}`)
      }
    }
    const before = tf.memory().numTensors
    const g = tf.grad((v: tf.Tensor) => tf.mean(v, [1, 2]))(x)
    assert.equal(tf.memory().numTensors, before + 1, 'the gradient and nothing else')
    tf.dispose([g, x])
  })

  it('rejects a fastKernels that is not a boolean, before loading anything', () => {
    assert.throws(() => useBestBackend({ fastKernels: 'yes' as unknown as boolean }), { name: 'TypeError', message: 'useBestBackend: fastKernels must be a boolean, got string' })
  })
})
