// The ground every operator covers (STYLE.md): laziness, early break closes the
// source, source errors surface, abort stops with the reason, bad arguments throw now.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { batch, cache, concat, filter, flatMap, interleave, map, prefetch, repeat, shard, shuffle, skip, take, tap, zip, type Operator } from '../../lib/index.js'
import { spy, ticks } from '../helpers.js'

const operators: Record<string, () => Operator<number, unknown>> = {
  'map': () => map((x: number) => x),
  'map concurrency 3': () => map(async (x: number) => x, { concurrency: 3 }),
  'map concurrency auto': () => map(async (x: number) => x, { concurrency: 'auto' }),
  'filter': () => filter(() => true),
  'batch': () => batch(2),
  'shuffle window': () => shuffle(2, { seed: 1 }),
  'prefetch': () => prefetch(3),
  'take': () => take(1000),
  'skip': () => skip(0),
  'tap': () => tap(() => undefined),
  'shard': () => shard(1, 0),
  'cache': () => cache(),
  'repeat': () => repeat(1),
  'concat': () => concat([100]),
  'zip': () => zip([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
  'flatMap': () => flatMap((x: number) => [x]),
  'interleave': () => interleave((x: number) => [x], { cycleLength: 2 }),
}

for (const [name, make] of Object.entries(operators)) {
  describe(`${name}: shared contracts`, () => {
    it('pulls nothing before the first next()', async () => {
      const source = spy<number>()
      const it = make()(source)
      await ticks()
      assert.equal(source.pulls, 0)
      await it.return(undefined)
    })

    it('closes the source on early break', async () => {
      const source = spy<number>()
      for await (const _ of make()(source)) break
      await ticks()
      assert.equal(source.returned, true)
    })

    it('raises a source error', async () => {
      const source = spy<number>(undefined, { throwAt: 5, error: new Error('disk gone') })
      await assert.rejects(async () => { for await (const _ of make()(source)) { /* read on */ } }, /disk gone/)
    })

    it('stops with the signal reason when the pipeline aborts, and closes the source', async () => {
      const source = spy<number>(undefined, { stallAt: 4 })
      const ac = new AbortController()
      const reading = (async () => { for await (const _ of make()(source, { signal: ac.signal })) { /* read on */ } })()
      await ticks()
      ac.abort(new Error('user stop'))
      await assert.rejects(reading, /user stop/)
      await ticks()
      assert.equal(source.returned, true)
    })
  })
}
