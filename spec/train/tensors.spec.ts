import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs'
import { collateSamples, evaluate, fit, jpegDecoder, predict, useBestBackend } from '../../lib/index.js'
import { inPlaceStats, toTensors } from '../../lib/train/tensors.js'
import { withSharp } from '../helpers.js'

before(() => useBestBackend({ warn: () => undefined }))

const values = async (t: unknown) => Array.from(await (t as tf.Tensor).data())
// The values, then the tensor disposed.
const take = async (t: unknown) => {
  const v = await values(t)
  tf.dispose(t as tf.Tensor)
  return v
}

// TFPIPE_JPEG=sharp turns the addon off per call, so the sink scales with TensorFlow ops.
const withTfOps = withSharp

describe('toTensors: scaled bytes', () => {
  it('each batch keeps its own values although the float conversion buffer is reused', async () => {
    // TensorFlow would use an aligned buffer in place (then the next batch would overwrite the first):
    // each size makes a new buffer, at whatever alignment the allocator gives it.
    for (let pixels = 6; pixels <= 6 * 4096; pixels *= 2) {
      const shape = [2, pixels, 3]
      const a = Uint8Array.from({ length: 6 * pixels }, (_, i) => i % 251)
      const b = Uint8Array.from({ length: 6 * pixels }, (_, i) => 255 - (i % 251))
      const first = toTensors({ xs: { data: a, shape, dtype: 'float32', scale: 1 / 255, offset: 0 } }, 'spec')
      const second = toTensors({ xs: { data: b, shape, dtype: 'float32', scale: 2, offset: -1 } }, 'spec')
      const got1 = await (first.xs as tf.Tensor).data()
      const got2 = await (second.xs as tf.Tensor).data()
      a.forEach((v, i) => { if (Math.abs((got1[i] as number) - v / 255) > 1e-6) assert.fail(`first batch of ${pixels} pixels, value ${i}: ${got1[i]}`) })
      b.forEach((v, i) => { if (got2[i] !== v * 2 - 1) assert.fail(`second batch of ${pixels} pixels, value ${i}: ${got2[i]}`) })
      tf.dispose([first.xs, second.xs])
    }
  })

  it('runs only the ops the scaling needs: unit one multiply, symmetric a multiply and an add, none no op', async () => {
    const data = Uint8Array.from({ length: 12 }, (_, i) => i * 20)
    const kernels = async (scale: number, offset: number) => {
      let out: tf.Tensor | undefined
      const info = await tf.profile(() => { out = toTensors({ xs: { data, shape: [1, 2, 2, 3], dtype: 'float32', scale, offset } }, 'spec').xs as tf.Tensor })
      const values = await (out as tf.Tensor).data()
      data.forEach((v, i) => assert.ok(Math.abs((values[i] as number) - (v * scale + offset)) < 1e-6))
      tf.dispose(out)
      return info.kernelNames
    }
    // With the addon (the JPEG fast path's build) the bytes are scaled there, and Reshape makes tfjs-node copy them at once.
    const fused = jpegDecoder() === 'native' && tf.getBackend() === 'tensorflow'
    assert.deepEqual(await kernels(1 / 255, 0), fused ? ['Reshape'] : ['Multiply'])
    assert.deepEqual(await kernels(1 / 127.5, -1), fused ? ['Reshape'] : ['Multiply', 'Add'])
    assert.deepEqual(await kernels(1, 0), [])
    await withTfOps(async () => {
      assert.deepEqual(await kernels(1 / 255, 0), ['Multiply'])
      assert.deepEqual(await kernels(1 / 127.5, -1), ['Multiply', 'Add'])
    })
  })

  it('the addon scales bytes bit for bit as TensorFlow\'s multiply and add do, collated or not, at every batch position', async () => {
    if (process.env.TFPIPE_REQUIRE_NATIVE === '1') assert.equal(jpegDecoder(), 'native', 'the addon must be built where TFPIPE_REQUIRE_NATIVE=1')
    const bytes = Uint8Array.from({ length: 4 * 5 * 7 * 3 }, (_, i) => (i * 97 + (i >> 3)) % 256)
    const samples = (scale: number | number[], offset: number | number[]) => [0, 1, 2, 3].map((k) => ({ x: { data: bytes.subarray(k * 105, (k + 1) * 105), shape: [5, 7, 3], scale, offset } }))
    const scalings: Array<[number | number[], number | number[]]> = [[1 / 255, 0], [1 / 127.5, -1], [[1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225)], [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]], [0.1, [0, 0, 0]]]
    for (const [scale, offset] of scalings) {
      const collated = { xs: { data: bytes, shape: [4, 5, 7, 3], dtype: 'float32' as const, scale, offset } }
      const want = await withTfOps(async () => take(toTensors(collated, 'spec').xs))
      assert.deepEqual(await take(toTensors(collated, 'spec').xs), want, `collated, scale ${String(scale)}`)
      assert.deepEqual(await take(toTensors(samples(scale, offset), 'spec').xs), want, `samples, scale ${String(scale)}`)
      assert.deepEqual(await withTfOps(async () => take(toTensors(samples(scale, offset), 'spec').xs)), want, `samples without the addon, scale ${String(scale)}`)
    }
  })

  it("'none' scaling (no op) does not share the reused buffer: two batches keep their values", async () => {
    const a = Uint8Array.from({ length: 12 }, (_, i) => i)
    const b = Uint8Array.from({ length: 12 }, (_, i) => 200 - i)
    const first = toTensors({ xs: { data: a, shape: [1, 2, 2, 3], dtype: 'float32', scale: 1, offset: 0 } }, 'spec').xs as tf.Tensor
    tf.dispose(toTensors({ xs: { data: Uint8Array.from({ length: 12 }, () => 7), shape: [1, 2, 2, 3], dtype: 'float32', scale: 1 / 255, offset: 0 } }, 'spec').xs)
    const second = toTensors({ xs: { data: b, shape: [1, 2, 2, 3], dtype: 'float32', scale: 1, offset: 0 } }, 'spec').xs as tf.Tensor
    assert.deepEqual(Array.from(await first.data()), Array.from(a))
    assert.deepEqual(Array.from(await second.data()), Array.from(b))
    tf.dispose([first, second])
  })
})

describe('toTensors: a batch of samples (no collate before the sink)', () => {
  const image = (fill: (i: number) => number, scale: number | number[], offset: number | number[]) =>
    ({ data: Uint8Array.from({ length: 12 }, (_, i) => fill(i)), shape: [2, 2, 3], scale, offset })

  it('gives the values collate then the sink give, for every scaling, batch after batch', async () => {
    const scalings: Array<[number | number[], number | number[]]> = [[1 / 255, 0], [1 / 127.5, -1], [1, 0], [[0.5, 0.25, 2], [-1, 0, 3]]]
    for (const [scale, offset] of scalings) {
      const samples = (k: number) => [0, 1, 2].map((s) => ({ x: image((i) => (i * 7 + s * 31 + k * 13) % 256, scale, offset), y: [s] }))
      const direct1 = toTensors(samples(1), 'spec')
      const direct2 = toTensors(samples(2), 'spec') // reuses the buffer the first batch was stacked into
      const collated1 = toTensors(collateSamples(samples(1)), 'spec')
      const collated2 = toTensors(collateSamples(samples(2)), 'spec')
      assert.deepEqual(await values(direct1.xs), await values(collated1.xs), `batch 1, scale ${String(scale)}`)
      assert.deepEqual(await values(direct2.xs), await values(collated2.xs), `batch 2, scale ${String(scale)}`)
      assert.notDeepEqual(await values(direct1.xs), await values(direct2.xs))
      assert.deepEqual((direct1.xs as tf.Tensor).shape, [3, 2, 2, 3])
      assert.deepEqual(await values(direct1.ys), [0, 1, 2])
      tf.dispose([direct1.xs, direct1.ys, direct2.xs, direct2.ys, collated1.xs, collated1.ys, collated2.xs, collated2.ys])
    }
  })

  it('two scaled image inputs of one batch do not share the buffer', async () => {
    const samples = [0, 1].map((s) => ({ x: { a: image((i) => i + s, 1 / 255, 0), b: image((i) => 200 - i - s, 2, -1) }, y: [s] }))
    const got = toTensors(samples, 'spec')
    const want = toTensors(collateSamples(samples), 'spec')
    const g = got.xs as Record<string, tf.Tensor>
    const w = want.xs as Record<string, tf.Tensor>
    assert.deepEqual(await values(g.a), await values(w.a))
    assert.deepEqual(await values(g.b), await values(w.b))
    assert.notDeepEqual(await values(g.a), await values(g.b))
    tf.dispose([got.xs, got.ys, want.xs, want.ys] as tf.TensorContainer[])
  })

  it('a sample of another shape is still named in the error', () => {
    const samples = [{ x: image((i) => i, 1 / 255, 0), path: 'a.jpg' }, { x: { data: new Uint8Array(6), shape: [1, 2, 3], scale: 1 / 255, offset: 0 }, path: 'c.jpg' }]
    assert.throws(() => toTensors(samples, 'spec'), /sample 1 \(c\.jpg\) has shape \[1, 2, 3\], but sample 0 \(a\.jpg\) has \[2, 2, 3\]/)
  })
})

// fit's training batches: scaled bytes go to one of two aligned buffers that TensorFlow reads in
// place (the addon's build on the tensorflow backend; elsewhere the sink copies, as above). These
// specs run in their own process (node --test runs each file apart), so the ring's state is theirs.
describe('toTensors in place (fit, its validation, evaluate, predict)', () => {
  const inPlace = () => jpegDecoder() === 'native' && tf.getBackend() === 'tensorflow'
  // Batch k: 3 samples of 4x4x3 bytes, a pattern of k, scaled to [0, 1].
  const samples = (k: number) => [0, 1, 2].map((s) => ({ x: { data: Uint8Array.from({ length: 48 }, (_, i) => (i * 5 + s * 17 + k * 29) % 256), shape: [4, 4, 3], scale: 1 / 255, offset: 0 } }))
  // The reference: collated, then copied by the sink.
  const want = async (k: number) => take(toTensors(collateSamples(samples(k)), 'spec').xs)
  // `count` batches from batch `from` on, each sample labelled by its position.
  const labelled = (count: number, from = 0) => Array.from({ length: count }, (_, k) => samples(from + k).map((s, i) => ({ ...s, y: i % 2 === 0 ? [1, 0] : [0, 1] })))
  // Flatten, then a softmax over 2 classes, compiled for categorical cross-entropy.
  const classifier = (dense: { kernelInitializer?: 'ones' | ReturnType<typeof tf.initializers.glorotUniform> } = {}, optimizer: string | tf.Optimizer = 'sgd') => {
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 3] }), tf.layers.dense({ units: 2, activation: 'softmax', ...dense })] })
    model.compile({ optimizer, loss: 'categoricalCrossentropy' })
    return model
  }

  it('each batch, disposed before the next (as fitDataset does), has its own values, and no buffer is replaced', async () => {
    if (process.env.TFPIPE_REQUIRE_NATIVE === '1') assert.ok(inPlace(), 'the addon and the tensorflow backend where TFPIPE_REQUIRE_NATIVE=1')
    const before = inPlaceStats()
    for (let k = 0; k < 6; k++) {
      const t = toTensors(samples(k), 'spec', { inPlace: true })
      assert.deepEqual(await take(t.xs), await want(k), `batch ${k}`)
    }
    const after = inPlaceStats()
    assert.equal(after.taken - before.taken, inPlace() ? 6 : 0)
    assert.equal(after.renewed - before.renewed, 0)
  })

  it('without inPlace (toTfDataset: its consumer disposes batches when it likes) the buffers are not used', async () => {
    const before = inPlaceStats().taken
    const t = toTensors(samples(1), 'spec')
    assert.deepEqual(await take(t.xs), await want(1))
    assert.equal(inPlaceStats().taken, before)
  })

  it('two scaled image inputs of one batch: the first gets a buffer read in place, the second a copy, both their own values', async () => {
    const two = (k: number) => samples(k).map((s, i) => ({ x: { a: s.x, b: samples(k + 50)[i]?.x as typeof s.x } }))
    for (let k = 0; k < 3; k++) {
      const taken = inPlaceStats().taken
      const got = toTensors(two(k), 'spec', { inPlace: true }).xs as Record<string, tf.Tensor>
      assert.equal(inPlaceStats().taken - taken, inPlace() ? 1 : 0, 'one buffer per batch')
      const want = toTensors(collateSamples(two(k)), 'spec').xs as Record<string, tf.Tensor>
      assert.deepEqual(await values(got.a), await values(want.a))
      assert.deepEqual(await values(got.b), await values(want.b))
      assert.notDeepEqual(await values(got.a), await values(got.b))
      tf.dispose([got.a, got.b, want.a, want.b] as tf.Tensor[])
    }
  })

  it('a tensor made from a batch that outlives it (a Reshape shares the memory in TensorFlow) keeps its values: the buffer is renewed, not written over', async () => {
    const before = inPlaceStats()
    const kept: tf.Tensor[] = []
    for (let k = 0; k < 3; k++) {
      const t = toTensors(samples(k), 'spec', { inPlace: true })
      kept.push(tf.reshape(t.xs as tf.Tensor, [-1])) // TensorFlow's Reshape output shares the input's buffer
      tf.dispose(t.xs)
    }
    for (let k = 0; k < 3; k++) assert.deepEqual(Array.from(await (kept[k] as tf.Tensor).data()), await want(k), `kept batch ${k}`)
    tf.dispose(kept)
    // A new buffer for the second and the third batch: kept[k] reads batch k's.
    if (inPlace()) assert.equal(inPlaceStats().renewed - before.renewed, 2)
    // and the sink goes on (a clone of the batch tensor keeps its data alive too)
    const a = toTensors(samples(7), 'spec', { inPlace: true })
    const clone = (a.xs as tf.Tensor).clone()
    tf.dispose(a.xs)
    for (let k = 8; k < 10; k++) tf.dispose(toTensors(samples(k), 'spec', { inPlace: true }).xs)
    assert.deepEqual(await take(clone), await want(7))
  })

  it('a clone of the batch kept in exchange for the one before (as many tensors and bytes alive as before) keeps its values: the buffer is renewed', async () => {
    const before = inPlaceStats().renewed
    let kept: tf.Tensor | undefined
    for (let k = 0; k < 3; k++) {
      const t = toTensors(samples(k), 'spec', { inPlace: true })
      const clone = (t.xs as tf.Tensor).clone() // shares the batch tensor's data
      tf.dispose(t.xs)
      if (kept !== undefined) assert.deepEqual(await take(kept), await want(k - 1), `clone of batch ${k - 1}, read after batch ${k} was stacked`)
      kept = clone
    }
    tf.dispose(kept)
    if (inPlace()) assert.equal(inPlaceStats().renewed - before, 2)
  })

  it('predict and evaluate take the in-place buffers too: a model that only reshapes its input (its output shares the buffer) predicts every batch\'s own values, and evaluate gives the copying path\'s loss', async () => {
    const data = labelled(5)
    const reshape = tf.sequential({ layers: [tf.layers.reshape({ targetShape: [48], inputShape: [4, 4, 3] })] })
    let taken = inPlaceStats().taken
    const out = await predict(reshape, data) as { data: Float32Array, shape: number[] }
    assert.equal(inPlaceStats().taken - taken, inPlace() ? 5 : 0)
    assert.deepEqual(out.shape, [15, 48])
    for (let k = 0; k < 5; k++) assert.deepEqual(Array.from(out.data.subarray(k * 144, (k + 1) * 144)), await want(k), `batch ${k}`)
    const model = classifier({ kernelInitializer: 'ones' })
    taken = inPlaceStats().taken
    const got = await evaluate(model, data)
    assert.equal(inPlaceStats().taken - taken, inPlace() ? 5 : 0)
    const copied = await withTfOps(async () => evaluate(model, data))
    assert.ok(Math.abs((got.loss ?? NaN) - (copied.loss ?? NaN)) < 1e-6, `${got.loss} against ${copied.loss}`)
  })

  it('fit\'s validation batches take them too: the last epoch\'s val_loss is evaluate\'s on the same data', async () => {
    const model = classifier()
    const taken = inPlaceStats().taken
    const h = await fit(model, labelled(4), { epochs: 2, verbose: 0, validationData: labelled(4, 20) })
    assert.equal(inPlaceStats().taken - taken, inPlace() ? 2 * (4 + 4) : 0)
    const valLoss = h.history.val_loss?.[1] as number
    const again = await evaluate(model, labelled(4, 20))
    assert.ok(Math.abs(valLoss - (again.loss ?? NaN)) < 1e-6, `${valLoss} against ${again.loss}`)
  })

  it('fit keeps one buffer: a step keeps only scalars (the loss totals), so the buffer it read is taken again by the next, and the weights are the copying path\'s', async () => {
    const data = labelled(6)
    const trained = async () => {
      const model = classifier({ kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }, tf.train.sgd(0.5))
      await fit(model, data, { epochs: 3, verbose: 0 })
      const w = await Promise.all(model.getWeights().map(async (t) => Array.from(await t.data())))
      model.dispose()
      return w
    }
    const before = inPlaceStats()
    const got = await trained()
    if (inPlace()) {
      const after = inPlaceStats()
      assert.equal(after.taken - before.taken, 18)
      // At most once, in the first step: the buffer last handed out (by another spec) may look held.
      assert.ok(after.renewed - before.renewed <= 1, `renewed ${after.renewed - before.renewed} times in 18 steps`)
    }
    assert.deepEqual(got, await withTfOps(trained))
  })

  it('a layer that keeps its input every step, in fit: every kept input has its batch\'s values (after four renewals in a row the sink copies)', async () => {
    class KeepInputs extends tf.layers.Layer {
      static readonly className = 'KeepInputs'
      readonly seen: tf.Tensor[] = []
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        const x = Array.isArray(inputs) ? inputs[0] as tf.Tensor : inputs
        this.seen.push(tf.keep(tf.reshape(x, [-1])))
        return x
      }
    }
    const keep = new KeepInputs({})
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [4, 4, 3] }), keep, tf.layers.flatten(), tf.layers.dense({ units: 2, activation: 'softmax' })] })
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
    const data = labelled(8)
    const before = inPlaceStats()
    await fit(model, data, { epochs: 1, verbose: 0 })
    assert.equal(keep.seen.length, 8)
    for (let k = 0; k < 8; k++) assert.deepEqual(Array.from(await (keep.seen[k] as tf.Tensor).data()), await want(k), `step ${k}`)
    tf.dispose(keep.seen)
    if (inPlace()) {
      const after = inPlaceStats()
      assert.ok(after.taken > before.taken, 'fit used the in-place buffers')
      assert.equal(after.off, true, 'four renewals in a row: back to copying')
    }
  })
})
