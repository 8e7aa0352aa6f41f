// tfpipe as a peer: the same job as ../shared/bench/peers (tiny model: global
// average pooling + dense, sgd; 224x224, batch 32; best epoch after the first),
// with tfpipe's pipeline: csv -> shuffle -> map(decode) -> batch -> prefetch -> fit (the sink stacks
// each batch's images straight into the floats it hands TensorFlow; --collate adds collate() before prefetch).
// usage: tsx bench/tfpipe-fit.ts CORPUS [--size 224] [--batch 32] [--epochs 3] [--concurrency 16|auto [--max-concurrency 64]] [--kernel linear]
//        [--input-only | --in-memory | --overlap ROUNDS] [--model tiny|cnn] [--collate] [--dct accurate|fast] [--intra-op N]
// --intra-op N: useBestBackend({ intraOpThreads: N }), TensorFlow's intra-op threads (default: its own, one per core)
// --tfjs-kernels: useBestBackend({ fastKernels: false }), tfjs' own Step kernel (ReLU's gradient) and Mean and Sum
// gradients instead of tfpipe's
// --fit-dataset: tfjs' own loop, model.fitDataset(toTfDataset(pipeline)), instead of tfpipe's fit
// --loop [--release]: a training loop of the user's own (collateSamples, tensors by hand, model.trainOnBatch);
// --release frees each batch's decoded images once stacked (releaseImages); --loop-dataset: the loop over
// toTfDataset(pipeline)'s iterator instead
// prints one JSON line like the peers: {"peer": ..., "images_per_s": ..., "peak_rss_mb": ...}
// --overlap ROUNDS: in one process and one model, ROUNDS rounds of three epochs taken in turn (the order
// rotating from round to round): fit from the pipeline, fit on the same batches held in memory, and the
// pipeline alone; prints each round's three times and fit / max(the other two), and their medians.
// Adjacent epochs share the machine's slow and fast spells, which separate processes minutes apart do not.
// Each round also has each epoch's count of V8's major collections (KIND + 'MajorGcs'); node_flags: the process's
// own Node and V8 flags (run it as `node --initial-old-space-size=256 bench/build/tfpipe-fit.mjs ...` to compare).
// With --concurrency auto the output has what the tuner chose and its windows, summed up per
// concurrency (autotune: medians of the waiting and starved shares, the spread of items/s).
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { cpuFloor, cpuSince, majorGcs, median, spread, threadCpuSeconds } from './measure.js'
import { drainFreeing, smallCnn, tinyModel } from './workload.js'
import { batch, cache, collate, collateSamples, csv, fit, imageSample, jpegDecoder, map, pipe, prefetch, releaseImages, shuffle, toTfDataset, useBestBackend, type Sample, type TensorData } from '../lib/index.js'

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    size: { type: 'string', default: '224' }, batch: { type: 'string', default: '32' }, epochs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' }, 'max-concurrency': { type: 'string', default: '64' }, kernel: { type: 'string', default: 'linear' },
    'input-only': { type: 'boolean', default: false },
    'in-memory': { type: 'boolean', default: false },
    overlap: { type: 'string' },
    model: { type: 'string', default: 'tiny' },
    collate: { type: 'boolean', default: false },
    dct: { type: 'string', default: 'accurate' },
    'intra-op': { type: 'string' },
    'fit-dataset': { type: 'boolean', default: false },
    loop: { type: 'boolean', default: false },
    release: { type: 'boolean', default: false },
    'loop-dataset': { type: 'boolean', default: false },
    'tfjs-kernels': { type: 'boolean', default: false },
  },
})
const corpus = positionals[0]
if (corpus === undefined) throw new Error('usage: tfpipe-fit.ts CORPUS')
const size = Number(o.size)
const batchSize = Number(o.batch)
const epochs = Number(o.epochs)
const backend = await useBestBackend({ ...(o['intra-op'] === undefined ? {} : { intraOpThreads: Number(o['intra-op']) }), ...(o['tfjs-kernels'] ? { fastKernels: false } : {}) })

const rows = csv(join(corpus, 'labels.csv'))
let images = 0
for await (const _ of rows) images++
const first = (await rows.iterate()[Symbol.asyncIterator]().next()).value
const k = first?.y?.length ?? 2

// #region pipeline
const load = imageSample({ size: [size, size], kernel: o.kernel as 'linear', dctMethod: o.dct as 'accurate' }) // floats in [0, 1], made by TensorFlow at the sink
const tuned = o.concurrency === 'auto' ? map(load, { concurrency: 'auto', maxConcurrency: Number(o['max-concurrency']) }) : undefined
const decode = tuned ?? map(load, { concurrency: Number(o.concurrency) })
const batches = pipe(rows, shuffle('all', { seed: 1 }), decode, batch(batchSize))
const stacked = o.collate ? pipe(batches, collate()) : batches
// --in-memory: the first epoch fills memory and later ones train on it (the model's side alone)
const data = (o['in-memory'] ? stacked.pipe(cache()) : stacked).pipe(prefetch(2))
// #endregion pipeline

// tiny: the peers' model (global average pooling + dense); cnn: a real small CNN (for the overlap measurement)
const cnnOrTiny = (): tf.Sequential => (o.model === 'cnn' ? smallCnn(size, k) : tinyModel(size, k))

// With 'auto': what the tuner chose, and per concurrency it ran at, its windows (each at least
// 100 ms): how many, the medians of the share spent waiting on busy calls and of the part of it
// with the event loop idle (what it counts as starved), and items/s's spread (sd / median).
function autotuned(): Record<string, unknown> {
  if (tuned === undefined) return {}
  const { concurrency, steps, windows } = tuned.autotune
  const byConcurrency = new Map<number, typeof windows[number][]>()
  for (const w of windows) byConcurrency.set(w.concurrency, [...byConcurrency.get(w.concurrency) ?? [], w])
  const summary = [...byConcurrency].map(([c, ws]) => ({
    concurrency: c, windows: ws.length,
    waiting: +median(ws.map((w) => w.waitingShare)).toFixed(3), starved: +median(ws.map((w) => w.starvedShare)).toFixed(3),
    rate_spread: +spread(ws.map((w) => w.itemsPerSecond)).toFixed(3),
  }))
  return { concurrency_chosen: concurrency, concurrency_steps: steps.length, autotune: summary }
}

const times: number[] = []
// The whole process's CPU time over each epoch (every thread's), in seconds.
const cpus: number[] = []
let waitShare: number[] | undefined
// One epoch of the input pipeline alone, in seconds (its images freed as fit's sink frees them).
const inputEpoch = async (ds: typeof data) => {
  const t0 = performance.now()
  await drainFreeing(ds)
  return (performance.now() - t0) / 1000
}
if (o.overlap !== undefined) {
  const rounds = Number(o.overlap)
  const model = cnnOrTiny()
  const fromPipeline = stacked.pipe(prefetch(2))
  const fromMemory = stacked.pipe(cache()).pipe(prefetch(2))
  await fit(model, fromMemory, { epochs: 1, verbose: 0 }) // fills the cache (and warms up the model)
  await fit(model, fromPipeline, { epochs: 1, verbose: 0 }) // warms up the pipeline's epoch
  const kinds = ['fit', 'inMemory', 'inputOnly'] as const
  // The main thread's CPU time (NaN where /proc is missing).
  const mainTicks = () => { try { return threadCpuSeconds(process.pid) } catch { return NaN } }
  const epoch = async (kind: typeof kinds[number]) => {
    const cpu0 = process.cpuUsage()
    const main0 = mainTicks()
    if (kind === 'inputOnly') {
      const seconds = await inputEpoch(fromPipeline)
      return { seconds, cpu: cpuSince(cpu0), main: mainTicks() - main0 }
    }
    const h = await fit(model, kind === 'fit' ? fromPipeline : fromMemory, { epochs: 1, verbose: 0 })
    return { seconds: h.stats.epochSeconds[0] as number, waitShare: h.stats.waitShare[0] as number, cpu: cpuSince(cpu0), main: mainTicks() - main0 }
  }
  const all: Array<Record<string, number>> = []
  // V8's major collections in each epoch (counted once the rounds are over and the late entries in).
  const gcs = majorGcs()
  const windows: Array<{ round: Record<string, number>, kind: string, from: number, to: number }> = []
  for (let r = 0; r < rounds; r++) {
    const round: Record<string, number> = {}
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(r + i) % kinds.length] as typeof kinds[number]
      const from = performance.now()
      const e = await epoch(kind)
      windows.push({ round, kind, from, to: performance.now() })
      round[kind] = +e.seconds.toFixed(3)
      round[`${kind}Cpu`] = +e.cpu.toFixed(3)
      round[`${kind}MainCpu`] = +e.main.toFixed(3)
      if (kind === 'fit' && e.waitShare !== undefined) round.waitShare = +e.waitShare.toFixed(3)
    }
    const longer = Math.max(round.inMemory as number, round.inputOnly as number)
    round.ratio = +((round.fit as number) / longer).toFixed(3)
    round.cpuFloor = +cpuFloor(round.inMemory as number, round.inMemoryCpu as number, round.inputOnly as number, round.inputOnlyCpu as number).toFixed(3)
    all.push(round)
  }
  await gcs.stop()
  for (const { round, kind, from, to } of windows) round[`${kind}MajorGcs`] = gcs.count(from, to)
  const of = (k: string) => all.map((r) => r[k] as number)
  console.log(JSON.stringify({
    peer: 'tfpipe-overlap', model: o.model, size, node_flags: process.execArgv, backend: backend.name, intra_op_threads: backend.intraOpThreads ?? null, replaced_kernels: backend.replacedKernels, cores: availableParallelism(), images, rounds: all,
    median: Object.fromEntries(Object.keys(all[0] ?? {}).map((key) => [key, median(of(key))])),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), tensors_left: tf.memory().numTensors,
    ...autotuned(),
  }))
  process.exit(0)
}
if (o['input-only']) {
  for (let e = 0; e < epochs; e++) {
    const cpu0 = process.cpuUsage()
    times.push(await inputEpoch(data))
    cpus.push(cpuSince(cpu0))
  }
} else if (o['fit-dataset']) {
  const model = cnnOrTiny()
  let cpu0 = process.cpuUsage()
  let t0 = performance.now()
  await model.fitDataset(toTfDataset(data), { epochs, verbose: 0, callbacks: {
    onEpochBegin: async () => { t0 = performance.now(); cpu0 = process.cpuUsage() },
    onEpochEnd: async () => { times.push((performance.now() - t0) / 1000); cpus.push(cpuSince(cpu0)) },
  } })
} else if (o.loop) {
  // A training loop of the user's own: arrays of samples, stacked by collateSamples, tensors made
  // by hand, model.trainOnBatch; --release frees the decoded images once stacked (releaseImages).
  if (o.collate || o['in-memory']) throw new Error('tfpipe-fit: --loop reads arrays of samples, without --collate or --in-memory')
  const model = cnnOrTiny()
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    if (o['loop-dataset']) {
      // The same loop over toTfDataset's iterator: tensors made as fit's sink makes them.
      const it = await toTfDataset(data).iterator()
      for (let r = await it.next(); r.done !== true; r = await it.next()) {
        const { xs, ys } = r.value as { xs: tf.Tensor, ys: tf.Tensor }
        await model.trainOnBatch(xs, ys)
        tf.dispose([xs, ys])
      }
    } else for await (const samples of data as AsyncIterable<Sample[]>) {
      const b = collateSamples(samples)
      if (o.release) releaseImages(samples)
      const x = b.xs as TensorData
      const y = b.ys as TensorData
      const xs = tf.tidy(() => tf.tensor(new Float32Array(x.data), [...x.shape]).mul(x.scale as number))
      const ys = tf.tensor(y.data, [...y.shape], 'float32')
      await model.trainOnBatch(xs, ys)
      tf.dispose([xs, ys])
    }
    times.push((performance.now() - t0) / 1000)
    cpus.push(cpuSince(cpu0))
  }
} else {
  const model = cnnOrTiny()
  let cpu0 = process.cpuUsage()
  const h = await fit(model, data, { epochs, verbose: 0, callbacks: { onEpochBegin: async () => { cpu0 = process.cpuUsage() }, onEpochEnd: async () => { cpus.push(cpuSince(cpu0)) } } })
  times.push(...h.stats.epochSeconds)
  waitShare = h.stats.waitShare
}
const best = Math.min(...(times.length > 1 ? times.slice(1) : times))
const bestAt = times.indexOf(best)
console.log(JSON.stringify({
  jpeg_decoder: jpegDecoder(), dct: o.dct, peer: `${o['input-only'] ? 'tfpipe-input-only' : o['in-memory'] ? 'tfpipe-fit-in-memory' : o['fit-dataset'] ? 'tfpipe-fitDataset' : o.loop ? `tfpipe-loop${o['loop-dataset'] ? '-dataset' : o.release ? '-release' : ''}` : 'tfpipe-fit'}${o.model === 'cnn' ? '-cnn' : ''}`, backend: backend.name, intra_op_threads: backend.intraOpThreads ?? null, replaced_kernels: backend.replacedKernels, images, epoch_s: +best.toFixed(3),
  images_per_s: +(images / best).toFixed(1), cpu_s: +(cpus[bestAt] ?? NaN).toFixed(3), epoch_cpu_s: cpus.map((c) => +c.toFixed(3)), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  tensors_left: tf.memory().numTensors, ...autotuned(), ...(waitShare !== undefined ? { wait_share: waitShare.map((w) => +w.toFixed(3)) } : {}),
}))
