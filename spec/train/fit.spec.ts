import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import * as tf from '@tensorflow/tfjs'
import { batch, evaluate, fit, from, map, pipe, sequence, Sequence, useBestBackend, type Batch, type Sample } from '../../lib/index.js'
import { FakeTerminal, denseModel, makeBatch } from './helpers.js'

before(async () => { await useBestBackend() })

const batches = (n: number) => Array.from({ length: n }, (_, i) => makeBatch(8, i))

describe('fit', () => {
  it('trains on a Dataset and returns a tfjs-like History', async () => {
    const model = denseModel()
    const h = await fit(model, pipe(batches(6)), { epochs: 3, verbose: 0 })
    assert.deepEqual(h.epoch, [0, 1, 2])
    assert.equal(h.history.loss?.length, 3)
    assert.ok((h.history.loss?.[2] as number) < (h.history.loss?.[0] as number), 'the loss went down')
    assert.deepEqual(h.stats.steps, [6, 6, 6])
  })

  it('takes samples { x, y } batched but not collated', async () => {
    const samples: Sample[] = Array.from({ length: 20 }, (_, i) => ({ x: [i % 2, 0, 1, 0], y: i % 2 === 0 ? [1, 0] : [0, 1] }))
    const h = await fit(denseModel(), pipe(samples, batch(5)), { epochs: 1, verbose: 0 })
    assert.deepEqual(h.stats.steps, [4])
  })

  it('takes a generator function (called per epoch), an infinite generator object with stepsPerEpoch, and a Readable', async () => {
    let calls = 0
    const h1 = await fit(denseModel(), function* gen() { calls++; yield* batches(3) }, { epochs: 2, verbose: 0 })
    assert.equal(calls, 2)
    assert.deepEqual(h1.stats.steps, [3, 3])

    let produced = 0
    async function* forever() { for (;;) { produced++; yield makeBatch(4, produced) } }
    const h2 = await fit(denseModel(), forever(), { epochs: 3, stepsPerEpoch: 5, verbose: 0, maxQueueSize: 2 })
    assert.deepEqual(h2.stats.steps, [5, 5, 5])
    assert.ok(produced <= 15 + 2 + 1, `read ${produced}: no more than the steps plus the queue`)

    const h3 = await fit(denseModel(), Readable.from(batches(4)), { epochs: 2, stepsPerEpoch: 2, verbose: 0 })
    assert.deepEqual(h3.stats.steps, [2, 2])
  })

  it('asks for stepsPerEpoch when a one-shot source must span epochs', async () => {
    async function* forever() { for (;;) yield makeBatch(4) }
    await assert.rejects(fit(denseModel(), forever(), { epochs: 2, verbose: 0 }), /stepsPerEpoch is required: the data can be read only once/)
  })

  it('stops when a one-shot source runs out, and says so', async () => {
    const out = new FakeTerminal(false)
    const h = await fit(denseModel(), from(batches(5)[Symbol.iterator]()), { epochs: 4, stepsPerEpoch: 2, verbose: 2, output: out })
    assert.equal(h.stats.exhausted, true)
    assert.match(out.text, /the data ran out after 5 steps/)
    assert.ok(h.epoch.length <= 3)
  })

  it('works as the last stage of stream.pipeline', async () => {
    const model = denseModel()
    const rows = Readable.from(Array.from({ length: 40 }, (_, i) => i))
    const toSample = (i: number): Sample => ({ x: [i % 2, 1, 0, 0], y: i % 2 === 0 ? [1, 0] : [0, 1] })
    const h = await pipeline(rows, map(toSample), batch<Sample>(8), fit(model, { epochs: 2, stepsPerEpoch: 2, verbose: 0 }))
    assert.deepEqual(h.stats.steps, [2, 2])
  })

  it('initialEpoch starts later and numbers epochs as Keras does', async () => {
    const h = await fit(denseModel(), pipe(batches(2)), { epochs: 4, initialEpoch: 2, verbose: 0 })
    assert.deepEqual(h.epoch, [2, 3])
  })

  it('throws bad options synchronously', () => {
    const model = denseModel()
    assert.throws(() => fit(model, pipe(batches(1)), { epochs: 0 }), /fit: epochs must be an integer >= 1, got 0/)
    assert.throws(() => fit(model, pipe(batches(1)), { verbose: 3 as never }), /fit: verbose must be one of 0, 1, 2, got 3/)
    assert.throws(() => fit(model, pipe(batches(1)), { stepsPerEpoch: 1.5 }), RangeError)
    assert.throws(() => fit(model, pipe(batches(1)), { epocs: 2 } as never), /fit: unknown option "epocs"/)
    assert.throws(() => fit(model, pipe(batches(1)), { useMultiprocessing: true }), /useMultiprocessing runs a transform/)
    assert.throws(() => fit({} as never, []), /model must be a tfjs LayersModel/)
  })

  it('leaves the same number of tensors after every epoch', async () => {
    const model = denseModel()
    const counts: number[] = []
    await fit(model, pipe(batches(5)), { epochs: 4, verbose: 0, callbacks: { onEpochEnd: async () => { counts.push(tf.memory().numTensors) } } })
    assert.equal(new Set(counts).size, 1, `tensors per epoch: ${counts.join(', ')}`)
    const before = tf.memory().numTensors
    await fit(model, pipe(batches(5)), { epochs: 2, verbose: 0 })
    assert.equal(tf.memory().numTensors, before)
  })

  it('callbacks: plain hooks, tfjs early stopping, and model.stopTraining', async () => {
    const seen: string[] = []
    await fit(denseModel(), pipe(batches(2)), { epochs: 2, verbose: 0, callbacks: { onEpochBegin: async (e) => { seen.push(`begin ${e}`) }, onEpochEnd: async (e, logs) => { seen.push(`end ${e} ${typeof logs?.loss}`) } } })
    assert.deepEqual(seen, ['begin 0', 'end 0 number', 'begin 1', 'end 1 number'])

    const model = denseModel()
    const stop = await fit(model, pipe(batches(4)), { epochs: 10, verbose: 0, callbacks: { onBatchEnd: async (b) => { if (b === 1) model.stopTraining = true } } })
    assert.deepEqual(stop.epoch, [0])

    // a monitor that never improves stops after `patience` epochs
    const early = await fit(denseModel(), pipe(batches(2)), { epochs: 20, verbose: 0, validationData: pipe([makeBatch(4, 99)]),
      callbacks: [tf.callbacks.earlyStopping({ monitor: 'val_loss', patience: 1, minDelta: 1e9 })] })
    assert.equal(early.epoch.length, 2)
  })

  it('validationData as a dataset with validationSteps, and as tensors', async () => {
    let read = 0
    const val = pipe(batches(10), map((b: Batch) => { read++; return b }))
    const h = await fit(denseModel(), pipe(batches(2)), { epochs: 2, verbose: 0, validationData: val, validationSteps: 3 })
    assert.equal(h.history.val_loss?.length, 2)
    assert.ok(read <= 2 * (3 + 10), `validation read ${read}`)
    const xs = tf.randomUniform([6, 4])
    const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1], 'int32'), 2)
    const h2 = await fit(denseModel(), pipe(batches(2)), { epochs: 1, verbose: 0, validationData: [xs, ys] })
    assert.equal(h2.history.val_acc?.length, 1)
    tf.dispose([xs, ys])
  })

  it('validationData as an array of two batches is a source of batches, not [xs, ys]', async () => {
    const model = denseModel()
    const val = [makeBatch(4, 7), makeBatch(4, 8)]
    const h = await fit(model, pipe(batches(2)), { epochs: 1, verbose: 0, validationData: val })
    const again = await evaluate(model, val)
    assert.ok(Math.abs((h.history.val_loss?.[0] as number) - (again.loss as number)) < 1e-6)
  })

  it('classWeight weighs the loss per class', async () => {
    const zero = await fit(denseModel(), pipe(batches(2)), { epochs: 1, verbose: 0, classWeight: { 0: 0, 1: 0 } })
    assert.equal(zero.history.loss?.[0], 0)
    const plain = await fit(denseModel(), pipe(batches(2)), { epochs: 1, verbose: 0, classWeight: { 0: 1, 1: 1 } })
    assert.ok((plain.history.loss?.[0] as number) > 0)
  })

  it('backpressure: the producer never runs more than maxQueueSize plus the step in flight ahead of training', async () => {
    for (const maxQueueSize of [1, 3, 6]) {
      let produced = 0
      let trained = 0
      let worst = 0
      async function* source() { for (;;) { produced++; worst = Math.max(worst, produced - trained); yield makeBatch(4, produced) } }
      await fit(denseModel(), source(), { epochs: 2, stepsPerEpoch: 8, verbose: 0, maxQueueSize, callbacks: { onBatchEnd: async () => {
        trained++
        await new Promise((r) => setTimeout(r, 2)) // training is the slow side: the queue fills
      } } })
      // ahead of training: the queue, the batch being trained on, and the one being pulled
      assert.ok(worst <= maxQueueSize + 2, `maxQueueSize ${maxQueueSize}: producer ran ${worst} ahead`)
      assert.ok(worst >= maxQueueSize, `maxQueueSize ${maxQueueSize}: the queue was used (${worst} ahead)`)
    }
  })

  it('an abort signal stops at a batch boundary and resolves with the History so far; the model is usable', async () => {
    const model = denseModel()
    const ac = new AbortController()
    let steps = 0
    const h = await fit(model, pipe(batches(5)), { epochs: 50, verbose: 0, signal: ac.signal, callbacks: { onBatchEnd: async () => { if (++steps === 7) ac.abort() } } })
    assert.equal(h.stats.aborted, true)
    assert.ok(h.epoch.length >= 1 && h.epoch.length <= 2, `epochs ${h.epoch.length}`)
    const p = model.predict(tf.zeros([1, 4])) as tf.Tensor
    assert.deepEqual(p.shape, [1, 2])
    p.dispose()
  })

  it('an abort while waiting for data stops too', async () => {
    const ac = new AbortController()
    async function* stalls() { yield makeBatch(4); await new Promise(() => undefined) }
    setTimeout(() => ac.abort(), 50)
    const h = await fit(denseModel(), stalls(), { epochs: 2, stepsPerEpoch: 3, verbose: 0, signal: ac.signal })
    assert.equal(h.stats.aborted, true)
  })

  it('an abort while validation waits for its first batch resolves too, with that epoch\'s validation metrics NaN', async () => {
    const ac = new AbortController()
    async function* slowValidation() { await new Promise((r) => setTimeout(r, 200)); yield makeBatch(4) }
    setTimeout(() => ac.abort(), 60)
    const h = await fit(denseModel(), pipe(batches(2)), { epochs: 3, verbose: 0, signal: ac.signal, validationData: slowValidation })
    assert.equal(h.stats.aborted, true)
    assert.ok(Number.isNaN(h.history.val_loss?.[h.history.val_loss.length - 1] as number))
  })

  it('a validation data error rejects fit with its cause', async () => {
    async function* badValidation() { yield makeBatch(4); throw new Error('validation shard unreadable') }
    await assert.rejects(fit(denseModel(), pipe(batches(2)), { epochs: 2, verbose: 0, validationData: badValidation }), /validation shard unreadable/)
    await assert.rejects(fit(denseModel(), pipe(batches(2)), { epochs: 2, verbose: 0, validationData: pipe([{ xs: { data: new Float32Array(3), shape: [1, 3] }, ys: { data: new Float32Array(2), shape: [1, 2] } }]) }),
      /the batch's input 0 has shape \[1, 3\], the model expects \[batch, 4\]/)
  })

  it('a data error rejects fit with the cause and leaves no tensors', async () => {
    const model = denseModel()
    await fit(model, pipe(batches(1)), { epochs: 1, verbose: 0 })
    const before = tf.memory().numTensors
    async function* breaks() { yield makeBatch(4); yield makeBatch(4); throw new Error('disk read failed on shard-3') }
    await assert.rejects(fit(model, breaks, { epochs: 1, verbose: 0 }), /disk read failed on shard-3/)
    assert.equal(tf.memory().numTensors, before)
  })

  it('a batch that does not fit the model is caught on the first batch, naming both shapes', async () => {
    const wrong: Batch = { xs: { data: new Float32Array(8 * 5), shape: [8, 5] }, ys: { data: new Float32Array(16), shape: [8, 2] } }
    await assert.rejects(fit(denseModel(), pipe([wrong]), { verbose: 0 }), /input 0 has shape \[8, 5\], the model expects \[batch, 4\]/)
    const wideLabels: Batch = { xs: { data: new Float32Array(32), shape: [8, 4] }, ys: { data: new Float32Array(24), shape: [8, 3] } }
    await assert.rejects(fit(denseModel(), pipe([wideLabels]), { verbose: 0 }), /target 0 has shape \[8, 3\], the model's output is \[batch, 2\]/)
    await assert.rejects(fit(denseModel(), pipe([{ nope: 1 }]), { verbose: 0 }), /a batch must be \{ xs, ys \}/)
  })
})

describe('fit with a Sequence', () => {
  class Counting extends Sequence<Batch> {
    readonly calls: number[] = []
    readonly epochEnds: number[] = []
    constructor(readonly n: number, readonly delayMs = 0) { super() }
    get length() { return this.n }
    async getItem(i: number) {
      this.calls.push(i)
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs * ((i * 7) % 3)))
      return makeBatch(4, i)
    }
    override onEpochEnd(epoch: number) { this.epochEnds.push(epoch) }
  }

  it('uses every index exactly once per epoch, whatever the worker count', async () => {
    for (const workers of [1, 2, 4, 8]) {
      const seq = new Counting(13, 1)
      await fit(denseModel(), seq, { epochs: 2, workers, verbose: 0, seed: 3 })
      const e0 = seq.calls.slice(0, 13)
      const e1 = seq.calls.slice(13)
      assert.deepEqual([...e0].sort((a, b) => a - b), Array.from({ length: 13 }, (_, i) => i), `workers ${workers}`)
      assert.deepEqual([...e1].sort((a, b) => a - b), Array.from({ length: 13 }, (_, i) => i), `workers ${workers}`)
      assert.deepEqual(seq.epochEnds, [0, 1])
    }
  })

  it('shuffle permutes the batch order per epoch from the seed; shuffle false keeps it', async () => {
    const a = new Counting(10)
    await fit(denseModel(), a, { epochs: 2, verbose: 0, seed: 11 })
    assert.notDeepEqual(a.calls.slice(0, 10), a.calls.slice(10))
    const b = new Counting(10)
    await fit(denseModel(), b, { epochs: 2, verbose: 0, seed: 11, workers: 4 })
    assert.deepEqual(b.calls, a.calls, 'the same seed gives the same order at any worker count')
    const c = new Counting(5)
    await fit(denseModel(), c, { epochs: 1, verbose: 0, shuffle: false })
    assert.deepEqual(c.calls, [0, 1, 2, 3, 4])
  })

  it('delivers in order even when getItem finishes out of order', async () => {
    const order: number[] = []
    const seq = sequence({ length: 6, getItem: async (i: number) => { await new Promise((r) => setTimeout(r, (6 - i) * 3)); return makeBatch(2, i) } })
    await fit(denseModel(), seq, { epochs: 1, workers: 3, shuffle: false, verbose: 0, callbacks: { onBatchBegin: async (b) => { order.push(b) } } })
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5])
  })

  it('resumes mid-epoch without fetching the batches before the step', async () => {
    const full = new Counting(8)
    await fit(denseModel(), full, { epochs: 3, verbose: 0, seed: 5 })
    const resumed = new Counting(8)
    await fit(denseModel(), resumed, { epochs: 3, initialEpoch: 1, initialStep: 3, verbose: 0, seed: 5 })
    assert.deepEqual(resumed.calls, full.calls.slice(8 + 3), 'exactly the batches an uninterrupted run had left')
  })
})
