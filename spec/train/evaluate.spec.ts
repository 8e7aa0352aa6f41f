import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs'
import { evaluate, fit, pipe, predict, sequence, toTfDataset, useBestBackend, type TensorData } from '../../lib/index.js'
import { denseModel, makeBatch } from './helpers.js'

before(async () => { await useBestBackend() })
const data = () => pipe(Array.from({ length: 5 }, (_, i) => makeBatch(8, i)))

describe('evaluate, predict, toTfDataset', () => {
  it('evaluate returns the loss and metrics by name, agreeing with model.evaluate', async () => {
    const model = denseModel()
    await fit(model, data(), { epochs: 2, verbose: 0 })
    const ours = await evaluate(model, data())
    const all = Array.from({ length: 5 }, (_, i) => makeBatch(8, i))
    const xs = tf.tensor(Float32Array.from(all.flatMap((x) => Array.from((x.xs as TensorData).data))), [40, 4])
    const ys = tf.tensor(Float32Array.from(all.flatMap((x) => Array.from((x.ys as TensorData).data))), [40, 2])
    const theirs = model.evaluate(xs, ys) as tf.Scalar[]
    assert.ok(Math.abs((ours.loss as number) - theirs[0]!.dataSync()[0]!) < 1e-4)
    assert.deepEqual(Object.keys(ours), ['loss', 'acc'])
    tf.dispose([xs, ys, ...theirs])
  })

  it('evaluate with steps reads only that many batches; no tensors are left', async () => {
    const model = denseModel()
    let reads = 0
    const seq = sequence({ length: 100, getItem: (i: number) => { reads++; return makeBatch(4, i) } })
    const before = tf.memory().numTensors
    await evaluate(model, seq, { steps: 3, maxQueueSize: 1 })
    assert.ok(reads <= 3 + 2, `read ${reads}`)
    assert.equal(tf.memory().numTensors, before)
  })

  it('predict stacks the outputs as typed arrays', async () => {
    const model = denseModel()
    const before = tf.memory().numTensors
    const out = await predict(model, data()) as TensorData
    assert.deepEqual(out.shape, [40, 2])
    for (let i = 0; i < 40; i++) assert.ok(Math.abs((out.data[i * 2] as number) + (out.data[i * 2 + 1] as number) - 1) < 1e-5, 'softmax rows sum to 1')
    assert.equal(tf.memory().numTensors, before)
  })

  it('a data error in the middle of the pass rejects evaluate and predict with it (not the figures of the batches before it); no tensors are left', async () => {
    const model = denseModel()
    async function* failing() { yield makeBatch(8, 0); yield makeBatch(8, 1); throw new Error('disk gone') }
    const before = tf.memory().numTensors
    await assert.rejects(evaluate(model, failing()), /disk gone/)
    await assert.rejects(predict(model, failing()), /disk gone/)
    assert.equal(tf.memory().numTensors, before)
  })

  it('evaluate rejects labels of the wrong width with both shapes; predict ignores the labels, and needs no compiled model', async () => {
    const model = denseModel() // 2 outputs
    const wide = () => pipe(Array.from({ length: 3 }, (_, i) => ({ xs: makeBatch(4, i).xs, ys: { data: new Float32Array(4 * 3), shape: [4, 3] } })))
    await assert.rejects(evaluate(model, wide()), /evaluate: the batch's target 0 has shape \[4, 3\], the model's output is \[batch, 2\]/)
    const out = await predict(model, wide()) as TensorData
    assert.deepEqual(out.shape, [12, 2])
    const bare = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] })
    assert.deepEqual((await predict(bare, wide()) as TensorData).shape, [12, 3])
    await assert.rejects(predict(bare, pipe([{ xs: { data: new Float32Array(6), shape: [2, 3] } }])), /predict: the batch's input 0 has shape \[2, 3\], the model expects \[batch, 4\]/)
  })

  it('toTfDataset makes model.fitDataset work on a tfpipe dataset, per epoch', async () => {
    const model = denseModel()
    const h = await model.fitDataset(toTfDataset(data()), { epochs: 2, verbose: 0 })
    assert.equal(h.history.loss?.length, 2)
  })
})
