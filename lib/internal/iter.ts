import type { AnyIterable } from '../types.js'

/** The async iterator of any iterable (sync ones are wrapped, keeping `return()`). */
export function asyncIteratorOf<T>(source: AnyIterable<T>): AsyncIterator<T> {
  if (isAsyncIterable(source)) return source[Symbol.asyncIterator]()
  if (isIterable(source)) {
    const it = source[Symbol.iterator]()
    return {
      next: async () => it.next(),
      return: async (value?: unknown) => {
        if (it.return !== undefined) it.return(value)
        return { done: true, value: undefined }
      },
      throw: async (err?: unknown) => {
        if (it.throw !== undefined) return it.throw(err)
        throw err
      },
    }
  }
  throw new TypeError('expected an iterable or async iterable')
}

export function isAsyncIterable<T>(x: unknown): x is AsyncIterable<T> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function'
}

export function isIterable<T>(x: unknown): x is Iterable<T> {
  return x !== null && x !== undefined && typeof (x as Record<symbol, unknown>)[Symbol.iterator] === 'function'
}
