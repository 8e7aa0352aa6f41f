// Faults and stopping: nothing is left behind (tensors, file descriptors, the process exits),
// and a run killed with SIGKILL mid-epoch resumes from its last checkpoint with the same remaining batches.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readdir, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { batch, collate, fit, imageFolder, imageSample, map, pipe, useBestBackend } from '../../lib/index.js'
import { makeSmallCorpus } from '../../examples/shared/small-corpus.js'

const killScript = fileURLToPath(new URL('../fixtures/killable-run.ts', import.meta.url))
let dir = ''
before(async () => { await useBestBackend({ warn: () => undefined }); dir = await mkdtemp(join(tmpdir(), 'tfpipe-faults-')) })
after(() => rm(dir, { recursive: true, force: true }))

const openFds = async () => (await readdir('/proc/self/fd')).length

describe('faults', () => {
  it('a transform that throws mid-epoch rejects fit with the cause; no tensors or file descriptors are left', async () => {
    const corpus = await makeSmallCorpus(join(dir, 'corpus'), { count: 24 })
    const model = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [16, 16, 3] }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
    const load = imageSample({ size: [16, 16], numClasses: 2 })
    await fit(model, pipe(imageFolder(corpus), map(load, { concurrency: 4 }), batch(4), collate()), { verbose: 0 })
    const tensors = tf.memory().numTensors
    const fds = await openFds()
    let n = 0
    const failing = map(async (item: Parameters<typeof load>[0]) => { if (++n === 11) throw new Error('feature code crashed on item 11'); return load(item) }, { concurrency: 4 })
    await assert.rejects(fit(model, pipe(imageFolder(corpus), failing, batch(4), collate()), { epochs: 2, verbose: 0 }), /feature code crashed on item 11/)
    await new Promise((r) => setTimeout(r, 50)) // in-flight decodes settle
    assert.equal(tf.memory().numTensors, tensors)
    assert.ok(await openFds() <= fds, `file descriptors: ${await openFds()} after, ${fds} before`)
  })

  it('a run killed with SIGKILL mid-epoch resumes from its last checkpoint with the same remaining batches', async () => {
    const ckpt = join(dir, 'ckpt')
    // the whole run's batch order, uninterrupted
    const full = spawnSync(process.execPath, ['--import', 'tsx', killScript, join(dir, 'none'), 'full'], { encoding: 'utf8', timeout: 120_000 })
    assert.equal(full.status, 0, full.stderr)
    const order = JSON.parse(full.stdout.trim().split('\n').pop() as string) as number[]
    // the same run, killed once it has trained 13 batches (checkpoints every 4)
    const child = spawn(process.execPath, ['--import', 'tsx', killScript, ckpt, 'slow'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let trained = 0
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        trained += (d.toString().match(/step/g) ?? []).length
        if (trained >= 13 && child.exitCode === null) { child.kill('SIGKILL'); resolve() }
      })
      child.on('exit', () => resolve())
    })
    await new Promise((r) => child.once('exit', r).once('close', r))
    assert.equal(child.signalCode, 'SIGKILL')
    const position = JSON.parse(await readFile(join(ckpt, 'position.json'), 'utf8')) as { epoch: number, step: number }
    const done = position.epoch * 10 + position.step
    assert.ok(done >= 8 && done <= trained, `checkpoint at ${done} trained batches, killed after ${trained}`)
    // resume: exactly the batches after the checkpoint, in the same order
    const rest = spawnSync(process.execPath, ['--import', 'tsx', killScript, ckpt, 'resume'], { encoding: 'utf8', timeout: 120_000 })
    assert.equal(rest.status, 0, rest.stderr)
    assert.deepEqual(JSON.parse(rest.stdout.trim().split('\n').pop() as string), order.slice(done))
  })
})
