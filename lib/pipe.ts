import { Dataset, type Stage } from './dataset.js'
import { from, type Source } from './sources/from.js'

/**
 * Builds a lazy, re-iterable `Dataset` from a source and stages. Nothing is
 * read until the first `next()`; each `for await` over the result is a fresh epoch.
 * @example
 * const train = pipe(glob('data/**\/*.jpg'), shuffle('all', { seed: 1 }), map(decode, { concurrency: 4 }), batch(32), prefetch(2))
 * Errors: a bad source throws a TypeError now; stage errors surface when iterating.
 * Cancellation: `break` out of the loop closes every stage and the source.
 */
export function pipe<A>(source: Source<A>): Dataset<A>
export function pipe<A, B>(source: Source<A>, s1: Stage<A, B>): Dataset<B>
export function pipe<A, B, C>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>): Dataset<C>
export function pipe<A, B, C, D>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>): Dataset<D>
export function pipe<A, B, C, D, E>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>): Dataset<E>
export function pipe<A, B, C, D, E, F>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>, s5: Stage<E, F>): Dataset<F>
export function pipe<A, B, C, D, E, F, G>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>, s5: Stage<E, F>, s6: Stage<F, G>): Dataset<G>
export function pipe<A, B, C, D, E, F, G, H>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>, s5: Stage<E, F>, s6: Stage<F, G>, s7: Stage<G, H>): Dataset<H>
export function pipe<A, B, C, D, E, F, G, H, I>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>, s5: Stage<E, F>, s6: Stage<F, G>, s7: Stage<G, H>, s8: Stage<H, I>): Dataset<I>
export function pipe<A, B, C, D, E, F, G, H, I, J>(source: Source<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>, s5: Stage<E, F>, s6: Stage<F, G>, s7: Stage<G, H>, s8: Stage<H, I>, s9: Stage<I, J>): Dataset<J>
export function pipe(source: Source<unknown>, ...stages: Array<Stage<unknown, unknown>>): Dataset<unknown>
export function pipe(source: Source<unknown>, ...stages: Array<Stage<unknown, unknown>>): Dataset<unknown> {
  stages.forEach((s, i) => {
    if (typeof s !== 'function') throw new TypeError(`pipe: stage ${i + 1} must be a function (an operator), got ${s === null ? 'null' : typeof s}`)
  })
  return from(source).pipe(...stages)
}
