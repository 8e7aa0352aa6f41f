// The main job: train a small CNN on a folder of images with a progress bar.
//   imageFolder -> shuffle -> map(decode) -> batch -> prefetch -> fit
// Run: npm run demo   (or: npx tsx examples/digits/train.ts --epochs 5)
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { rm } from 'node:fs/promises'
import { batch, fit, imageFolder, imageSample, loadCheckpoint, map, pipe, prefetch, shuffle, useBestBackend, type FitOptions } from '../../lib/index.js'
import { prepareDigits } from './prepare.js'

export interface DigitsRun {
  readonly epochs?: number
  readonly seed?: number
  readonly dataDir?: string
  readonly fitOptions?: FitOptions
  /** Save checkpoints here and resume from one found there. */
  readonly checkpointDir?: string
  readonly signal?: AbortSignal
}

// #region train
export async function trainDigits(run: DigitsRun = {}) {
  const { epochs = 12, seed = 42 } = run
  await useBestBackend() // the native backend first, so the model is built on it
  const root = await prepareDigits(run.dataDir ?? fileURLToPath(new URL('./data', import.meta.url)))

  const split = { validationSplit: 0.2, seed } as const
  const train = imageFolder(root, { ...split, subset: 'training' })
  const val = imageFolder(root, { ...split, subset: 'validation' })
  const load = imageSample({ channels: 1, numClasses: train.classNames.length })

  // 'auto' finds how many decodes to keep in flight (sharp decodes these PNGs on its own threads).
  const trainBatches = pipe(train, shuffle('all', { seed }), map(load, { concurrency: 'auto' }), batch(32), prefetch(2))
  const valBatches = pipe(val, map(load, { concurrency: 4 }), batch(64))

  // #region resume
  const saved = run.checkpointDir === undefined ? undefined : await loadCheckpoint(run.checkpointDir)
  const resume = saved !== undefined && saved.position.epoch < epochs ? saved : undefined
  if (resume !== undefined) console.log(`resuming from ${run.checkpointDir}: epoch ${resume.position.epoch + 1}, batch ${resume.position.step + 1}`)
  // #endregion resume
  const model = resume?.model ?? tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 64, activation: 'relu' }),
    tf.layers.dense({ units: train.classNames.length, activation: 'softmax' }),
  ] })
  // A resumed model comes back compiled, with its optimizer's state; a new one is compiled here.
  if (resume === undefined || model.optimizer == null) model.compile({ optimizer: tf.train.adam(0.003), loss: 'categoricalCrossentropy', metrics: ['accuracy'] })

  const history = await fit(model, trainBatches, {
    epochs, validationData: valBatches, seed, ...resume?.resume,
    ...(run.checkpointDir !== undefined ? { checkpoint: { dir: run.checkpointDir, everySteps: 20 } } : {}),
    ...(run.signal !== undefined ? { signal: run.signal } : {}),
    ...run.fitOptions,
  })
  return { model, history, classNames: train.classNames }
}
// #endregion train

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { epochs: { type: 'string', default: '12' }, fresh: { type: 'boolean', default: false } } })
  // Ctrl-C stops at a batch boundary and saves a checkpoint; the next run resumes where it stopped.
  const checkpointDir = fileURLToPath(new URL('./.checkpoint', import.meta.url))
  if (values.fresh) await rm(checkpointDir, { recursive: true, force: true })
  const stop = new AbortController()
  process.once('SIGINT', () => { console.log('\nstopping at the next batch (Ctrl-C again to quit at once) ...'); stop.abort() })
  const { history } = await trainDigits({ epochs: Number(values.epochs), checkpointDir, signal: stop.signal })
  if (history.stats.aborted) {
    console.log(`stopped; checkpoint saved in ${checkpointDir}. Run \`npm run demo\` again to resume (or add -- --fresh to start over).`)
  } else {
    await rm(checkpointDir, { recursive: true, force: true })
    const acc = history.history.val_acc ?? []
    const last = Number(acc[acc.length - 1] ?? NaN)
    console.log(`validation accuracy after epoch ${history.epoch.length > 0 ? (history.epoch[history.epoch.length - 1] as number) + 1 : '?'}: ${(last * 100).toFixed(1)}%`)
  }
  process.exit(0)
}
