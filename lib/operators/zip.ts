import { defineOperator, type Operator } from '../types.js'
import { from, type Source } from '../sources/from.js'
import { asyncIteratorOf } from '../internal/iter.js'
import { closeQuietly, raceAbort } from '../internal/abort.js'

type Items<S extends readonly unknown[]> = { [K in keyof S]: S[K] extends Source<infer U> ? U : never }

/**
 * Pairs each item with the items at the same position of `others`: `[a, b, ...]`,
 * until the shortest ends (the others are then closed).
 * @example pipe(images, zip(labels), map(([x, y]) => ({ x, y })))
 * Errors: an error from any input is raised; the other inputs are closed.
 * Cancellation: `break` or the signal closes every input.
 */
export function zip<T, const S extends ReadonlyArray<Source<unknown>>>(...others: S): Operator<T, [T, ...Items<S>]> {
  const parts = others.map((o) => from(o))
  const sizeOf = (n: number | undefined): number | undefined => {
    const sizes = [n, ...parts.map((p) => p.size)]
    return sizes.every((s) => s !== undefined) ? Math.min(...(sizes as number[])) : undefined
  }
  return defineOperator(`zip(${parts.length})`, sizeOf, async function* zipOperator(source, context) {
    const its = [asyncIteratorOf(source), ...parts.map((p) => p.iterate({ epoch: context.epoch ?? 0 }))]
    try {
      for (;;) {
        const rs = await raceAbort(Promise.all(its.map((it) => it.next())), context.signal)
        if (rs.some((r) => r.done === true)) return
        yield rs.map((r) => r.value) as [T, ...Items<S>]
      }
    } finally {
      // Every input is closed: the longer ones were not read to their end (closing an ended one is a no-op).
      for (const it of its) closeQuietly(it)
    }
  })
}
