import { defineOperator, unknownSize, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertSignal } from '../internal/validate.js'
import { isPromiseLike, parallel } from '../internal/parallel.js'
import { guard } from '../internal/guard.js'
import { concurrencyChoice, withAutotune, type AutotuneState } from '../internal/tune.js'

export interface FilterOptions extends CommonOptions {
  /** Predicate calls running at once. Default 1. `'auto'` chooses it as items go, as `map`'s does (see `MapOptions.concurrency`); the operator's `autotune` shows the value and every change. */
  readonly concurrency?: number | 'auto'
  /** With `concurrency: 'auto'`: the most calls it may run at once. Default 64. */
  readonly maxConcurrency?: number
}

/**
 * Keeps the items for which `predicate` (sync or async) is truthy, in order.
 * The dataset's size becomes unknown.
 * @example pipe(rows, filter(async (r) => (await stat(r.path)).size > 0, { concurrency: 'auto' }))
 * Errors: a predicate or source error is raised in order; in-flight predicates are aborted.
 * Cancellation: `break`, an error or the signal closes the source.
 */
export function filter<T>(predicate: (item: T, context: ItemContext) => unknown, options: FilterOptions & { readonly concurrency: 'auto' }): Operator<T, T> & { readonly autotune: AutotuneState }
/**
 * `filter` with a fixed concurrency (default 1); the signature above describes
 * both. The operator returned by `concurrency: 'auto'` also has `autotune`.
 * @example pipe(rows, filter((r) => r.label !== 'unknown'))
 */
export function filter<T>(predicate: (item: T, context: ItemContext) => unknown, options?: FilterOptions): Operator<T, T>
export function filter<T>(predicate: (item: T, context: ItemContext) => unknown, options: FilterOptions = {}): Operator<T, T> {
  assertFunction('filter', 'predicate', predicate)
  const { signal } = options
  const { concurrency, tuner } = concurrencyChoice('filter', options)
  assertSignal('filter', signal)
  const readAhead = tuner !== undefined ? undefined : concurrency > 1 ? concurrency : 0
  const name = `filter(${predicate.name || 'fn'}`
  const op = defineOperator<T, T>(`${name})`, unknownSize, async function* filterOperator(source, context) {
    if (concurrency === 1 && tuner === undefined) {
      // One predicate at a time needs no engine: a plain loop.
      const signals = [signal, context.signal].filter((s) => s !== undefined)
      const itemSignal = signals.length === 1 ? signals[0] as AbortSignal : AbortSignal.any(signals.length > 0 ? signals : [new AbortController().signal])
      let index = 0
      for await (const item of guard(source, signal, context.signal)) {
        const keep = predicate(item, { index: index++, signal: itemSignal, epoch: context.epoch })
        if (isPromiseLike(keep) ? await keep : keep) yield item
      }
      return
    }
    const tested = parallel(source, async (item: T, ctx: ItemContext) => [await predicate(item, ctx), item] as const,
      { concurrency, readAhead, tuner, ordered: true, signals: [signal, context.signal], epoch: context.epoch })
    for await (const [keep, item] of tested) if (keep) yield item
  })
  return withAutotune(op, tuner, (now) => `${name}, concurrency ${now})`)
}
