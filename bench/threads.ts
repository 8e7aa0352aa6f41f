// Where a fit's CPU goes, per epoch and per thread (Linux /proc): the bench's pipeline and tiny
// model (csv -> shuffle -> map(imageSample) -> batch(32) -> prefetch(2) -> fit, 224x224).
// For each epoch: wall time, CPU of every thread that used any (tids in creation order; the
// main thread first, with the time it spent runnable but waiting for a core, from schedstat),
// and cores busy. Threads are shown by id and name: the JPEG decodes run on `tfpipe-decode`
// threads (tfpipe's own since the tenth session; before, libuv's pool, the four threads at ~0.4 s
// each in the seventh session's runs), V8's helpers and TensorFlow's intra-op pool come as `node`.
// usage: tsx bench/threads.ts CORPUS [--epochs 4] [--input-only] [--concurrency 16|auto]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { threadCpuSeconds, threadIds, threadName } from './measure.js'
import { benchData, drainFreeing, tinyModel } from './workload.js'
import { fit, useBestBackend } from '../lib/index.js'

const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { epochs: { type: 'string', default: '4' }, 'input-only': { type: 'boolean', default: false }, concurrency: { type: 'string', default: '16' } } })
const corpus = positionals[0]
if (corpus === undefined) throw new Error('usage: tsx bench/threads.ts CORPUS [--epochs 4] [--input-only] [--concurrency 16|auto]')
const concurrency = o.concurrency === 'auto' ? 'auto' : Number(o.concurrency) // map checks it
const epochs = Number(o.epochs)
await useBestBackend()

const main = String(process.pid)
interface Sample { cpu: Map<string, number>, mainWait: number, t: number }
const names = new Map<string, string>()
function sample(): Sample {
  const cpu = new Map<string, number>()
  let mainWait = 0
  for (const tid of threadIds()) {
    try {
      cpu.set(tid, threadCpuSeconds(tid))
      if (!names.has(tid)) names.set(tid, threadName(tid) ?? '')
      if (tid === main) mainWait = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9
    } catch { /* a thread that ended meanwhile */ }
  }
  return { cpu, mainWait, t: performance.now() }
}
function report(label: string, a: Sample, b: Sample): void {
  const wall = (b.t - a.t) / 1000
  const used = [...b.cpu].map(([tid, c]) => [tid, c - (a.cpu.get(tid) ?? 0)] as const).filter(([, c]) => c > 0.005)
    .sort(([x], [y]) => (x === main ? -1 : y === main ? 1 : Number(x) - Number(y)))
  const total = used.reduce((s, [, c]) => s + c, 0)
  const parts = used.map(([tid, c]) => `${tid === main ? 'main' : `${tid} ${names.get(tid) ?? ''}`} ${c.toFixed(2)}${tid === main ? ` (+${(b.mainWait - a.mainWait).toFixed(2)} waiting for a core)` : ''}`)
  console.log(`${label}: wall ${wall.toFixed(2)} s, CPU ${total.toFixed(2)} s (${(total / wall).toFixed(2)} cores): ${parts.join(', ')}`)
}

const { data, classes } = await benchData(corpus, concurrency)
if (o['input-only']) {
  for (let e = 0; e < epochs; e++) {
    const a = sample()
    await drainFreeing(data)
    report(`input pipeline, epoch ${e}`, a, sample())
  }
} else {
  const model = tinyModel(224, classes)
  let a = sample()
  await fit(model, data, { epochs, verbose: 0, callbacks: { onEpochBegin: async () => { a = sample() }, onEpochEnd: async (e) => { report(`fit, epoch ${e}`, a, sample()) } } })
}
