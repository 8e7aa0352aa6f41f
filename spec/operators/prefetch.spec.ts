import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { pipe, prefetch, toArray, map } from '../../lib/index.js'
import { collect, spy, ticks } from '../helpers.js'

describe('prefetch', () => {
  it('reads ahead while the consumer is busy, never more than n', async () => {
    for (const n of [1, 2, 5]) {
      const source = spy<number>()
      const it = prefetch<number>(n)(source)
      await it.next()
      for (let consumed = 1; consumed < 12; consumed++) {
        await ticks(20) // the consumer is busy; the read-ahead fills
        assert.equal(source.pulls - consumed, n, `n=${n}: ${source.pulls - consumed} ahead`)
        await it.next()
      }
      await it.return()
      assert.equal(source.returned, true)
    }
  })
  it('works behind a concurrent map without exceeding either bound', async () => {
    const source = spy<number>()
    const ds = pipe(source, map(async (x: number) => x, { concurrency: 2, readAhead: 1 }), prefetch(3))
    let consumed = 0
    for await (const _ of ds) {
      consumed++
      await ticks(20)
      assert.ok(source.pulls - consumed <= 3 + 2 + 1 + 1, `ahead ${source.pulls - consumed}`)
      if (consumed === 15) break
    }
    await ticks()
    assert.equal(source.returned, true)
  })
  it('throws bad arguments synchronously', () => {
    assert.throws(() => prefetch(0), /prefetch: n must be an integer >= 1, got 0/)
  })
  it('delivers a source error after the items read before it', async () => {
    const out: number[] = []
    await assert.rejects(async () => { for await (const x of prefetch<number>(4)(spy([0, 1, 2, 3], { throwAt: 3 }))) out.push(x) }, /failed at 3/)
    assert.deepEqual(out, [0, 1, 2])
  })
  it('keeps the size', () => {
    assert.equal(pipe([1, 2, 3], prefetch(2)).size, 3)
  })
  it('property: changes nothing but timing', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.anything(), { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (xs, n) => {
      assert.deepEqual(await collect(prefetch(n)(xs)), xs)
      assert.deepEqual(await toArray(pipe(xs, prefetch(n), prefetch(1))), xs)
    }))
  })
})
