import { defineOperator, type CommonOptions, type Operator } from '../types.js'
import { trust } from '../internal/owned.js'
import { assertInteger, assertSignal } from '../internal/validate.js'
import { guard } from '../internal/guard.js'

/**
 * Drops the first `count` items (they are still read from the source).
 * @example pipe(rows, skip(1)) // a header row
 * Errors: a source error is raised.
 * Cancellation: `break` or the signal closes the source.
 */
export function skip<T>(count: number, options: CommonOptions = {}): Operator<T, T> {
  assertInteger('skip', 'count', count, 0)
  assertSignal('skip', options.signal)
  const sizeOf = (n: number | undefined): number | undefined => (n === undefined ? undefined : Math.max(0, n - count))
  return trust(defineOperator(`skip(${count})`, sizeOf, async function* skipOperator(source, context) {
    let seen = 0
    for await (const item of guard(source, options.signal, context.signal)) {
      if (seen < count) { seen++; continue }
      yield item
    }
  }))
}
