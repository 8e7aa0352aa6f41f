import fs from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import path from 'node:path'
import { Piscina } from 'piscina'
import { assertInteger } from '../internal/validate.js'

/** JavaScript to run in worker threads: a module (path or file URL) and the name of the function it exports. */
export interface WorkerTransform {
  readonly module: string
  readonly name: string
}

export interface WorkerPoolOptions {
  /** Threads in the pool. Default 1. */
  readonly threads?: number
}

/** The message a worker receives. */
export interface WorkerTask {
  readonly module: string
  readonly name: string
  readonly value: unknown
}

/**
 * A pool of worker threads (piscina) running one transform: CPU-heavy
 * JavaScript (a user's own decoding or feature code) off the main thread.
 * Typed arrays whose memory they own move to the worker and back without copying.
 * tfjs is never loaded in a worker: a transform that loads it is refused.
 * @example const pool = new WorkerPool({ module: './features.js', name: 'extract' }, { threads: 2 })
 * Errors: an error inside the worker rejects `run` with its message and stack.
 * Cancellation: `destroy()` ends the threads; a task running then rejects.
 */
export class WorkerPool {
  readonly #pool: Piscina
  readonly #module: string
  readonly #name: string

  constructor(transform: WorkerTransform, options: WorkerPoolOptions = {}) {
    if (typeof transform !== 'object' || transform === null || typeof transform.module !== 'string' || typeof transform.name !== 'string' || transform.name === '') {
      throw new TypeError(`WorkerPool: transform must be { module: string, name: string }, got ${JSON.stringify(transform)}`)
    }
    const threads = options.threads ?? 1
    assertInteger('WorkerPool', 'threads', threads, 1, 256)
    const file = transform.module.startsWith('file:') ? fileURLToPath(transform.module) : path.resolve(transform.module)
    if (!fs.existsSync(file)) throw new Error(`WorkerPool: the transform module ${file} does not exist`)
    this.#module = pathToFileURL(file).href
    this.#name = transform.name
    this.#pool = new Piscina({ filename: runnerFile(), minThreads: threads, maxThreads: threads, idleTimeout: 1000 })
  }

  /**
   * Runs the transform on `value` in a worker. The typed arrays in `value` are
   * moved there (not copied), so `value` must not be used again: make fresh
   * arrays per batch (decoding does), not the same batch objects every epoch.
   */
  async run(value: unknown): Promise<unknown> {
    const task: WorkerTask = { module: this.#module, name: this.#name, value }
    try {
      return await this.#pool.run(task, { transferList: transferables(value) })
    } catch (err) {
      if (err instanceof DOMException && err.name === 'DataCloneError') {
        throw new TypeError(`WorkerPool: the batch cannot be sent to a worker thread (${err.message}). Its typed arrays move to the worker without copying, so a batch object can be sent only once: make fresh arrays per epoch (a generator function, decoding) instead of reusing the same batches (an array source, cache())`, { cause: err })
      }
      throw err
    }
  }

  get threads(): number {
    return this.#pool.threads.length
  }

  /** Ends every thread. */
  async destroy(): Promise<void> {
    await this.#pool.destroy()
  }
}

function runnerFile(): string {
  const js = fileURLToPath(new URL('./runner.js', import.meta.url))
  return fs.existsSync(js) ? js : fileURLToPath(new URL('./runner.ts', import.meta.url))
}

/**
 * The ArrayBuffers that can move without copying: those wholly owned by one
 * typed array (not a slice of Node's shared Buffer pool, not shared memory).
 */
export function transferables(value: unknown, out = new Set<ArrayBuffer>(), depth = 0): ArrayBuffer[] {
  if (depth > 8 || value === null || typeof value !== 'object') return [...out]
  if (ArrayBuffer.isView(value)) {
    const buf = value.buffer
    if (buf instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buf.byteLength && buf.byteLength > 0) out.add(buf)
    return [...out]
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) transferables(v, out, depth + 1)
  return [...out]
}
