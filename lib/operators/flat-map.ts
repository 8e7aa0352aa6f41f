import { defineOperator, unknownSize, type AnyIterable, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertSignal } from '../internal/validate.js'
import { parallel } from '../internal/parallel.js'
import { guard } from '../internal/guard.js'
import { concurrencyChoice, withAutotune, type AutotuneState } from '../internal/tune.js'

export interface FlatMapOptions extends CommonOptions {
  /** Calls of `fn` (making the inner iterables) running at once. Default 1. `'auto'` chooses it as items go, as `map`'s does (see `MapOptions.concurrency`); the operator's `autotune` shows the value and every change. */
  readonly concurrency?: number | 'auto'
  /** With `concurrency: 'auto'`: the most calls it may run at once. Default 64. */
  readonly maxConcurrency?: number
}

/**
 * Maps each item to an iterable (or async iterable, or a promise of one) and
 * yields its items, inner iterables read one after another in input order.
 * For reading several inner iterables at once, see `interleave`.
 * @example pipe(csvFiles, flatMap((f) => csv(f)))
 * Errors: an error from `fn`, an inner iterable or the source is raised in order.
 * Cancellation: `break` or the signal closes the inner iterable and the source.
 */
export function flatMap<I, O>(fn: (item: I, context: ItemContext) => AnyIterable<O> | PromiseLike<AnyIterable<O>>, options: FlatMapOptions & { readonly concurrency: 'auto' }): Operator<I, O> & { readonly autotune: AutotuneState }
/**
 * `flatMap` with a fixed concurrency (default 1); the signature above describes
 * both. The operator returned by `concurrency: 'auto'` also has `autotune`.
 * @example pipe(listFiles, flatMap(async (f) => JSON.parse(await readFile(f, 'utf8')) as Row[], { concurrency: 4 }))
 */
export function flatMap<I, O>(fn: (item: I, context: ItemContext) => AnyIterable<O> | PromiseLike<AnyIterable<O>>, options?: FlatMapOptions): Operator<I, O>
export function flatMap<I, O>(fn: (item: I, context: ItemContext) => AnyIterable<O> | PromiseLike<AnyIterable<O>>, options: FlatMapOptions = {}): Operator<I, O> {
  assertFunction('flatMap', 'fn', fn)
  const { signal } = options
  const { concurrency, tuner } = concurrencyChoice('flatMap', options)
  assertSignal('flatMap', signal)
  const readAhead = tuner !== undefined ? undefined : concurrency > 1 ? concurrency : 0
  const name = `flatMap(${fn.name || 'fn'}`
  const op = defineOperator<I, O>(`${name})`, unknownSize, async function* flatMapOperator(source, context) {
    const inners = parallel(source, fn, { concurrency, readAhead, tuner, ordered: true, signals: [signal, context.signal], epoch: context.epoch })
    for await (const inner of inners) yield* guard(inner, signal, context.signal)
  })
  return withAutotune(op, tuner, (now) => `${name}, concurrency ${now})`)
}
