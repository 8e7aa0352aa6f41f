// Every example (each is also a docs recipe) runs here on small data, a few steps.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeSmallCorpus } from '../../examples/shared/small-corpus.js'
import { trainWithGenerator } from '../../examples/keras-port/generator.js'
import { trainWithSequence } from '../../examples/keras-port/sequence.js'
import { classifyFolder } from '../../examples/image-folder.js'
import { trainFromCsv } from '../../examples/csv-labels.js'
import { trainFromLines } from '../../examples/streams.js'
import { trainWithWorkers } from '../../examples/worker-threads.js'
import { trainSkippingBadFiles } from '../../examples/bad-images.js'
import { trainWithFitDataset } from '../../examples/fit-dataset.js'
import { meanPixelByHand, trainInOwnLoop } from '../../examples/own-loop.js'
import { jpegDecoder } from '../../lib/index.js'
import { writeFile, cp } from 'node:fs/promises'

let dir = ''
let corpus = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-examples-'))
  corpus = await makeSmallCorpus(join(dir, 'corpus'), { count: 48 })
})
after(() => rm(dir, { recursive: true, force: true }))

describe('examples', () => {
  it('keras-port/generator: the seed\'s generator, trained with fit and stepsPerEpoch', async () => {
    const h = await trainWithGenerator(corpus, { epochs: 2, verbose: 0 })
    assert.deepEqual(h.stats.steps, [6, 6])
    assert.ok(h.history.loss?.every((l) => Number.isFinite(l)))
  })

  it('keras-port/sequence: the seed\'s BaseSequence, with two workers', async () => {
    const h = await trainWithSequence(corpus, { epochs: 2, verbose: 0 })
    assert.deepEqual(h.stats.steps, [6, 6])
  })

  it('image-folder: a folder of images with a split, augmentation and early stopping', async () => {
    const h = await classifyFolder(corpus, { epochs: 2, size: 32, verbose: 0 })
    assert.equal(h.history.val_loss?.length, 2)
  })

  it('csv-labels: the x_y table, streamed', async () => {
    const h = await trainFromCsv(corpus, { epochs: 2, verbose: 0 })
    assert.deepEqual(h.stats.steps, [3, 3])
  })

  it('streams: lines of a gzipped file through stream.pipeline into fit', async () => {
    const h = await trainFromLines({ epochs: 3, verbose: 0 })
    assert.deepEqual(h.stats.steps, [18, 18, 18])
    assert.ok((h.history.acc?.[2] as number) > 0.5, `accuracy ${h.history.acc?.[2]}`)
  })

  it('worker-threads: parallel decoding and a JavaScript transform in worker threads', async () => {
    const h = await trainWithWorkers(join(dir, 'digits'), { epochs: 1, verbose: 0 })
    assert.deepEqual(h.stats.steps, [29])
  })

  it('bad-images: bad files are skipped and listed', async () => {
    const root = join(dir, 'bad')
    await cp(corpus, root, { recursive: true })
    await writeFile(join(root, 'class_00', 'empty.jpg'), '')
    await writeFile(join(root, 'class_01', 'notes.jpg'), 'not an image')
    const h = await trainSkippingBadFiles(root, { epochs: 2, verbose: 0 })
    assert.deepEqual(h.stats.skipped, [2, 2])
  })

  it('fit-dataset: model.fitDataset on a tfpipe dataset', async () => {
    const h = await trainWithFitDataset({ epochs: 3 })
    assert.equal(h.history.loss?.length, 3)
  })

  it('own-loop: a loop of ones own over toTfDataset, and batches stacked by hand with their images freed', async () => {
    const means = await trainInOwnLoop(corpus, { epochs: 2 })
    assert.equal(means.length, 2)
    assert.ok(means.every((m) => Number.isFinite(m) && m > 0), String(means))
    const byHand = await meanPixelByHand(corpus)
    assert.equal(byHand.means.length, 3) // 48 images in batches of 16
    assert.ok(byHand.means.every((m) => m > 0 && m < 1), String(byHand.means))
    assert.equal(byHand.freed, jpegDecoder() === 'native' ? 48 : 0)
  })
})
