import { defineOperator, type CommonOptions, type Operator } from '../types.js'
import { assertCount, assertSignal } from '../internal/validate.js'
import { guard } from '../internal/guard.js'
import { asyncIteratorOf } from '../internal/iter.js'

/**
 * Reads the source `count` times (default forever). Inside a `Dataset` each
 * repetition is a fresh read of the stages above, with its own shuffle order.
 * @example pipe(files, shuffle('all', { seed: 1 }), repeat(3))
 * Errors: a source that can be read only once (a generator object, a stream) throws when read again.
 * Cancellation: `break` or the signal closes the current repetition's source.
 */
export function repeat<T>(count = Infinity, options: CommonOptions = {}): Operator<T, T> {
  assertCount('repeat', 'count', count, 0)
  assertSignal('repeat', options.signal)
  const sizeOf = (n: number | undefined): number | undefined => (n === undefined || count === Infinity ? (n === 0 ? 0 : undefined) : n * count)
  return defineOperator(`repeat(${count})`, sizeOf, async function* repeatOperator(source, context) {
    let firstIterator: unknown
    for (let r = 0; r < count; r++) {
      const it = asyncIteratorOf(source)
      if (r === 0) firstIterator = it
      else if (it === firstIterator) {
        throw new Error('repeat: the source can be read only once (it is an iterator or stream, not a Dataset or array); use it inside pipe(), or make the source a generator function')
      }
      let any = false
      for await (const item of guard({ [Symbol.asyncIterator]: () => it }, options.signal, context.signal)) {
        any = true
        yield item
      }
      if (!any) return // an empty source repeated forever is still empty
    }
  })
}
