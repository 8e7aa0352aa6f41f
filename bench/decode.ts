// bench/decode: decode -> 224x224 -> batch 32 on a corpus, the choices side by side in one run:
// tfpipe's imageSample at several concurrencies and kernels, sharp reading the path itself (the
// rejected choice), and the tfjs-data peer's decode (tf.node.decodeImage + resizeBilinear on the
// main thread). Prints images/s and the ratio of each to tfpipe's default.
// usage: npm run bench:decode -- [--corpus bench/corpus-2000] [--images 600]
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { batch, collate, drain, imageSample, map, pipe, useBestBackend, type LabeledPath } from '../lib/index.js'

const { values: o } = parseArgs({ options: { corpus: { type: 'string', default: 'bench/corpus-2000' }, images: { type: 'string', default: '600' } } })
const dir = join(o.corpus, 'class_00')
const files: LabeledPath[] = readdirSync(dir).sort().slice(0, Number(o.images)).map((f) => ({ path: join(dir, f), label: 0, className: 'class_00' }))
const backend = await useBestBackend()
const tfnode = backend.native ? (await import('@tensorflow/tfjs-node')).node : undefined

const variants: Record<string, () => Promise<unknown>> = {
  'tfpipe default (concurrency 4, linear)': () => drain(pipe(files, map(imageSample({ size: [224, 224] }), { concurrency: 4 }), batch(32), collate())),
  'tfpipe concurrency 2': () => drain(pipe(files, map(imageSample({ size: [224, 224] }), { concurrency: 2 }), batch(32), collate())),
  'tfpipe concurrency 8': () => drain(pipe(files, map(imageSample({ size: [224, 224] }), { concurrency: 8 }), batch(32), collate())),
  'tfpipe lanczos3 kernel': () => drain(pipe(files, map(imageSample({ size: [224, 224], kernel: 'lanczos3' }), { concurrency: 4 }), batch(32), collate())),
  'sharp reading the path (rejected)': () => drain(pipe(files, map((f: LabeledPath) => sharp(f.path).resize({ width: 224, height: 224, fit: 'fill', kernel: 'linear' }).raw().toBuffer(), { concurrency: 4 }), batch(32))),
  ...(tfnode !== undefined ? {
    'tfjs-node decodeImage + resizeBilinear (the tfjs-data peer)': () => drain(pipe(files, map(async (f: LabeledPath) => {
      const bytes = await readFile(f.path)
      // (not `return tf.tidy(() => ....dataSync())`: tidy walks a returned typed array element by element, 40 ms a call)
      const img = tf.tidy(() => tf.image.resizeBilinear(tfnode.decodeImage(bytes, 3) as tf.Tensor3D, [224, 224]).div(255))
      const data = img.dataSync()
      img.dispose()
      return data
    }), batch(32))),
  } : {}),
}

const best: Record<string, number> = {}
for (let round = 0; round < 2; round++) {
  for (const [name, run] of Object.entries(variants)) {
    const t0 = performance.now()
    await run()
    best[name] = Math.max(best[name] ?? 0, files.length / ((performance.now() - t0) / 1000))
  }
}
const base = best['tfpipe default (concurrency 4, linear)'] as number
console.log(`decode -> 224x224 -> batch 32, ${files.length} JPEGs of 500x375, best of 2 rounds (UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}, sharp.concurrency ${sharp.concurrency()})`)
for (const [name, v] of Object.entries(best)) console.log(`  ${name.padEnd(62)} ${v.toFixed(0).padStart(5)} images/s   ${(v / base).toFixed(2)}x tfpipe default`)
