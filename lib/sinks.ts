import { Readable } from 'node:stream'
import type { ItemContext } from './types.js'
import { from, type Source } from './sources/from.js'
import { guard } from './internal/guard.js'
import { assertFunction, assertSignal } from './internal/validate.js'

export interface SinkOptions {
  readonly signal?: AbortSignal
}

/**
 * Reads one pass into an array (for small data and tests).
 * @example const xs = await toArray(pipe([1, 2, 3], map((x) => x * 2)))
 * Errors: rejects with the first error of the pass.
 * Cancellation: the signal rejects with its reason and closes the source.
 */
export async function toArray<T>(source: Source<T>, options: SinkOptions = {}): Promise<T[]> {
  assertSignal('toArray', options.signal)
  const out: T[] = []
  for await (const item of guard(from(source), options.signal)) out.push(item)
  return out
}

/**
 * Calls `fn` on each item of one pass, awaiting it before reading the next.
 * @example await forEach(ds, (batch) => console.log(batch.length))
 * Errors: rejects with the first error of the pass or of `fn`, and closes the source.
 * Cancellation: the signal rejects with its reason and closes the source.
 */
export async function forEach<T>(source: Source<T>, fn: (item: T, context: ItemContext) => unknown, options: SinkOptions = {}): Promise<void> {
  assertFunction('forEach', 'fn', fn)
  assertSignal('forEach', options.signal)
  const signal = options.signal ?? new AbortController().signal
  let index = 0
  for await (const item of guard(from(source), options.signal)) await fn(item, { index: index++, signal })
}

/**
 * Reads one pass and discards it; resolves with the count of items.
 * @example const n = await drain(pipe(files, map(check)))
 * Errors: rejects with the first error of the pass.
 * Cancellation: the signal rejects with its reason and closes the source.
 */
export async function drain(source: Source<unknown>, options: SinkOptions = {}): Promise<number> {
  assertSignal('drain', options.signal)
  let n = 0
  for await (const _ of guard(from(source), options.signal)) n++
  return n
}

/**
 * One pass as an object-mode `Readable`, for `stream.pipeline` and anything that takes a stream.
 * @example pipeline(toStream(ds), new Transform({ objectMode: true, transform }), sink)
 * Errors: a pass error destroys the stream with that error.
 * Cancellation: destroying the stream closes the pass and its source.
 */
export function toStream<T>(source: Source<T>, options: { readonly highWaterMark?: number } = {}): Readable {
  return Readable.from(from(source), { objectMode: true, highWaterMark: options.highWaterMark ?? 1 })
}
