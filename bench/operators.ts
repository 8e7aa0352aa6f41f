// bench/operators: a five-stage chain over many small items, side by side in one run:
//   tfpipe:   pipe(source, map, filter, map(concurrency 4), batch(32), prefetch(4))
//   node:     Readable.from(source).map().filter().map({ concurrency: 4 }) -> batch -> Readable buffer of 4
//   hand:     one hand-written async generator doing the same work, sequentially (the floor of overhead)
// Prints items/s for each and the ratios; writes bench/results/operators.json.
// usage: npm run bench:operators -- [--items 1000000] [--rounds 3]
import { Readable } from 'node:stream'
import { writeFileSync, mkdirSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { batch, filter, map, pipe, prefetch } from '../lib/index.js'

const { values } = parseArgs({ options: { items: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } } })
const N = Number(values.items)
const rounds = Number(values.rounds)

const f1 = (x: number): number => x * 2
const keep = (x: number): boolean => x % 3 !== 0
const f3 = async (x: number): Promise<number> => x + 1

function* source(): Generator<number> { for (let i = 0; i < N; i++) yield i }

async function consume(it: AsyncIterable<number[]>): Promise<number> {
  let n = 0
  for await (const b of it) n += b.length
  return n
}

async function* batchBy<T>(src: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let buf: T[] = []
  for await (const x of src) { buf.push(x); if (buf.length === size) { yield buf; buf = [] } }
  if (buf.length > 0) yield buf
}

const chains: Record<string, () => Promise<number>> = {
  tfpipe: () => consume(pipe(source, map(f1), filter(keep), map(f3, { concurrency: 4 }), batch(32), prefetch(4))),
  'node streams': () => {
    const s = Readable.from(source()).map(f1).filter(keep).map(f3, { concurrency: 4 })
    return consume(Readable.from(batchBy(s, 32), { objectMode: true, highWaterMark: 4 }))
  },
  'hand-written': () => consume((async function* hand() {
    let buf: number[] = []
    for (const i of source()) {
      const a = f1(i)
      if (!keep(a)) continue
      buf.push(await f3(a))
      if (buf.length === 32) { yield buf; buf = [] }
    }
    if (buf.length > 0) yield buf
  })()),
}

const expected = Math.ceil(N * 2 / 3)
const best: Record<string, number> = {}
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(chains)) {
    const t0 = performance.now()
    const n = await run()
    const s = (performance.now() - t0) / 1000
    if (Math.abs(n - expected) > 1) throw new Error(`${name} produced ${n} items, expected ${expected}`)
    best[name] = Math.max(best[name] ?? 0, n / s)
  }
}
const ours = best.tfpipe as number
console.log(`five-stage chain over ${N.toLocaleString('en')} items, best of ${rounds} rounds (items/s out of the chain):`)
for (const [name, v] of Object.entries(best)) {
  console.log(`  ${name.padEnd(14)} ${Math.round(v).toLocaleString('en').padStart(12)}   tfpipe/${name} = ${(ours / v).toFixed(2)}x`)
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/operators.json', import.meta.url), JSON.stringify({ items: N, rounds, itemsPerSecond: best, node: process.version, date: new Date().toISOString() }, null, 2))
