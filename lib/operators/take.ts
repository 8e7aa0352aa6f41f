import { defineOperator, type CommonOptions, type Operator } from '../types.js'
import { trust } from '../internal/owned.js'
import { assertCount, assertSignal } from '../internal/validate.js'
import { guard } from '../internal/guard.js'

/**
 * The first `count` items, then closes the source (it is never read past them).
 * @example pipe(infiniteSource, take(100))
 * Errors: a source error before `count` items is raised.
 * Cancellation: `break` or the signal closes the source.
 */
export function take<T>(count: number, options: CommonOptions = {}): Operator<T, T> {
  assertCount('take', 'count', count, 0)
  assertSignal('take', options.signal)
  const sizeOf = (n: number | undefined): number | undefined => (n === undefined ? undefined : Math.min(n, count))
  return trust(defineOperator(`take(${count})`, sizeOf, async function* takeOperator(source, context) {
    if (count === 0) return
    let taken = 0
    for await (const item of guard(source, options.signal, context.signal)) {
      yield item
      if (++taken >= count) return
    }
  }))
}
