// take, skip, repeat, concat, zip, flatMap, interleave, cache, shard, tap, filter:
// their own behaviour (the shared contracts are in contracts.spec.ts).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cache, concat, filter, flatMap, from, interleave, map, pipe, repeat, shard, shuffle, skip, take, tap, toArray, zip } from '../../lib/index.js'
import { collect, range, spy, ticks } from '../helpers.js'

describe('take', () => {
  it('takes the first n and never reads past them', async () => {
    const source = spy<number>()
    assert.deepEqual(await collect(take<number>(3)(source)), [0, 1, 2])
    assert.equal(source.pulls, 3)
    assert.equal(source.returned, true)
  })
  it('take(0) reads nothing; sizes', async () => {
    const source = spy<number>()
    assert.deepEqual(await collect(take<number>(0)(source)), [])
    assert.equal(source.pulls, 0)
    assert.equal(pipe(range(10), take(3)).size, 3)
    assert.equal(pipe(range(2), take(3)).size, 2)
    assert.throws(() => take(-1), /take: count must be an integer >= 0, got -1/)
  })
})

describe('skip', () => {
  it('drops the first n; sizes; validation', async () => {
    assert.deepEqual(await toArray(pipe(range(5), skip(2))), [2, 3, 4])
    assert.equal(pipe(range(5), skip(7)).size, 0)
    assert.throws(() => skip(1.5), RangeError)
  })
})

describe('repeat', () => {
  it('re-reads the stages above, with a new shuffle order each time', async () => {
    const out = await toArray(pipe(range(6), shuffle('all', { seed: 2 }), repeat(2)))
    assert.equal(out.length, 12)
    assert.deepEqual([...out.slice(0, 6)].sort(), range(6))
    assert.deepEqual([...out.slice(6)].sort(), range(6))
    assert.notDeepEqual(out.slice(0, 6), out.slice(6))
    assert.equal(pipe(range(6), repeat(3)).size, 18)
  })
  it('forever, cut by take; an empty source ends', async () => {
    assert.deepEqual(await toArray(pipe([1, 2], repeat(), take(5))), [1, 2, 1, 2, 1])
    assert.deepEqual(await toArray(pipe([], repeat())), [])
  })
  it('says so when the source can be read only once', async () => {
    async function* once() { yield 1 }
    await assert.rejects(collect(repeat(2)(once())), /repeat: the source can be read only once/)
  })
})

describe('concat and zip', () => {
  it('concat appends other sources; size adds up', async () => {
    const ds = pipe([1, 2], concat([3], from(function* () { yield 4 })))
    assert.deepEqual(await toArray(ds), [1, 2, 3, 4])
    assert.equal(pipe([1, 2], concat([3, 4])).size, 4)
    assert.equal(ds.size, undefined)
  })
  it('zip pairs items until the shortest ends, closing the longer', async () => {
    const long = spy<number>()
    assert.deepEqual(await toArray(pipe(['a', 'b'], zip(long))), [['a', 0], ['b', 1]])
    assert.equal(long.returned, true)
    assert.equal(pipe([1, 2, 3], zip([1, 2])).size, 2)
  })
})

describe('flatMap and interleave', () => {
  it('flatMap flattens in order, with async inner iterables', async () => {
    const op = flatMap(async (n: number) => spy(range(n)), { concurrency: 2 })
    assert.deepEqual(await collect(op([1, 2, 3])), [0, 0, 1, 0, 1, 2])
  })
  it('interleave takes blockLength items from each of cycleLength inners in turn', async () => {
    const op = interleave((c: string) => [`${c}1`, `${c}2`, `${c}3`], { cycleLength: 2 })
    assert.deepEqual(await collect(op(['a', 'b', 'c'])), ['a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'c1', 'c2', 'c3'])
    const blocks = interleave((c: string) => [`${c}1`, `${c}2`, `${c}3`], { cycleLength: 2, blockLength: 2 })
    assert.deepEqual(await collect(blocks(['a', 'b'])), ['a1', 'a2', 'b1', 'b2', 'a3', 'b3'])
  })
  it('interleave closes every open inner on break', async () => {
    const inners = [spy<number>(), spy<number>()]
    for await (const _ of interleave((i: number) => inners[i] ?? [], { cycleLength: 2 })([0, 1])) break
    await ticks()
    assert.deepEqual(inners.map((s) => s.returned), [true, true])
    assert.throws(() => interleave((x) => [x], { cycleLength: 0 }), /cycleLength must be an integer >= 1, got 0/)
  })
})

describe('cache', () => {
  it('runs the stages above once, then replays', async () => {
    let calls = 0
    const ds = pipe(range(4), map((x: number) => { calls++; return x }), cache())
    assert.deepEqual(await toArray(ds), range(4))
    assert.deepEqual(await toArray(ds), range(4))
    assert.equal(calls, 4)
  })
  it('keeps nothing from a pass stopped early', async () => {
    let calls = 0
    const ds = pipe(range(4), map((x: number) => { calls++; return x }), cache())
    for await (const _ of ds) break
    assert.deepEqual(await toArray(ds), range(4))
    assert.equal(calls, 5)
  })
})

describe('shard, tap, filter', () => {
  it('filter and flatMap pass the epoch to their functions, at any concurrency', async () => {
    for (const concurrency of [1, 3, 'auto'] as const) {
      const seen: Array<number | undefined> = []
      const ds = pipe(range(4), filter((x: number, ctx) => { seen.push(ctx.epoch); return x > 0 }, { concurrency }), flatMap((x: number, ctx) => { seen.push(ctx.epoch); return [x] }, { concurrency }))
      assert.deepEqual(await toArray(ds.iterate({ epoch: 2 })), [1, 2, 3])
      assert.deepEqual(seen, [2, 2, 2, 2, 2, 2, 2], `concurrency ${concurrency}`)
    }
  })

  it('shard splits disjointly and completely', async () => {
    const parts = await Promise.all([0, 1, 2].map((i) => toArray(pipe(range(10), shard(3, i)))))
    assert.deepEqual(parts.flat().sort((a, b) => a - b), range(10))
    assert.deepEqual(parts.map((p) => p.length), [0, 1, 2].map((i) => pipe(range(10), shard(3, i)).size))
    assert.throws(() => shard(3, 3), /shard: index must be an integer from 0 to 2, got 3/)
  })
  it('tap sees each item and passes it on', async () => {
    const seen: number[] = []
    assert.deepEqual(await toArray(pipe([1, 2], tap(async (x: number) => { seen.push(x) }))), [1, 2])
    assert.deepEqual(seen, [1, 2])
  })
  it('filter with an async predicate; size becomes unknown', async () => {
    const ds = pipe(range(10), filter(async (x: number) => x % 3 === 0, { concurrency: 3 }))
    assert.deepEqual(await toArray(ds), [0, 3, 6, 9])
    assert.equal(ds.size, undefined)
    await assert.rejects(toArray(pipe([1], filter(() => { throw new Error('pred broke') }))), /pred broke/)
  })
})
