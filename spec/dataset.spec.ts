import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { batch, filter, from, map, pipe, prefetch, shuffle, take, toArray } from '../lib/index.js'
import { range, spy } from './helpers.js'

describe('Dataset', () => {
  it('is re-iterable: each for await is a fresh epoch from the source', async () => {
    const source = spy([1, 2, 3])
    const ds = pipe(source, map((x: number) => x * 2))
    assert.deepEqual(await toArray(ds), [2, 4, 6])
    assert.deepEqual(await toArray(ds), [2, 4, 6])
    assert.equal(source.opened, 2)
  })

  it('calls a generator function again for every epoch', async () => {
    let calls = 0
    const ds = from(function* gen() { calls++; yield 1; yield 2 })
    assert.deepEqual([await toArray(ds), await toArray(ds)], [[1, 2], [1, 2]])
    assert.equal(calls, 2)
  })

  it('carries the size through map, batch, take, shuffle, prefetch, not filter', () => {
    assert.equal(pipe(range(100), map((x: number) => x), shuffle(10), batch(32), prefetch(2)).size, 4)
    assert.equal(pipe(range(100), take(10), batch(3)).size, 4)
    assert.equal(pipe(range(100), filter(() => true), batch(3)).size, undefined)
  })

  it('summary() names the chain', () => {
    const s = pipe(range(3), map(function decode(x: number) { return x }), batch(2)).summary()
    assert.equal(s, 'from(array[3]) -> map(decode) -> batch(2)  [size 2]')
  })

  it('is lazy: building it reads nothing', async () => {
    const source = spy<number>()
    pipe(source, map((x: number) => x, { concurrency: 4 }), prefetch(4))
    assert.equal(source.pulls, 0)
  })

  it('a Readable is one-shot, and a second pass says why', async () => {
    const ds = pipe(Readable.from([1, 2, 3]), map((x: number) => x + 1))
    assert.equal(ds.oneShot, true)
    assert.deepEqual(await toArray(ds), [2, 3, 4])
    await assert.rejects(toArray(ds), /can be read only once/)
  })

  it('a generator object is one-shot', async () => {
    function* gen() { yield 1 }
    const ds = from(gen())
    assert.equal(ds.oneShot, true)
    assert.deepEqual(await toArray(ds), [1])
    await assert.rejects(toArray(ds), /read only once/)
  })

  it('rejects what is not a source, and stages that are not functions', () => {
    assert.throws(() => from(42 as never), /from: expected an array, iterable, async iterable, generator function or Readable, got number/)
    assert.throws(() => pipe([1], 'map' as never), /pipe: stage 1 must be a function/)
  })

  it('takes a plain (source) => iterable function as a stage', async () => {
    async function* double(source: AsyncIterable<number>) { for await (const x of source) yield x * 2 }
    assert.deepEqual(await toArray(pipe([1, 2], double as never)), [2, 4])
  })
})
