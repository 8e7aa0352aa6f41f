import * as tf from '@tensorflow/tfjs'
import { replaceKernels, replacedKernels } from './kernels.js'

/** Which backend tfpipe trains with, and why. */
export interface BackendInfo {
  /** `tensorflow` (native, fast) or the fallback, `cpu` (pure JS, slow). */
  readonly name: string
  readonly native: boolean
  /** Why the native backend is not in use, when it is not. */
  readonly reason?: string
  /**
   * The intra-op thread count TensorFlow started with, when it was set (by
   * `intraOpThreads` or `TF_NUM_INTRAOP_THREADS`) as this call loaded it. Undefined means TensorFlow's
   * own choice, or that TensorFlow was already loaded.
   */
  readonly intraOpThreads?: number
  /**
   * What tfpipe has replaced of tfjs' with its own (see `BackendOptions.fastKernels`):
   * `['Step', 'Mean gradient', 'Sum gradient']`, or `[]` when tfjs' own are in use (or the backend is
   * not `tensorflow`).
   */
  readonly replacedKernels: readonly string[]
}

export interface BackendOptions {
  /** Where warnings go (the fallback's one, and intraOpThreads' when it is ignored). Default: `process.emitWarning`. */
  readonly warn?: (message: string) => void
  /** Loads `@tensorflow/tfjs-node` (injected by specs to simulate a missing binding). */
  readonly loadNative?: () => Promise<unknown>
  /** Forget the previous choice and decide again (specs). */
  readonly fresh?: boolean
  /**
   * How many threads TensorFlow splits each kernel's work across (its intra-op
   * pool). Default: TensorFlow's own, one per core. tfpipe sets
   * `TF_NUM_INTRAOP_THREADS` before it loads `@tensorflow/tfjs-node`, so this only
   * takes effect on the call that loads it. If TensorFlow is already loaded, or
   * the environment sets `TF_NUM_INTRAOP_THREADS` to another value, you get one
   * warning and the setting already in force stays.
   * With few cores, where the decode threads and the model share them, 1 spares
   * the cores the pool's threads spend beside the calling thread; on 2 cores it
   * gained a few percent, inside the noise of single runs (docs/performance-history.md,
   * "TensorFlow's intra-op threads"). A large model on many cores wants
   * TensorFlow's default.
   */
  readonly intraOpThreads?: number
  /**
   * Replace tfjs-node's `Step` kernel, the one ReLU's gradient runs, and tfjs' Mean and Sum
   * gradients (global average pooling, mean losses) with tfpipe's: the same values, made by
   * TensorFlow's own ops instead of tensors of ones that tfjs fills in JavaScript, element by
   * element, on every step. Training a small ReLU CNN at 96x96 on 2 cores, each epoch took 16-36%
   * less time (docs/performance.md, "tfjs-node's Step kernel"). Default: true when this call loads
   * the backend. A later call changes it only when it passes `fastKernels`; `false` puts tfjs' back.
   */
  readonly fastKernels?: boolean
}

// What choose() decided; useBestBackend adds the kernels in use (replacedKernels), which later calls can change.
type Chosen = Omit<BackendInfo, 'replacedKernels'>
let chosen: Promise<Chosen> | undefined
let warned = false

/**
 * Makes the native `tensorflow` backend active when it loads, else warns once
 * and uses the pure-JS `cpu` backend. Idempotent; `fit` calls it before
 * training. If you imported `@tensorflow/tfjs-node` (or `-gpu`) yourself,
 * its backend is used and nothing is loaded twice. On the `tensorflow` backend it also puts tfpipe's
 * `Step` kernel and Mean and Sum gradients in place of tfjs' (see `fastKernels`).
 * @example const { name } = await useBestBackend() // 'tensorflow'
 * Errors: never rejects for a missing binding (that is the fallback); rejects only if no backend at all can start.
 */
export function useBestBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const { intraOpThreads, fastKernels } = options
  if (fastKernels !== undefined && typeof fastKernels !== 'boolean') {
    throw new TypeError(`useBestBackend: fastKernels must be a boolean, got ${typeof fastKernels}`)
  }
  if (intraOpThreads !== undefined) {
    if (!Number.isInteger(intraOpThreads) || intraOpThreads < 1) {
      throw new RangeError(`useBestBackend: intraOpThreads must be a positive integer, got ${String(intraOpThreads)}`)
    }
    setIntraOpThreads(intraOpThreads, options.warn ?? backendWarning)
  }
  let decided = options.fresh === true ? undefined : chosen
  // The call that loads the backend replaces by default; later ones only when they pass fastKernels.
  const replace = fastKernels ?? (decided === undefined ? true : undefined)
  decided ??= chosen = choose(options)
  return decided.then((info) => {
    if (info.name !== 'tensorflow') return { ...info, replacedKernels: [] }
    return { ...info, replacedKernels: replace === undefined ? replacedKernels() : replaceKernels(replace) }
  })
}

const backendWarning = (m: string) => process.emitWarning(m, 'TfpipeBackendWarning')

// TensorFlow reads TF_NUM_INTRAOP_THREADS once, when tfjs-node makes its context as it loads.
function setIntraOpThreads(n: number, warn: (message: string) => void): void {
  const env = process.env.TF_NUM_INTRAOP_THREADS
  if (env !== undefined && env !== String(n)) {
    warn(`tfpipe: intraOpThreads ${n} is ignored: the environment sets TF_NUM_INTRAOP_THREADS=${env}, which TensorFlow uses.`)
  } else if (tf.findBackendFactory('tensorflow') !== null) {
    if (env === undefined) warn(`tfpipe: intraOpThreads ${n} is ignored: TensorFlow is already loaded (@tensorflow/tfjs-node was imported, or useBestBackend or fit ran, before this call) and keeps its thread count. Call useBestBackend({ intraOpThreads }) first, or set TF_NUM_INTRAOP_THREADS.`)
  } else {
    process.env.TF_NUM_INTRAOP_THREADS = String(n)
  }
}

/**
 * The backend in use now (`tensorflow`, `cpu`, ...).
 * @example if (activeBackend() !== 'tensorflow') console.warn('training will be slow')
 * Errors: none. Cancellation: none.
 */
export function activeBackend(): string {
  return tf.getBackend()
}

async function choose(options: BackendOptions): Promise<Chosen> {
  const warn = options.warn ?? backendWarning
  if (process.env.TFPIPE_BACKEND !== undefined && process.env.TFPIPE_BACKEND !== 'tensorflow') {
    await tf.setBackend(process.env.TFPIPE_BACKEND)
    await tf.ready()
    return { name: tf.getBackend(), native: false, reason: `TFPIPE_BACKEND=${process.env.TFPIPE_BACKEND}` }
  }
  let reason: string | undefined
  let intraOpThreads: number | undefined
  if (tf.findBackendFactory('tensorflow') === null) {
    const env = Number(process.env.TF_NUM_INTRAOP_THREADS)
    if (Number.isInteger(env) && env > 0) intraOpThreads = env
    try {
      await (options.loadNative ?? (() => import('@tensorflow/tfjs-node')))()
    } catch (err) {
      reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]
    }
  }
  if (reason === undefined && tf.findBackendFactory('tensorflow') === null) {
    reason = '@tensorflow/tfjs-node loaded a second copy of @tensorflow/tfjs-core (its version differs from your @tensorflow/tfjs); align the versions'
  }
  if (reason === undefined && await tf.setBackend('tensorflow')) {
    await tf.ready()
    return intraOpThreads === undefined ? { name: 'tensorflow', native: true } : { name: 'tensorflow', native: true, intraOpThreads }
  }
  reason ??= 'the tensorflow backend failed to start'
  await tf.setBackend('cpu')
  await tf.ready()
  if (!warned || options.fresh === true) {
    warned = true
    warn(`tfpipe: the native TensorFlow backend is not available (${reason}); training uses the pure-JS cpu backend, which is slow. ` +
      'Fix: `npm run setup:native` in tfpipe, or see the README section "Installing the native backend".')
  }
  return { name: 'cpu', native: false, reason }
}
