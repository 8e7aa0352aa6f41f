// tfpipe as a peer: the same job as ../shared/bench/peers (tiny model: global
// average pooling + dense, sgd; 224x224, batch 32; best epoch after the first),
// with tfpipe's pipeline: csv -> shuffle -> map(decode) -> batch -> prefetch -> fit (the sink stacks
// each batch's images straight into the floats it hands TensorFlow; --collate adds collate() before prefetch).
// usage: tsx bench/tfpipe-fit.ts CORPUS [--size 224] [--batch 32] [--epochs 3] [--concurrency 16|auto] [--kernel linear]
//        [--input-only | --in-memory] [--model tiny|cnn] [--collate] [--dct accurate|fast]
// prints one JSON line like the peers: {"peer": ..., "images_per_s": ..., "peak_rss_mb": ...}
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { batch, cache, collate, csv, fit, imageSample, jpegDecoder, map, pipe, prefetch, shuffle, useBestBackend } from '../lib/index.js'

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    size: { type: 'string', default: '224' }, batch: { type: 'string', default: '32' }, epochs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' }, kernel: { type: 'string', default: 'linear' },
    'input-only': { type: 'boolean', default: false },
    'in-memory': { type: 'boolean', default: false },
    model: { type: 'string', default: 'tiny' },
    collate: { type: 'boolean', default: false },
    dct: { type: 'string', default: 'accurate' },
  },
})
const corpus = positionals[0]
if (corpus === undefined) throw new Error('usage: tfpipe-fit.ts CORPUS')
const size = Number(o.size)
const batchSize = Number(o.batch)
const epochs = Number(o.epochs)
const backend = await useBestBackend()

const rows = csv(join(corpus, 'labels.csv'))
let images = 0
for await (const _ of rows) images++
const first = (await rows.iterate()[Symbol.asyncIterator]().next()).value
const k = first?.y?.length ?? 2

// #region pipeline
const load = imageSample({ size: [size, size], kernel: o.kernel as 'linear', dctMethod: o.dct as 'accurate' }) // floats in [0, 1], made by TensorFlow at the sink
const tuned = o.concurrency === 'auto' ? map(load, { concurrency: 'auto' }) : undefined
const decode = tuned ?? map(load, { concurrency: Number(o.concurrency) })
const batches = pipe(rows, shuffle('all', { seed: 1 }), decode, batch(batchSize))
const stacked = o.collate ? pipe(batches, collate()) : batches
// --in-memory: the first epoch fills memory and later ones train on it (the model's side alone)
const data = (o['in-memory'] ? stacked.pipe(cache()) : stacked).pipe(prefetch(2))
// #endregion pipeline

const times: number[] = []
let waitShare: number[] | undefined
if (o['input-only']) {
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now()
    for await (const _ of data) { /* the input pipeline alone */ }
    times.push((performance.now() - t0) / 1000)
  }
} else {
  // tiny: the peers' model (global average pooling + dense); cnn: a real small CNN (for the overlap measurement)
  const model = o.model === 'cnn'
    ? tf.sequential({ layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters: 16, kernelSize: 3, strides: 2, activation: 'relu' }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, activation: 'relu' }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, activation: 'relu' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: k, activation: 'softmax' }),
    ] })
    : tf.sequential({ layers: [
      tf.layers.globalAveragePooling2d({ inputShape: [size, size, 3] }),
      tf.layers.dense({ units: k, activation: 'softmax' }),
    ] })
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  const h = await fit(model, data, { epochs, verbose: 0 })
  times.push(...h.stats.epochSeconds)
  waitShare = h.stats.waitShare
}
const best = Math.min(...(times.length > 1 ? times.slice(1) : times))
console.log(JSON.stringify({
  jpeg_decoder: jpegDecoder(), dct: o.dct, peer: `${o['input-only'] ? 'tfpipe-input-only' : o['in-memory'] ? 'tfpipe-fit-in-memory' : 'tfpipe-fit'}${o.model === 'cnn' ? '-cnn' : ''}`, backend: backend.name, images, epoch_s: +best.toFixed(3),
  images_per_s: +(images / best).toFixed(1), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  tensors_left: tf.memory().numTensors, ...(tuned !== undefined ? { concurrency_chosen: tuned.autotune.concurrency, concurrency_steps: tuned.autotune.steps.length } : {}), ...(waitShare !== undefined ? { wait_share: waitShare.map((w) => +w.toFixed(3)) } : {}),
}))
