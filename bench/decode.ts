// bench/decode: decode -> 224x224 -> batch 32 on a corpus, the choices side by side in one run:
// tfpipe's imageSample with the JPEG fast path and with sharp, at two concurrencies, a kernel only
// sharp has, and the tfjs-data peer's decode (tf.node.decodeImage + resizeBilinear on the
// main thread). Prints images/s and the ratio of each to tfpipe's default.
// usage: npm run bench:decode -- [--corpus bench/corpus-2000] [--images 600]
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { threadIds, threadName } from './measure.js'
import { batch, collate, drain, imageSample, map, pipe, useBestBackend, type LabeledPath } from '../lib/index.js'

const { values: o } = parseArgs({ options: { corpus: { type: 'string', default: 'bench/corpus-2000' }, images: { type: 'string', default: '600' } } })
const dir = join(o.corpus, 'class_00')
const files: LabeledPath[] = readdirSync(dir).sort().slice(0, Number(o.images)).map((f) => ({ path: join(dir, f), label: 0, className: 'class_00' }))
const backend = await useBestBackend()
const tfnode = backend.native ? (await import('@tensorflow/tfjs-node')).node : undefined

const DEFAULT = 'tfpipe default (concurrency 16, JPEG fast path)'
const decodeAll = (concurrency: number, kernel?: 'lanczos3') => () => drain(pipe(files, map(imageSample({ size: [224, 224], ...(kernel ? { kernel } : {}) }), { concurrency }), batch(32), collate()))
async function withSharp(run: () => Promise<unknown>): Promise<unknown> {
  process.env.TFPIPE_JPEG = 'sharp'
  try { return await run() } finally { delete process.env.TFPIPE_JPEG }
}
const variants: Record<string, () => Promise<unknown>> = {
  [DEFAULT]: decodeAll(16),
  'tfpipe, fast path, concurrency 4': decodeAll(4),
  'tfpipe, JPEGs by sharp (TFPIPE_JPEG=sharp), concurrency 16': () => withSharp(decodeAll(16)),
  'tfpipe, JPEGs by sharp, concurrency 4': () => withSharp(decodeAll(4)),
  'tfpipe lanczos3 kernel (sharp)': decodeAll(16, 'lanczos3'),
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
const base = best[DEFAULT] as number
// The fast path's threads as they ran (their count's default depends on the machine: one per core it may use, at least 2).
let decodeThreads: number | string = 'an unknown number of'
try { decodeThreads = threadIds().filter((tid) => threadName(tid) === 'tfpipe-decode').length } catch { /* no /proc: not Linux */ }
console.log(`decode -> 224x224 -> batch 32, ${files.length} JPEGs of 500x375, best of 2 rounds (fast path: ${decodeThreads} decode threads, TFPIPE_DECODE_NICE=${process.env.TFPIPE_DECODE_NICE ?? 19}; sharp: UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}, sharp.concurrency ${sharp.concurrency()})`)
for (const [name, v] of Object.entries(best)) console.log(`  ${name.padEnd(62)} ${v.toFixed(0).padStart(5)} images/s   ${(v / base).toFixed(2)}x tfpipe default`)
