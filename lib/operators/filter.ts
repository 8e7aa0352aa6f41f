import { defineOperator, unknownSize, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertInteger, assertSignal } from '../internal/validate.js'
import { parallel } from '../internal/parallel.js'

export interface FilterOptions extends CommonOptions {
  /** Predicate calls running at once. Default 1. */
  readonly concurrency?: number
}

/**
 * Keeps the items for which `predicate` (sync or async) is truthy, in order.
 * The dataset's size becomes unknown.
 * @example pipe(rows, filter(async (r) => (await stat(r.path)).size > 0))
 * Errors: a predicate or source error is raised in order; in-flight predicates are aborted.
 * Cancellation: `break`, an error or the signal closes the source.
 */
export function filter<T>(predicate: (item: T, context: ItemContext) => unknown, options: FilterOptions = {}): Operator<T, T> {
  assertFunction('filter', 'predicate', predicate)
  const { concurrency = 1, signal } = options
  assertInteger('filter', 'concurrency', concurrency, 1)
  assertSignal('filter', signal)
  const readAhead = concurrency > 1 ? concurrency : 0
  return defineOperator(`filter(${predicate.name || 'fn'})`, unknownSize, async function* filterOperator(source, context) {
    const tested = parallel(source, async (item: T, ctx: ItemContext) => [await predicate(item, ctx), item] as const,
      { concurrency, readAhead, ordered: true, signals: [signal, context.signal] })
    for await (const [keep, item] of tested) if (keep) yield item
  })
}
