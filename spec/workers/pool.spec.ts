import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { isMainThread, threadId } from 'node:worker_threads'
import { WorkerPool, fit, pipe, useBestBackend, type Batch } from '../../lib/index.js'
import { denseModel, makeBatch } from '../train/helpers.js'

const transforms = fileURLToPath(new URL('../fixtures/transforms.mjs', import.meta.url))
const loadsTfjs = fileURLToPath(new URL('../fixtures/loads-tfjs.mjs', import.meta.url))

before(async () => { await useBestBackend() })
/** Live worker threads show as MessagePorts among the process's active resources. */
const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length

describe('WorkerPool', () => {
  it('runs the transform in another thread and moves typed arrays without copying', async () => {
    const pool = new WorkerPool({ module: transforms, name: 'doubleXs' }, { threads: 2 })
    try {
      const batch = makeBatch(4, 1)
      const before = Float32Array.from((batch.xs as { data: Float32Array }).data)
      const out = await pool.run(batch) as Batch & { thread: number }
      assert.ok(isMainThread)
      assert.notEqual(out.thread, threadId)
      assert.equal((batch.xs as { data: Float32Array }).data.length, 0, 'the input buffer moved to the worker (detached here)')
      assert.deepEqual(Array.from((out.xs as { data: Float32Array }).data), Array.from(before, (v) => v * 2))
    } finally {
      await pool.destroy()
    }
  })

  it('an error inside a worker reaches the caller with its message and stack', async () => {
    const pool = new WorkerPool({ module: transforms, name: 'explode' })
    try {
      await assert.rejects(pool.run(makeBatch(2)), (err: Error) => {
        assert.match(err.message, /feature extraction failed in worker/)
        assert.match(err.stack ?? '', /transforms\.mjs/)
        return true
      })
    } finally {
      await pool.destroy()
    }
  })

  it('refuses a missing module, a missing export, and a module that loads tfjs', async () => {
    assert.throws(() => new WorkerPool({ module: '/nope/missing.js', name: 'f' }), /transform module \/nope\/missing\.js does not exist/)
    assert.throws(() => new WorkerPool({ module: transforms, name: '' }), /transform must be \{ module: string, name: string \}/)
    const bad = new WorkerPool({ module: transforms, name: 'notAFunction' })
    await assert.rejects(bad.run(1), /has no exported function "notAFunction"/)
    await bad.destroy()
    const tfjs = new WorkerPool({ module: loadsTfjs, name: 'ok' })
    await assert.rejects(tfjs.run(1), /loads tfjs; code run in worker threads must not/)
    await tfjs.destroy()
  })
})

describe('fit with useMultiprocessing', () => {
  it('runs the transform on every batch in worker threads and tears the pool down after', async () => {
    const before = ports()
    // fresh arrays per epoch, as decoding gives: they move to the workers without copying
    const h = await fit(denseModel(), function* fresh() { for (let i = 0; i < 6; i++) yield makeBatch(4, i) }, {
      epochs: 2, verbose: 0, workers: 2, useMultiprocessing: true, transform: { module: transforms, name: 'doubleXs' },
    })
    assert.deepEqual(h.stats.steps, [6, 6])
    assert.equal(ports(), before, 'no worker thread left')
  })

  it('the same batch objects sent twice (an array source) get a clear error, not a clone failure', async () => {
    await assert.rejects(fit(denseModel(), pipe([makeBatch(4)]), { epochs: 2, verbose: 0, useMultiprocessing: true, transform: { module: transforms, name: 'doubleXs' } }),
      /a batch object can be sent only once: make fresh arrays per epoch/)
  })

  it('a worker thread that crashes is reported, naming the batch; the pool is torn down', async () => {
    const before = ports()
    await assert.rejects(fit(denseModel(), function* fresh() { for (let i = 0; i < 3; i++) yield makeBatch(4, i) }, { verbose: 0, useMultiprocessing: true, transform: { module: transforms, name: 'crash' } }),
      /useMultiprocessing: the transform failed on batch 0 of this pass: .*(exit|terminat)/i)
    assert.equal(ports(), before, 'no worker thread left')
  })

  it('options refused before training start no worker thread', async () => {
    const before = ports()
    async function* once() { yield makeBatch(4) }
    await assert.rejects(fit(denseModel(), once(), { epochs: 2, verbose: 0, useMultiprocessing: true, transform: { module: transforms, name: 'doubleXs' } }), /stepsPerEpoch is required/)
    assert.equal(ports(), before)
  })

  it('a worker error rejects fit with it', async () => {
    await assert.rejects(fit(denseModel(), pipe([makeBatch(4)]), { verbose: 0, useMultiprocessing: true, transform: { module: transforms, name: 'explode' } }), /feature extraction failed in worker/)
  })
})
