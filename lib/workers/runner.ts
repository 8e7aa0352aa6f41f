// Runs in a worker thread: imports the transform's module once and calls its export.
// It never imports tfjs, and refuses a transform that does (tfjs-node fails from the second worker on).
import { Piscina } from 'piscina'
import { transferables, type WorkerTask } from './pool.js'

const loaded = new Map<string, (value: unknown) => unknown>()

export default async function runTransform(task: WorkerTask): Promise<unknown> {
  const key = `${task.module}#${task.name}`
  let fn = loaded.get(key)
  if (fn === undefined) {
    const mod = (await import(task.module)) as Record<string, unknown>
    const found = mod[task.name]
    if (typeof found !== 'function') throw new TypeError(`worker: ${task.module} has no exported function ${JSON.stringify(task.name)}`)
    if ((globalThis as { _tfengine?: unknown })._tfengine !== undefined) {
      throw new Error(`worker: ${task.module} loads tfjs; code run in worker threads must not (return typed arrays and make tensors on the main thread)`)
    }
    fn = found as (value: unknown) => unknown
    loaded.set(key, fn)
  }
  const result = await fn(task.value)
  const buffers = transferables(result)
  if (buffers.length === 0) return result
  return Piscina.move({ [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: result } as unknown as ArrayBuffer)
}
