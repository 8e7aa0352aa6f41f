import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { map, pipe, toArray } from '../../lib/index.js'
import { collect, deferred, range, spy, ticks } from '../helpers.js'

describe('map', () => {
  it('applies a sync or async function, in order, with the index', async () => {
    assert.deepEqual(await toArray(pipe([1, 2, 3], map((x: number) => x * 10))), [10, 20, 30])
    assert.deepEqual(await toArray(pipe([1, 2, 3], map(async (x: number, { index }) => `${index}:${x}`))), ['0:1', '1:2', '2:3'])
  })

  it('reads sync and async sources, and an empty one', async () => {
    assert.deepEqual(await collect(map((x: number) => x + 1)(new Set([1, 2]))), [2, 3])
    assert.deepEqual(await collect(map((x: number) => x + 1)(spy([1, 2]))), [2, 3])
    assert.deepEqual(await collect(map((x: number) => x, { concurrency: 3 })([])), [])
  })

  it('throws bad arguments synchronously, naming the range and the value', () => {
    assert.throws(() => map((x) => x, { concurrency: 0 }), /map: concurrency must be an integer >= 1, got 0/)
    assert.throws(() => map((x) => x, { concurrency: 2.5 }), RangeError)
    assert.throws(() => map('nope' as never), /map: fn must be a function, got "nope"/)
    assert.throws(() => map((x) => x, { readAhead: -1 }), /readAhead must be an integer >= 0, got -1/)
  })

  it('raises a source error after the items before it', async () => {
    const out: number[] = []
    await assert.rejects(async () => {
      for await (const x of map((x: number) => x, { concurrency: 3 })(spy([0, 1, 2, 3], { throwAt: 2 }))) out.push(x)
    }, /source failed at 2/)
    assert.deepEqual(out, [0, 1])
  })

  it('raises the function error and aborts calls in flight, closing the source', async () => {
    const source = spy<number>()
    const aborted: number[] = []
    const op = map(async (x: number, { signal }) => {
      if (x === 1) throw new Error('bad item 1')
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => { aborted.push(x); resolve() }))
      return x
    }, { concurrency: 3 })
    await assert.rejects(collect(op(source)), /bad item 1/)
    assert.ok(aborted.length > 0, 'in-flight calls saw the abort')
    assert.equal(source.returned, true)
  })

  it('closes the source on early break', async () => {
    const source = spy<number>()
    for await (const x of map((x: number) => x, { concurrency: 4 })(source)) if (x === 2) break
    assert.equal(source.returned, true)
  })

  it('stops with the signal reason and closes the source, even while waiting', async () => {
    const source = spy<number>(undefined, { stallAt: 1 })
    const ac = new AbortController()
    const it = map((x: number) => x, { signal: ac.signal, concurrency: 2 })(source)
    assert.deepEqual(await it.next(), { done: false, value: 0 })
    const pending = it.next()
    await ticks()
    ac.abort(new Error('stop now'))
    await assert.rejects(pending, /stop now/)
    assert.equal(source.returned, true)
  })

  it('is lazy: nothing is pulled before the first next()', async () => {
    const source = spy<number>()
    const it = map((x: number) => x, { concurrency: 4 })(source)
    await ticks()
    assert.equal(source.pulls, 0)
    await it.next()
    assert.ok(source.pulls > 0)
    await it.return()
  })

  it('never pulls more than concurrency + readAhead ahead of the consumer', async () => {
    for (const [concurrency, readAhead] of [[1, 0], [2, 0], [3, 2], [4, 4]] as const) {
      const source = spy<number>()
      const gate = deferred()
      const it = map(async (x: number) => { await gate.promise; return x }, { concurrency, readAhead })(source)
      const first = it.next()
      await ticks(30)
      // the consumer has asked once: the calls running are bounded by concurrency
      assert.ok(source.pulls <= concurrency, `pulls ${source.pulls} <= ${concurrency}`)
      gate.resolve()
      await first
      await ticks(30)
      for (let consumed = 1; consumed < 20; consumed++) {
        assert.ok(source.pulls - consumed <= concurrency + readAhead, `ahead ${source.pulls - consumed} <= ${concurrency + readAhead}`)
        await it.next()
        await ticks(5)
      }
      await it.return()
    }
  })

  it('runs calls concurrently up to the limit', async () => {
    let running = 0
    let peak = 0
    const op = map(async (x: number) => { running++; peak = Math.max(peak, running); await ticks(3); running--; return x }, { concurrency: 3 })
    assert.deepEqual(await collect(op(range(12))), range(12))
    assert.equal(peak, 3)
  })

  it('unordered delivers as calls finish', async () => {
    const gates = [deferred(), deferred()]
    const op = map(async (x: number) => { await gates[x]?.promise; return x }, { concurrency: 2, ordered: false })
    const it = op([0, 1])
    const first = it.next()
    await ticks()
    gates[1]?.resolve()
    assert.deepEqual(await first, { done: false, value: 1 })
    gates[0]?.resolve()
    assert.deepEqual(await it.next(), { done: false, value: 0 })
  })

  it('property: ordered map keeps order at any concurrency and any call timing', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer(), { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(4)),
      async (xs, concurrency, delays) => {
        const op = map(async (x: number, { index }) => { await ticks(delays[index % Math.max(1, delays.length)] ?? 0); return x * 2 }, { concurrency })
        assert.deepEqual(await collect(op(xs)), xs.map((x) => x * 2))
      }), { numRuns: 60 })
  })
})
