import { defineOperator, sameSize, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertInteger, assertSignal } from '../internal/validate.js'
import { parallel } from '../internal/parallel.js'

export interface MapOptions extends CommonOptions {
  /** Calls of `fn` running at once. Default 1. */
  readonly concurrency?: number
  /** Deliver in input order (default) or as each call finishes. */
  readonly ordered?: boolean
  /** Finished results held beyond those running, waiting for the consumer. Default: `concurrency` (0 when it is 1). */
  readonly readAhead?: number
}

/**
 * Applies `fn` (returning a value or a promise) to every item, with up to
 * `concurrency` calls at once; at most `concurrency + readAhead` items are
 * ever pulled ahead of the consumer.
 * @param fn receives the item and `{ index, signal }`
 * @example pipe(glob('img/*.jpg'), map(decodeImage, { concurrency: 4 }))
 * Errors: an error from `fn` is raised as soon as it happens (calls in flight are aborted); a source error after the items read before it.
 * Cancellation: `break`, an error or the signal aborts in-flight calls (their `signal`) and closes the source.
 */
export function map<I, O>(fn: (item: I, context: ItemContext) => O | PromiseLike<O>, options: MapOptions = {}): Operator<I, O> {
  assertFunction('map', 'fn', fn)
  const { concurrency = 1, ordered = true, signal } = options
  assertInteger('map', 'concurrency', concurrency, 1)
  const readAhead = options.readAhead ?? (concurrency > 1 ? concurrency : 0)
  assertInteger('map', 'readAhead', readAhead, 0)
  assertSignal('map', signal)
  const label = concurrency > 1 ? `map(${fn.name || 'fn'}, concurrency ${concurrency}${ordered ? '' : ', unordered'})` : `map(${fn.name || 'fn'})`
  return defineOperator(label, sameSize, (source, context) =>
    parallel(source, fn, { concurrency, readAhead, ordered, signals: [signal, context.signal], epoch: context.epoch }))
}
