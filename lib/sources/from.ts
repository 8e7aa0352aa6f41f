import { Readable } from 'node:stream'
import { Dataset } from '../dataset.js'
import type { AnyIterable } from '../types.js'
import { isAsyncIterable, isIterable } from '../internal/iter.js'

/** What `from` (and so `pipe` and `fit`) accept as a source. */
export type Source<T> =
  | Dataset<T>
  | readonly T[]
  | AnyIterable<T>
  | (() => AnyIterable<T>)
  | Readable

/**
 * Makes a `Dataset` from an array or iterable, an async iterable, a generator
 * *function* (called again for every epoch) or a Node `Readable` (one-shot).
 * Re-iterable inputs give a fresh pass per epoch; generator objects,
 * iterators and `Readable`s can be read only once.
 * @example from(function* () { while (true) yield sample() })
 * Errors: a non-iterable throws a TypeError now; reading a one-shot source twice throws.
 * Cancellation: `break` closes the source (a `Readable` is destroyed).
 */
export function from<T>(source: Source<T>): Dataset<T> {
  if (source instanceof Dataset) return source
  if (typeof source === 'function') {
    const fn = source
    return new Dataset<T>(() => {
      const out = fn()
      if (!isIterable(out) && !isAsyncIterable(out)) {
        throw new TypeError(`from: the generator function must return an iterable or async iterable, got ${typeof out}`)
      }
      return out
    }, { labels: [`from(${fn.name === '' ? 'function' : fn.name})`] })
  }
  if (source instanceof Readable || isReadableLike(source)) {
    return oneShot(source as AsyncIterable<T>, 'from(Readable)', 'a Readable')
  }
  if (Array.isArray(source) || ArrayBuffer.isView(source)) {
    const items = source as readonly T[]
    return new Dataset<T>(() => items, { size: items.length, labels: [`from(array[${items.length}])`] })
  }
  if (isIterable<T>(source) || isAsyncIterable<T>(source)) {
    if (typeof (source as { next?: unknown }).next === 'function') {
      return oneShot(source, 'from(iterator)', 'an iterator or generator object')
    }
    const size = knownSize(source)
    return new Dataset<T>(() => source, { size, labels: [`from(${source.constructor.name || 'iterable'})`] })
  }
  throw new TypeError(`from: expected an array, iterable, async iterable, generator function or Readable, got ${source === null ? 'null' : typeof source}`)
}

function oneShot<T>(source: AnyIterable<T>, label: string, what: string): Dataset<T> {
  let used = false
  return new Dataset<T>(() => {
    if (used) {
      throw new Error(`from: ${what} can be read only once and it was read already; pass a generator function to read the data again each epoch, or give fit a stepsPerEpoch`)
    }
    used = true
    return source
  }, { labels: [label], oneShot: true })
}

function isReadableLike(x: unknown): boolean {
  return isAsyncIterable(x) && typeof (x as { pipe?: unknown }).pipe === 'function' && typeof (x as { read?: unknown }).read === 'function'
}

function knownSize(x: object): number | undefined {
  if (x instanceof Set || x instanceof Map) return x.size
  return undefined
}
