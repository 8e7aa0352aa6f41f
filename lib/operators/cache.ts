import { defineOperator, sameSize, type CommonOptions, type Operator } from '../types.js'
import { assertSignal } from '../internal/validate.js'
import { guard } from '../internal/guard.js'
import { keepBytes } from '../internal/owned.js'

/**
 * Keeps the first complete pass in memory and replays it on later passes
 * (the stages above run once). A pass stopped early is not kept.
 * Put it before random stages (`shuffle`, augmentation) so those still vary per epoch.
 * @example pipe(files, map(decodeSmall), cache(), shuffle('all'), batch(32))
 * Errors: a source error during the first pass is raised, and nothing is kept.
 * Cancellation: `break` or the signal closes the source; the partial pass is dropped.
 */
export function cache<T>(options: CommonOptions = {}): Operator<T, T> {
  assertSignal('cache', options.signal)
  let kept: T[] | undefined
  return defineOperator('cache', sameSize, async function* cacheOperator(source, context) {
    if (kept !== undefined) {
      yield* guard(kept, options.signal, context.signal)
      return
    }
    const pass: T[] = []
    for await (const item of guard(source, options.signal, context.signal)) {
      keepBytes(item) // releaseImages must not free what later passes replay
      pass.push(item)
      yield item
    }
    kept = pass
  })
}
