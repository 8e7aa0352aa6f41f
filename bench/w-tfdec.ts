import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import * as tf from '@tensorflow/tfjs'
import { batch, collate, csv, fit, map, pipe, prefetch, shuffle, useBestBackend, type CsvRow, type Sample } from '../lib/index.js'
await useBestBackend()
const tfnode = (await import('@tensorflow/tfjs-node')).node
const ratio = Number(process.env.RATIO ?? 1)
const rows = csv(join('bench/corpus-2000', 'labels.csv'))
const load = async (r: CsvRow): Promise<Sample> => {
  const bytes = await readFile(r.path)
  const t = tf.tidy(() => tf.image.resizeBilinear(tfnode.decodeJpeg(bytes, 3, ratio), [224, 224], false, true))
  const data = t.dataSync() as Float32Array
  t.dispose()
  return { x: { data, shape: [224, 224, 3], dtype: 'float32', scale: 1 / 255 }, y: r.y ?? r.label, path: r.path }
}
const data = pipe(rows, shuffle('all', { seed: 1 }), map(load, { concurrency: 2 }), batch(32), collate(), prefetch(2))
const model = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [224, 224, 3] }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
const h = await fit(model, data, { epochs: 3, verbose: 0 })
const best = Math.min(...h.stats.epochSeconds.slice(1))
console.log(JSON.stringify({ ratio, images_per_s: Math.round(2000 / best), rss: Math.round(process.resourceUsage().maxRSS / 1024), wait: h.stats.waitShare.map((w) => w.toFixed(2)) }))
