import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { batch, filter, map, pipe, prefetch, shuffle, toArray, toStream, drain, forEach } from '../lib/index.js'
import { range, spy } from './helpers.js'

describe('Node stream interop', () => {
  it('operators work unchanged inside stream.pipeline', async () => {
    const out: number[][] = []
    await pipeline(
      Readable.from(range(7)),
      map((x: number) => x * 2, { concurrency: 2 }),
      filter((x: number) => x !== 4),
      batch<number>(3),
      async (source: AsyncIterable<number[]>) => { for await (const b of source) out.push(b) },
    )
    assert.deepEqual(out, [[0, 2, 6], [8, 10, 12]])
  })

  it('a Dataset is piped from any Readable', async () => {
    const lines = Readable.from(['a', 'bb', 'ccc'])
    assert.deepEqual(await toArray(pipe(lines, map((s: string) => s.length))), [1, 2, 3])
  })

  it('toStream() gives an object-mode Readable that feeds a Writable with backpressure', async () => {
    const source = spy(range(50))
    const got: number[] = []
    await pipeline(toStream(pipe(source, map((x: number) => x + 1))), new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(chunk: number, _enc, done) { got.push(chunk); setImmediate(done) },
    }))
    assert.deepEqual(got, range(50).map((x) => x + 1))
  })

  it('destroying the stream closes the source', async () => {
    const source = spy<number>()
    const stream = toStream(pipe(source, prefetch(2)))
    for await (const x of stream) if (x === 3) break
    await new Promise((r) => setImmediate(r))
    assert.equal(source.returned, true)
  })

  it('an aborted pipeline stops the operators with the reason', async () => {
    const ac = new AbortController()
    const source = spy<number>(undefined, { stallAt: 3 })
    const run = pipeline(source, shuffle<number>(2, { seed: 1 }), async (s: AsyncIterable<number>) => { for await (const _ of s) { /* read */ } }, { signal: ac.signal })
    setImmediate(() => ac.abort())
    await assert.rejects(run, { name: 'AbortError' })
  })

  it('sinks: drain counts, forEach awaits, and the signal stops them', async () => {
    assert.equal(await drain(pipe(range(10), batch(3))), 4)
    const seen: number[] = []
    await forEach([1, 2], async (x: number) => { seen.push(x) })
    assert.deepEqual(seen, [1, 2])
    const ac = new AbortController()
    ac.abort(new Error('cancelled'))
    await assert.rejects(toArray(spy<number>(), { signal: ac.signal }), /cancelled/)
  })
})
