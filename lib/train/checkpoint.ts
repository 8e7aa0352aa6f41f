import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'

/** Where a run stood: the next batch to train is batch `step` of epoch `epoch`. */
export interface Position {
  readonly epoch: number
  readonly step: number
  /** The seed of fit's per-epoch orders (Sequence shuffling); pass it back to get the same remaining batches. */
  readonly seed: number
}

export interface CheckpointOptions {
  /** Folder for the checkpoint (model.json, weights.bin, position.json). */
  readonly dir: string
  /** Also save every this many batches within an epoch (for runs that may be killed). Default: only at epoch ends and on stop. */
  readonly everySteps?: number
}

export interface LoadedCheckpoint {
  /** The model with its weights (and optimizer state when saved); compile it before training. */
  readonly model: tf.LayersModel
  readonly position: Position
  /** Spread into fit's options to continue where the run stood: `{ initialEpoch, initialStep, seed }`. */
  readonly resume: { readonly initialEpoch: number, readonly initialStep: number, readonly seed: number }
}

/**
 * Saves the model (topology, weights, optimizer state) and the position, atomically:
 * written beside the folder, then renamed over it, so a kill mid-save leaves the previous checkpoint.
 * Works on any backend (no `file://` handler needed). `fit`'s `checkpoint` option calls it.
 * @example await saveCheckpoint(model, 'runs/a', { epoch: 2, step: 0, seed: 42 })
 * Errors: rejects when the folder cannot be written; the previous checkpoint is then still there.
 * Cancellation: none; a kill mid-save leaves the previous checkpoint.
 */
export async function saveCheckpoint(model: tf.LayersModel, dir: string, position: Position): Promise<void> {
  const tmp = `${dir}.saving-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  await mkdir(tmp, { recursive: true })
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : Array.isArray(artifacts.weightData) ? concat(artifacts.weightData) : artifacts.weightData
    const manifest = {
      modelTopology: artifacts.modelTopology,
      trainingConfig: artifacts.trainingConfig,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
    }
    await writeFile(path.join(tmp, 'model.json'), JSON.stringify(manifest))
    await writeFile(path.join(tmp, 'weights.bin'), Buffer.from(weightData))
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
  }), { includeOptimizer: true })
  await writeFile(path.join(tmp, 'position.json'), `${JSON.stringify(position)}\n`)
  const old = `${dir}.old-${process.pid}`
  if (existsSync(dir)) await rename(dir, old)
  await rename(tmp, dir)
  await rm(old, { recursive: true, force: true })
}

/**
 * Loads a checkpoint saved by `fit`'s `checkpoint` option, or resolves
 * `undefined` when the folder holds none.
 * @example const ckpt = await loadCheckpoint('runs/a'); const model = ckpt?.model ?? build(); ...; await fit(model, data, { ...ckpt?.resume, checkpoint: { dir: 'runs/a' } })
 * Errors: a folder with a damaged checkpoint rejects, naming the file.
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint | undefined> {
  if (!existsSync(path.join(dir, 'position.json'))) return undefined
  const read = async (name: string): Promise<Buffer> => {
    try { return await readFile(path.join(dir, name)) } catch (err) { throw new Error(`loadCheckpoint: cannot read ${path.join(dir, name)}`, { cause: err }) }
  }
  let manifest: { modelTopology: object, trainingConfig?: tf.io.TrainingConfig, weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> }
  let position: Position
  try {
    manifest = JSON.parse((await read('model.json')).toString('utf8')) as typeof manifest
    position = JSON.parse((await read('position.json')).toString('utf8')) as Position
  } catch (err) {
    throw new Error(`loadCheckpoint: ${dir} holds a damaged checkpoint (${err instanceof Error ? err.message : String(err)})`, { cause: err })
  }
  const bin = await read('weights.bin')
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: manifest.modelTopology,
    weightSpecs: manifest.weightsManifest[0]?.weights ?? [],
    weightData,
    ...(manifest.trainingConfig !== undefined ? { trainingConfig: manifest.trainingConfig } : {}),
  }))
  return { model, position, resume: { initialEpoch: position.epoch, initialStep: position.step, seed: position.seed } }
}

function concat(parts: ArrayBuffer[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(new Uint8Array(p), at); at += p.byteLength }
  return out.buffer
}
