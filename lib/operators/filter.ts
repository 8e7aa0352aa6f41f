import { defineOperator, unknownSize, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertInteger, assertSignal } from '../internal/validate.js'
import { isPromiseLike, parallel } from '../internal/parallel.js'
import { guard } from '../internal/guard.js'

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
    if (concurrency === 1) {
      // One predicate at a time needs no engine: a plain loop.
      const signals = [signal, context.signal].filter((s) => s !== undefined)
      const itemSignal = signals.length === 1 ? signals[0] as AbortSignal : AbortSignal.any(signals.length > 0 ? signals : [new AbortController().signal])
      let index = 0
      for await (const item of guard(source, signal, context.signal)) {
        const keep = predicate(item, { index: index++, signal: itemSignal })
        if (isPromiseLike(keep) ? await keep : keep) yield item
      }
      return
    }
    const tested = parallel(source, async (item: T, ctx: ItemContext) => [await predicate(item, ctx), item] as const,
      { concurrency, readAhead, ordered: true, signals: [signal, context.signal] })
    for await (const [keep, item] of tested) if (keep) yield item
  })
}
