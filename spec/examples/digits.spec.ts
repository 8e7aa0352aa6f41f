import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { trainDigits } from '../../examples/digits/train.js'
import { prepareDigits } from '../../examples/digits/prepare.js'

describe('examples/digits (the main job, npm run demo)', () => {
  it('writes the shipped digits as a folder of PNGs, one sub-folder per class', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-digits-'))
    try {
      const root = await prepareDigits(join(dir, 'data'))
      const classes = (await readdir(root)).filter((n) => !n.startsWith('.')).sort()
      assert.deepEqual(classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
      let files = 0
      for (const c of classes) files += (await readdir(join(root, c))).length
      assert.equal(files, 1797)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('trains a small CNN through imageFolder -> shuffle -> map(decode) -> batch -> prefetch -> fit to >= 90% validation accuracy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-digits-'))
    try {
      const { history, model } = await trainDigits({ epochs: 8, dataDir: join(dir, 'data'), fitOptions: { verbose: 0 } })
      const acc = history.history.val_acc ?? []
      const last = Number(acc[acc.length - 1])
      assert.ok(last >= 0.9, `validation accuracy ${last}`)
      assert.equal(history.stats.steps[0], 45, '1438 training images in batches of 32')
      model.dispose()
      assert.ok(tf.memory().numTensors < 50, `tensors left: ${tf.memory().numTensors}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
