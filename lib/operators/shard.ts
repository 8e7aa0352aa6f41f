import { defineOperator, type CommonOptions, type Operator } from '../types.js'
import { trust } from '../internal/owned.js'
import { assertInteger, assertSignal } from '../internal/validate.js'
import { guard } from '../internal/guard.js'

/**
 * Keeps every `count`-th item starting at `index` (items i with i % count === index),
 * so `count` workers or machines each read a disjoint share.
 * @example pipe(files, shard(workers, workerIndex))
 * Errors: a source error is raised.
 * Cancellation: `break` or the signal closes the source.
 */
export function shard<T>(count: number, index: number, options: CommonOptions = {}): Operator<T, T> {
  assertInteger('shard', 'count', count, 1)
  assertInteger('shard', 'index', index, 0, count - 1)
  assertSignal('shard', options.signal)
  const sizeOf = (n: number | undefined): number | undefined => (n === undefined ? undefined : Math.max(0, Math.ceil((n - index) / count)))
  return trust(defineOperator(`shard(${count}, ${index})`, sizeOf, async function* shardOperator(source, context) {
    let i = 0
    for await (const item of guard(source, options.signal, context.signal)) {
      if (i++ % count === index) yield item
    }
  }))
}
