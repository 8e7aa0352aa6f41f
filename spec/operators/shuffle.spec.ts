import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { pipe, shuffle, toArray } from '../../lib/index.js'
import { collect, range } from '../helpers.js'

describe('shuffle', () => {
  it('the same seed gives the same order; another seed another order', async () => {
    const a = await toArray(pipe(range(50), shuffle('all', { seed: 3 })))
    const b = await toArray(pipe(range(50), shuffle('all', { seed: 3 })))
    const c = await toArray(pipe(range(50), shuffle('all', { seed: 4 })))
    assert.deepEqual(a, b)
    assert.notDeepEqual(a, c)
    assert.notDeepEqual(a, range(50))
  })
  it('reshuffles each epoch, reproducibly', async () => {
    const ds = pipe(range(30), shuffle('all', { seed: 9 }))
    const e0 = await toArray(ds)
    const e1 = await toArray(ds)
    assert.notDeepEqual(e0, e1)
    const again = pipe(range(30), shuffle('all', { seed: 9 }))
    assert.deepEqual([await toArray(again), await toArray(again)], [e0, e1])
    assert.deepEqual(await toArray(ds.iterate({ epoch: 1 })), e1)
  })
  it('a window only moves items within reach of the window', async () => {
    const out = await toArray(pipe(range(100), shuffle(4, { seed: 1 })))
    out.forEach((x, i) => assert.ok(x <= i + 4, `${x} at ${i}`))
  })
  it('throws bad arguments synchronously', () => {
    assert.throws(() => shuffle(0), /shuffle: window must be an integer >= 1, got 0/)
    assert.throws(() => shuffle('some' as never), TypeError)
    assert.throws(() => shuffle(3, { seed: 1.5 }), /seed must be an integer/)
  })
  it('keeps the size', () => {
    assert.equal(pipe(range(7), shuffle(3)).size, 7)
  })
  it('property: a permutation, the same for the same seed and epoch', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer(), { maxLength: 60 }), fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constant('all' as const)), fc.integer(),
      async (xs, window, seed) => {
        const a = await collect(shuffle<number>(window, { seed })(xs, { epoch: 2 }))
        const b = await collect(shuffle<number>(window, { seed })(xs, { epoch: 2 }))
        assert.deepEqual([...a].sort((p, q) => p - q), [...xs].sort((p, q) => p - q))
        assert.deepEqual(a, b)
      }))
  })
})
