// Does holding decoded images slow the decode epochs that follow, in the same process?
// (Seen in tfpipe-fit --overlap, whose in-memory epochs hold a cache: its pipeline-alone epochs
// cost 1.17 ms of CPU per image there against 0.78 in a process of their own.)
// Runs itself in child processes, alternating: `drop` reads one epoch and keeps nothing, `hold`
// keeps that epoch's batches (2 000 images of 224x224x3, 300 MB); then each times 5 epochs of
// the pipeline alone (csv -> shuffle -> map(imageSample) -> batch(32) -> prefetch(2)), with the
// process's CPU and V8's major collections (mark-compacts) per epoch. --fit: 5 epochs of fit (the
// bench's tiny model) from the same pipeline instead, whose sink frees each image once stacked.
// usage: tsx bench/held.ts CORPUS [--pairs 3] [--fit]
import { spawnSync } from 'node:child_process'
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuSince, median } from './measure.js'
import { benchData, tinyModel } from './workload.js'
import { fit, useBestBackend } from '../lib/index.js'

const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { pairs: { type: 'string', default: '3' }, child: { type: 'string' }, fit: { type: 'boolean', default: false } } })
const corpus = positionals[0]
if (corpus === undefined) throw new Error('usage: tsx bench/held.ts CORPUS [--pairs 3] [--fit]')

if (o.child !== undefined) {
  await useBestBackend({ warn: () => undefined })
  const { data, classes } = await benchData(corpus)
  const held: unknown[] = []
  for await (const b of data) if (o.child === 'hold') held.push(b)
  let majors = 0
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++
  }).observe({ entryTypes: ['gc'] })
  const epochs: Array<{ seconds: number, cpu: number, majors: number }> = []
  let c0 = process.cpuUsage()
  let t0 = performance.now()
  let m0 = majors
  const begin = () => { c0 = process.cpuUsage(); t0 = performance.now(); m0 = majors }
  const end = async () => {
    await new Promise((r) => setImmediate(r)) // let the observer report this epoch's collections
    epochs.push({ seconds: (performance.now() - t0) / 1000, cpu: cpuSince(c0), majors: majors - m0 })
  }
  if (o.fit) {
    await fit(tinyModel(224, classes), data, { epochs: 5, verbose: 0, callbacks: { onEpochBegin: async () => { begin() }, onEpochEnd: end } })
  } else {
    for (let e = 0; e < 5; e++) {
      begin()
      for await (const _ of data) { /* the pipeline alone */ }
      await end()
    }
  }
  console.log(JSON.stringify({ mode: o.child, held: held.length, epochs }))
} else {
  const self = fileURLToPath(import.meta.url)
  const rows: Array<{ mode: string, seconds: number, cpu: number, majors: number }> = []
  for (let i = 0; i < Number(o.pairs); i++) {
    for (const mode of ['drop', 'hold']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', self, corpus, '--child', mode, ...(o.fit ? ['--fit'] : [])], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } })
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
      if (r.status !== 0 || line === undefined) throw new Error(`held: the ${mode} run failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
      const { epochs } = JSON.parse(line) as { epochs: Array<{ seconds: number, cpu: number, majors: number }> }
      const row = { mode, seconds: median(epochs.map((e) => e.seconds)), cpu: median(epochs.map((e) => e.cpu)), majors: median(epochs.map((e) => e.majors)) }
      rows.push(row)
      console.log(`pair ${i + 1}, ${mode}${o.fit ? ' (fit)' : ''}: epoch ${row.seconds.toFixed(2)} s, CPU ${row.cpu.toFixed(2)} s, mark-compacts ${row.majors} (medians of 5 epochs)`)
    }
  }
  const of = (mode: string, k: 'seconds' | 'cpu' | 'majors') => median(rows.filter((r) => r.mode === mode).map((r) => r[k]))
  console.log(`hold / drop, medians of the pairs: epoch ${(of('hold', 'seconds') / of('drop', 'seconds')).toFixed(2)}x, CPU ${(of('hold', 'cpu') / of('drop', 'cpu')).toFixed(2)}x, mark-compacts per epoch ${of('hold', 'majors')} against ${of('drop', 'majors')}`)
}
