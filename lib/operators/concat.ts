import { defineOperator, type Operator } from '../types.js'
import { from, type Source } from '../sources/from.js'
import { guard } from '../internal/guard.js'

/**
 * The source's items, then each of `others`' items in turn. Inside a `Dataset`,
 * `others` that are datasets start a pass of the same epoch.
 * @example pipe(trainA, concat(trainB))
 * Errors: an error from any part is raised where it happens.
 * Cancellation: `break` or the signal closes the part being read.
 */
export function concat<T>(...others: Array<Source<T>>): Operator<T, T> {
  const parts = others.map((o) => from(o))
  const sizeOf = (n: number | undefined): number | undefined =>
    parts.reduce<number | undefined>((acc, p) => (acc === undefined || p.size === undefined ? undefined : acc + p.size), n)
  return defineOperator(`concat(${parts.length})`, sizeOf, async function* concatOperator(source, context) {
    yield* guard(source, context.signal)
    for (const p of parts) yield* guard(p.iterate({ epoch: context.epoch ?? 0 }), context.signal)
  })
}
