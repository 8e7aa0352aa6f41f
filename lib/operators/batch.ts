import itBatch from 'it-batch'
import { trust } from '../internal/owned.js'
import { defineOperator, type CommonOptions, type Operator } from '../types.js'
import { assertInteger, assertSignal } from '../internal/validate.js'
import { guard } from '../internal/guard.js'

export interface BatchOptions extends CommonOptions {
  /** Drop a last batch shorter than `size` (default false). */
  readonly dropRemainder?: boolean
}

/**
 * Groups items into arrays of `size`; the last may be shorter unless `dropRemainder`.
 * Built on it-batch.
 * @example pipe(samples, batch(32, { dropRemainder: true }))
 * Errors: a source error is raised after the partial batch is dropped.
 * Cancellation: `break`, return() or the signal stops reading and closes the source.
 */
export function batch<T>(size: number, options: BatchOptions = {}): Operator<T, T[]> {
  assertInteger('batch', 'size', size, 1)
  const { dropRemainder = false, signal } = options
  assertSignal('batch', signal)
  const sizeOf = (n: number | undefined): number | undefined =>
    n === undefined ? undefined : dropRemainder ? Math.floor(n / size) : Math.ceil(n / size)
  return trust(defineOperator(`batch(${size}${dropRemainder ? ', dropRemainder' : ''})`, sizeOf, async function* batchOperator(source, context) {
    for await (const group of itBatch(guard(source, signal, context.signal), size)) {
      if (dropRemainder && group.length < size) return
      yield group
    }
  }))
}
