import * as tf from '@tensorflow/tfjs'

/** Which backend tfpipe trains with, and why. */
export interface BackendInfo {
  /** `tensorflow` (native, fast) or the fallback, `cpu` (pure JS, slow). */
  readonly name: string
  readonly native: boolean
  /** Why the native backend is not in use, when it is not. */
  readonly reason?: string
}

export interface BackendOptions {
  /** Where the one warning goes. Default: `process.emitWarning`. */
  readonly warn?: (message: string) => void
  /** Loads `@tensorflow/tfjs-node` (injected by specs to simulate a missing binding). */
  readonly loadNative?: () => Promise<unknown>
  /** Forget the previous choice and decide again (specs). */
  readonly fresh?: boolean
}

let chosen: Promise<BackendInfo> | undefined
let warned = false

/**
 * Makes the native `tensorflow` backend active when it loads, else warns once
 * and uses the pure-JS `cpu` backend. Idempotent; `fit` calls it before
 * training. If you imported `@tensorflow/tfjs-node` (or `-gpu`) yourself,
 * its backend is used and nothing is loaded twice.
 * @example const { name } = await useBestBackend() // 'tensorflow'
 * Errors: never rejects for a missing binding (that is the fallback); rejects only if no backend at all can start.
 */
export function useBestBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  if (chosen === undefined || options.fresh === true) chosen = choose(options)
  return chosen
}

/**
 * The backend in use now (`tensorflow`, `cpu`, ...).
 * @example if (activeBackend() !== 'tensorflow') console.warn('training will be slow')
 * Errors: none. Cancellation: none.
 */
export function activeBackend(): string {
  return tf.getBackend()
}

async function choose(options: BackendOptions): Promise<BackendInfo> {
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'TfpipeBackendWarning'))
  if (process.env.TFPIPE_BACKEND !== undefined && process.env.TFPIPE_BACKEND !== 'tensorflow') {
    await tf.setBackend(process.env.TFPIPE_BACKEND)
    await tf.ready()
    return { name: tf.getBackend(), native: false, reason: `TFPIPE_BACKEND=${process.env.TFPIPE_BACKEND}` }
  }
  let reason: string | undefined
  if (tf.findBackendFactory('tensorflow') === null) {
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
    return { name: 'tensorflow', native: true }
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
