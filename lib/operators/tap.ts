import { defineOperator, sameSize, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertSignal } from '../internal/validate.js'
import { guard } from '../internal/guard.js'

/**
 * Calls `fn` on each item (awaiting a returned promise) and passes the item on unchanged.
 * @example pipe(files, tap((f) => log.debug(f)), map(decode))
 * Errors: an error from `fn` or the source is raised at that item.
 * Cancellation: `break` or the signal closes the source.
 */
export function tap<T>(fn: (item: T, context: ItemContext) => unknown, options: CommonOptions = {}): Operator<T, T> {
  assertFunction('tap', 'fn', fn)
  assertSignal('tap', options.signal)
  return defineOperator(`tap(${fn.name || 'fn'})`, sameSize, async function* tapOperator(source, context) {
    const signal = options.signal ?? context.signal ?? new AbortController().signal
    let index = 0
    for await (const item of guard(source, options.signal, context.signal)) {
      const r = fn(item, { index: index++, signal })
      if (r instanceof Promise) await r
      yield item
    }
  })
}
