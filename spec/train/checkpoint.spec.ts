import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { Sequence, fit, loadCheckpoint, map, pipe, shuffle, useBestBackend, type Batch } from '../../lib/index.js'
import { denseModel, makeBatch } from './helpers.js'

let dir = ''
before(async () => { await useBestBackend(); dir = await mkdtemp(join(tmpdir(), 'tfpipe-ckpt-')) })
after(() => rm(dir, { recursive: true, force: true }))

class Recording extends Sequence<Batch> {
  readonly seen: number[] = []
  get length() { return 10 }
  getItem(i: number) { return makeBatch(4, i) }
}

const compile = (m: tf.LayersModel) => m.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] })

describe('checkpoint and resume', () => {
  it('a run stopped mid-epoch resumes with exactly the batches it had not trained on (Sequence, O(1))', async () => {
    // the uninterrupted run: which batch index is trained at each step
    const full: number[] = []
    const fullSeq = new (class extends Recording { override getItem(i: number) { full.push(i); return super.getItem(i) } })()
    await fit(denseModel(), fullSeq, { epochs: 3, verbose: 0, seed: 21 })

    // a run stopped by its signal at step 14 (epoch 1, step 4), saving a checkpoint
    const ckpt = join(dir, 'seq')
    const ac = new AbortController()
    const first: number[] = []
    const firstSeq = new (class extends Recording { override getItem(i: number) { first.push(i); return super.getItem(i) } })()
    let steps = 0
    const h1 = await fit(denseModel(), firstSeq, { epochs: 3, verbose: 0, seed: 21, signal: ac.signal, maxQueueSize: 1, checkpoint: { dir: ckpt },
      callbacks: { onBatchEnd: async () => { if (++steps === 14) ac.abort() } } })
    assert.equal(h1.stats.aborted, true)

    const loaded = await loadCheckpoint(ckpt)
    assert.ok(loaded !== undefined)
    assert.deepEqual(loaded.position, { epoch: 1, step: 4, seed: 21 })
    compile(loaded.model)
    const rest: number[] = []
    const restSeq = new (class extends Recording { override getItem(i: number) { rest.push(i); return super.getItem(i) } })()
    await fit(loaded.model, restSeq, { epochs: 3, verbose: 0, ...loaded.resume })
    assert.deepEqual(rest, full.slice(14), 'the remaining batches, in the same order; none fetched twice')
  })

  it('a killed run resumes from its last periodic checkpoint; weights come back as saved (Dataset with a seeded shuffle)', async () => {
    const ckpt = join(dir, 'ds')
    const killed = join(dir, 'ds-at-kill')
    const data = (log: number[]) => pipe(Array.from({ length: 8 }, (_, i) => i), shuffle('all', { seed: 4 }), map((i: number) => { log.push(i); return makeBatch(4, i) }))
    const full: number[] = []
    await fit(denseModel(), data(full), { epochs: 2, verbose: 0 })

    const model = denseModel()
    let steps = 0
    let weightsAtSave: number[][] = []
    // checkpoints every 3 steps of an epoch; the folder as it stood at step 12 (last save: epoch 1, step 3) is what a kill leaves
    await fit(model, data([]), { epochs: 2, verbose: 0, checkpoint: { dir: ckpt, everySteps: 3 },
      callbacks: { onBatchEnd: async () => {
        steps++
        if (steps === 11) weightsAtSave = model.getWeights().map((w) => Array.from(w.dataSync()))
        if (steps === 12) await cp(ckpt, killed, { recursive: true })
      } } })
    const loaded = await loadCheckpoint(killed)
    assert.ok(loaded !== undefined)
    assert.deepEqual([loaded.position.epoch, loaded.position.step], [1, 3])
    assert.deepEqual(loaded.model.getWeights().map((w) => Array.from(w.dataSync())), weightsAtSave)

    compile(loaded.model)
    const rest: number[] = []
    await fit(loaded.model, data(rest), { epochs: 2, verbose: 0, ...loaded.resume })
    // the Dataset re-reads epoch 1 in the same order and skips the 3 batches trained before the checkpoint
    assert.deepEqual(rest.slice(3), full.slice(8 + 3))
  })

  it('a batch callback stopping mid-epoch keeps the place, not the epoch end', async () => {
    const ckpt = join(dir, 'stop')
    const model = denseModel()
    let steps = 0
    await fit(model, pipe(Array.from({ length: 6 }, (_, i) => makeBatch(4, i))), { epochs: 3, verbose: 0, checkpoint: { dir: ckpt },
      callbacks: { onBatchEnd: async () => { if (++steps === 8) model.stopTraining = true } } })
    assert.deepEqual((await loadCheckpoint(ckpt))?.position.step, 2)
  })

  it('no checkpoint: undefined; a bad checkpoint option throws now', async () => {
    assert.equal(await loadCheckpoint(join(dir, 'none')), undefined)
    assert.throws(() => fit(denseModel(), [], { checkpoint: { dir: '' } }), /checkpoint.dir must be a folder path/)
    assert.throws(() => fit(denseModel(), [], { checkpoint: { dir: 'x', everySteps: 0 } }), /checkpoint.everySteps must be an integer >= 1, got 0/)
  })
})
