import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { batch, pipe, toArray } from '../../lib/index.js'
import { collect, range, spy } from '../helpers.js'

describe('batch', () => {
  it('groups items, the last batch shorter', async () => {
    assert.deepEqual(await toArray(pipe(range(5), batch(2))), [[0, 1], [2, 3], [4]])
  })
  it('drops a short last batch with dropRemainder', async () => {
    assert.deepEqual(await toArray(pipe(range(5), batch(2, { dropRemainder: true }))), [[0, 1], [2, 3]])
  })
  it('carries the size through', () => {
    assert.equal(pipe(range(5), batch(2)).size, 3)
    assert.equal(pipe(range(5), batch(2, { dropRemainder: true })).size, 2)
  })
  it('handles empty, sync and async sources', async () => {
    assert.deepEqual(await collect(batch(3)([])), [])
    assert.deepEqual(await collect(batch(3)(spy([1, 2, 3, 4]))), [[1, 2, 3], [4]])
  })
  it('throws bad sizes synchronously', () => {
    assert.throws(() => batch(2.5), /batch: size must be an integer >= 1, got 2.5/)
    assert.throws(() => batch(0), RangeError)
    assert.throws(() => batch('3' as never), TypeError)
  })
  it('pulls only one batch ahead of what it yields', async () => {
    const source = spy<number>()
    const it = batch(4)(source)
    await it.next()
    assert.equal(source.pulls, 4)
    await it.return()
  })
  it('property: flattening batch(n) gives the input back', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.anything(), { maxLength: 50 }), fc.integer({ min: 1, max: 9 }), async (xs, n) => {
      const batches = await collect(batch(n)(xs))
      assert.deepEqual(batches.flat(), xs)
      assert.ok(batches.every((b, i) => b.length === n || i === batches.length - 1))
    }))
  })
})
