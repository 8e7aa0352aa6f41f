/** Test helpers: an instrumented source that counts pulls and records return(). */

export interface Spy<T> extends AsyncIterable<T> {
  /** Calls of next() so far. */
  readonly pulls: number
  /** Whether return() was called. */
  readonly returned: boolean
  /** Iterators opened. */
  readonly opened: number
}

export interface SpyOptions {
  /** next() number `throwAt` (0-based) rejects with `error`. */
  readonly throwAt?: number
  readonly error?: Error
  /** next() never settles from this pull on (a stalled source). */
  readonly stallAt?: number
}

/** A re-iterable async source over `items` (or an infinite counter when `items` is undefined). */
export function spy<T = number>(items?: readonly T[], options: SpyOptions = {}): Spy<T> {
  const state = { pulls: 0, returned: false, opened: 0 }
  const source = {
    get pulls() { return state.pulls },
    get returned() { return state.returned },
    get opened() { return state.opened },
    [Symbol.asyncIterator](): AsyncIterator<T> {
      state.opened++
      let i = 0
      let closed = false
      return {
        next: async () => {
          state.pulls++
          if (options.stallAt !== undefined && i >= options.stallAt) return new Promise<IteratorResult<T>>(() => undefined)
          if (options.throwAt !== undefined && i === options.throwAt) { i++; throw options.error ?? new Error(`source failed at ${i - 1}`) }
          if (closed || (items !== undefined && i >= items.length)) return { done: true, value: undefined }
          const value = items === undefined ? (i as T) : (items[i] as T)
          i++
          return { done: false, value }
        },
        return: async () => {
          state.returned = true
          closed = true
          return { done: true, value: undefined }
        },
      }
    },
  }
  return source
}

/** Lets pending promise callbacks and timers of 0 ms run. */
export function ticks(n = 10): Promise<void> {
  let p = Promise.resolve()
  for (let i = 0; i < n; i++) p = p.then(() => new Promise<void>((r) => setImmediate(r)))
  return p
}

export interface Deferred<T> { promise: Promise<T>, resolve: (v: T) => void, reject: (e: unknown) => void }
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of source) out.push(x)
  return out
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

/** Runs `f` with TFPIPE_JPEG=sharp (read per call: the JPEG fast path and the addon's byte scaling are off), then restores it. */
export async function withSharp<T>(f: () => Promise<T>): Promise<T> {
  return withEnv('TFPIPE_JPEG', 'sharp', f)
}

/** Runs `f` with the environment variable `name` set to `value`, then puts it back. */
export async function withEnv<T>(name: string, value: string, f: () => Promise<T>): Promise<T> {
  const before = process.env[name]
  process.env[name] = value
  try { return await f() } finally {
    if (before === undefined) delete process.env[name]
    else process.env[name] = before
  }
}
