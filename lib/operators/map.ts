import { defineOperator, sameSize, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertCount, assertFunction, assertInteger, assertOneOf, assertSignal } from '../internal/validate.js'
import { SkipLog, type ErrorPolicy } from '../internal/skips.js'
import { parallel } from '../internal/parallel.js'
import { concurrencyChoice, withAutotune, type AutotuneState } from '../internal/tune.js'
import { isProducer, own, producer, trust } from '../internal/owned.js'

export interface MapOptions extends CommonOptions {
  /**
   * Calls of `fn` running at once. Default 1. `'auto'` chooses it as items go,
   * like tf.data's AUTOTUNE: it starts at 1 and doubles it, or raises it to
   * what the consumer takes between two training steps (up to
   * `maxConcurrency`), while the consumer waits on busy calls with the event
   * loop idle and each raise delivers 5% more items per second or cuts that
   * waiting per item by a fifth (a training step that holds the main thread
   * is not counted as waiting on the calls); the operator's `autotune` shows
   * the value and every change.
   * The value carries over from one epoch to the next.
   */
  readonly concurrency?: number | 'auto'
  /** With `concurrency: 'auto'`: the most calls it may run at once. Default 64. */
  readonly maxConcurrency?: number
  /** Deliver in input order (default) or as each call finishes. */
  readonly ordered?: boolean
  /** Finished results held beyond those running, waiting for the consumer. Default: `concurrency` (0 when it is 1; with `'auto'`, the concurrency chosen at the time). */
  readonly readAhead?: number
  /**
   * What an error from `fn` does: `stop` (default) raises it; `skip` drops the
   * item and records it (fit counts and lists skipped items per epoch); a
   * function decides per error.
   */
  readonly onError?: ErrorPolicy
  /** With skipping: more skipped items than this (in one pass) is an error. Default 1000. */
  readonly maxSkipped?: number
}

/**
 * Applies `fn` (returning a value or a promise) to every item, with up to
 * `concurrency` calls at once; at most `concurrency + readAhead` items are
 * ever pulled ahead of the consumer (with `'auto'`, the concurrency chosen at
 * the time: at most `2 * maxConcurrency` with the default read-ahead).
 * One `map` used by two iterations at once (two epochs open together) shares
 * its tuner between them.
 * @param fn receives the item and `{ index, signal }`
 * @example pipe(glob('img/*.jpg'), map(decodeImage, { concurrency: 'auto' }))
 * Errors: an error from `fn` is raised as soon as it happens (calls in flight are aborted); a source error after the items read before it.
 * Cancellation: `break`, an error or the signal aborts in-flight calls (their `signal`) and closes the source.
 */
export function map<I, O>(fn: (item: I, context: ItemContext) => O | PromiseLike<O>, options: MapOptions & { readonly concurrency: 'auto' }): Operator<I, O> & { readonly autotune: AutotuneState }
/**
 * `map` with a fixed concurrency (default 1); the signature above describes
 * both. The operator returned by `concurrency: 'auto'` also has `autotune`.
 * @example pipe(glob('img/*.jpg'), map(decodeImage, { concurrency: 16 }), batch(32))
 */
export function map<I, O>(fn: (item: I, context: ItemContext) => O | PromiseLike<O>, options?: MapOptions): Operator<I, O>
export function map<I, O>(fn: (item: I, context: ItemContext) => O | PromiseLike<O>, options: MapOptions = {}): Operator<I, O> {
  assertFunction('map', 'fn', fn)
  const { ordered = true, signal } = options
  const { concurrency, maxConcurrency, tuner } = concurrencyChoice('map', options)
  const readAhead = options.readAhead ?? (tuner !== undefined ? undefined : concurrency > 1 ? concurrency : 0)
  if (readAhead !== undefined) assertInteger('map', 'readAhead', readAhead, 0)
  assertSignal('map', signal)
  const onError = options.onError ?? 'stop'
  if (typeof onError !== 'function') assertOneOf('map', 'onError', onError, ['stop', 'skip'])
  const maxSkipped = options.maxSkipped ?? 1000
  assertCount('map', 'maxSkipped', maxSkipped, 0)
  const labelOf = (c: string): string => c === '1' ? `map(${fn.name || 'fn'})` : `map(${fn.name || 'fn'}, concurrency ${c}${ordered ? '' : ', unordered'})`
  const label = labelOf(tuner !== undefined ? `auto, at most ${maxConcurrency}` : String(concurrency))
  const withTuner = <T extends object>(op: T, suffix = ''): T => withAutotune(op, tuner, (now) => labelOf(now) + suffix)
  // With a producer (imageSample's function) the results are fresh samples only this chain holds:
  // marked as owned, and the stage passes ownership on (internal/owned.ts). fn sees only the input.
  const made = isProducer(fn)
  const ownResults = (op: Operator<I, O>): Operator<I, O> => (made ? producer(trust(op)) : op)
  const run = made
    ? async (item: I, ctx: ItemContext): Promise<O> => { const v = await fn(item, ctx); own(v); return v }
    : fn
  if (onError === 'stop') {
    return withTuner(ownResults(defineOperator<I, O>(label, sameSize, (source, context) =>
      parallel(source, run, { concurrency, readAhead, tuner, ordered, signals: [signal, context.signal], epoch: context.epoch }))))
  }
  const log = new SkipLog(label)
  const skipping = ' [skips bad items]'
  const op = defineOperator<I, O>(label + skipping, sameSize, async function* skippingMap(source, context) {
    let skippedHere = 0
    const guarded = async (item: I, ctx: ItemContext): Promise<O | typeof SKIP> => {
      try {
        return await run(item, ctx)
      } catch (err) {
        if (ctx.signal.aborted) throw err
        const decision = typeof onError === 'function' ? onError(err, item, ctx.index) : onError
        if (decision !== 'skip') throw err
        const entry = log.record(ctx.index, item, err)
        if (++skippedHere > maxSkipped) {
          throw new Error(`map: more than maxSkipped (${maxSkipped}) items failed in this pass; the last: ${entry.item}: ${entry.reason}`, { cause: err })
        }
        return SKIP
      }
    }
    for await (const v of parallel(source, guarded, { concurrency, readAhead, tuner, ordered, signals: [signal, context.signal], epoch: context.epoch })) {
      if (v !== SKIP) yield v as O
    }
  })
  return withTuner(Object.assign(ownResults(op), { skipLog: log }), skipping)
}

const SKIP: unique symbol = Symbol('skip')
