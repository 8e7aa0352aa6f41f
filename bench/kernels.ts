// tfpipe's Step kernel and Mean and Sum gradients (lib/kernels.ts) against tfjs' own, side by side in
// one process: training steps on one batch held in memory (no input pipeline), in rounds that take
// the two in turn (tfjs' first in odd rounds, tfpipe's first in even ones), switched with
// useBestBackend({ fastKernels }). Two models at --size (96): `cnn`, the bench's overlap CNN (three
// 3x3 stride-2 ReLU convs, global average pooling, dense; sgd), and `bn-cnn`, a deeper one with batch
// normalization, max pooling, dropout, ELU and Adam; then the Step kernel alone, on the cnn's three ReLU
// outputs (what its gradient runs once per step). Prints ms per step for each and tfjs' / tfpipe's,
// round by round and the median, and checks that no tensors are left behind; writes
// bench/results/kernels.json.
// usage: tsx bench/kernels.ts [--steps 30] [--rounds 3] [--size 96] [--batch 32] [--intra-op N]
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { median } from './measure.js'
import { smallCnn } from './workload.js'
import { useBestBackend } from '../lib/index.js'

const { values: o } = parseArgs({ options: {
  steps: { type: 'string', default: '30' }, rounds: { type: 'string', default: '3' }, size: { type: 'string', default: '96' },
  batch: { type: 'string', default: '32' }, 'intra-op': { type: 'string' },
} })
const [steps, rounds, size, batchSize] = [Number(o.steps), Number(o.rounds), Number(o.size), Number(o.batch)]
const backend = await useBestBackend({ warn: () => undefined, ...(o['intra-op'] === undefined ? {} : { intraOpThreads: Number(o['intra-op']) }) })
if (backend.name !== 'tensorflow') throw new Error(`bench:kernels needs the native tensorflow backend, got ${backend.name}: ${backend.reason ?? ''}`)

const classes = 10
const models: Record<string, () => tf.LayersModel> = {
  cnn: () => smallCnn(size, classes),
  'bn-cnn': () => {
    const m = tf.sequential({ layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters: 16, kernelSize: 3, padding: 'same' }),
      tf.layers.batchNormalization(), tf.layers.activation({ activation: 'relu' }), tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }), tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.dropout({ rate: 0.25 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'elu' }), tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 64, activation: 'relu' }), tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: classes, activation: 'softmax' }),
    ] })
    m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
    return m
  },
}

const xs = tf.randomUniform([batchSize, size, size, 3], 0, 1, 'float32', 1)
const ys = tf.oneHot(tf.randomUniform([batchSize], 0, classes, 'int32', 2), classes)
// ms per step over `n` steps with tfjs' (false) or tfpipe's (true) kernels
async function timed(step: () => Promise<unknown>, fast: boolean, n: number): Promise<number> {
  await useBestBackend({ fastKernels: fast })
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await step()
  return (performance.now() - t0) / n
}

// What a turn times, step after step, and what to let go of afterwards.
interface Case { step: () => Promise<unknown>, dispose: () => void }

// The Step kernel alone, as the cnn's gradient runs it once per step: step(x) on its ReLU outputs
// (its conv layers' output shapes, at batch size).
function reluSteps(): Case {
  const cnn = smallCnn(size, classes)
  const shapes = cnn.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => [batchSize, ...(l.outputShape as number[]).slice(1)])
  cnn.dispose()
  const outputs = shapes.map((shape, i) => tf.randomNormal(shape, 0, 1, 'float32', 3 + i))
  return {
    step: async () => { for (const x of outputs) tf.tidy(() => tf.step(x)).dispose() },
    dispose: () => tf.dispose(outputs),
  }
}

const results: Array<Record<string, unknown>> = []
console.log(`tfjs' own Step kernel and Mean and Sum gradients against tfpipe's: ${steps} steps of batch ${batchSize} at ${size}x${size} per turn, ${rounds} rounds taken in turn, TensorFlow intra-op threads ${backend.intraOpThreads ?? 'default'}`)
console.log('| model | tfjs\' own, ms/step | tfpipe\'s, ms/step | tfjs\' / tfpipe\'s, round by round | median | tensors left |')
console.log('|---|---|---|---|---|---|')
const cases: Array<[string, () => Case]> = [
  ...Object.entries(models).map(([name, make]): [string, () => Case] => [name, () => {
    const model = make()
    return { step: () => model.trainOnBatch(xs, ys), dispose: () => model.dispose() }
  }]),
  ['step alone (the cnn\'s three ReLU outputs)', reluSteps],
]
for (const [name, make] of cases) {
  const { step, dispose } = make()
  await timed(step, false, 3) // warm-up: both paths compiled and allocated
  await timed(step, true, 3)
  const before = tf.memory().numTensors
  const theirs: number[] = []
  const ours: number[] = []
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) { theirs.push(await timed(step, false, steps)); ours.push(await timed(step, true, steps)) } else { ours.push(await timed(step, true, steps)); theirs.push(await timed(step, false, steps)) }
  }
  const left = tf.memory().numTensors - before
  const ratios = theirs.map((t, i) => t / (ours[i] as number))
  results.push({ model: name, tfjs_ms: theirs.map((x) => +x.toFixed(2)), tfpipe_ms: ours.map((x) => +x.toFixed(2)), ratio: ratios.map((x) => +x.toFixed(3)), median_ratio: +median(ratios).toFixed(3), tensors_left: left })
  console.log(`| ${name} | ${median(theirs).toFixed(2)} | ${median(ours).toFixed(2)} | ${ratios.map((x) => x.toFixed(2)).join(', ')} | ${median(ratios).toFixed(2)}x | ${left} |`)
  dispose()
}
tf.dispose([xs, ys])
await useBestBackend({ fastKernels: true })

const root = fileURLToPath(new URL('..', import.meta.url))
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
const out = join(root, 'bench', 'results', 'kernels.json')
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), steps, rounds, size, batch: batchSize, intra_op_threads: backend.intraOpThreads ?? null, results }, null, 2))
console.log(`written: ${out}`)
