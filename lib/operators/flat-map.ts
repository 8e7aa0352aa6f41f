import { defineOperator, unknownSize, type AnyIterable, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertInteger, assertSignal } from '../internal/validate.js'
import { parallel } from '../internal/parallel.js'
import { guard } from '../internal/guard.js'

export interface FlatMapOptions extends CommonOptions {
  /** Calls of `fn` (making the inner iterables) running at once. Default 1. */
  readonly concurrency?: number
}

/**
 * Maps each item to an iterable (or async iterable, or a promise of one) and
 * yields its items, inner iterables read one after another in input order.
 * For reading several inner iterables at once, see `interleave`.
 * @example pipe(csvFiles, flatMap((f) => csv(f)))
 * Errors: an error from `fn`, an inner iterable or the source is raised in order.
 * Cancellation: `break` or the signal closes the inner iterable and the source.
 */
export function flatMap<I, O>(fn: (item: I, context: ItemContext) => AnyIterable<O> | PromiseLike<AnyIterable<O>>, options: FlatMapOptions = {}): Operator<I, O> {
  assertFunction('flatMap', 'fn', fn)
  const { concurrency = 1, signal } = options
  assertInteger('flatMap', 'concurrency', concurrency, 1)
  assertSignal('flatMap', signal)
  return defineOperator(`flatMap(${fn.name || 'fn'})`, unknownSize, async function* flatMapOperator(source, context) {
    const inners = parallel(source, fn, { concurrency, readAhead: concurrency > 1 ? concurrency : 0, ordered: true, signals: [signal, context.signal] })
    for await (const inner of inners) yield* guard(inner, signal, context.signal)
  })
}
