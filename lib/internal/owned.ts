import type { AnyIterable } from '../types.js'

/**
 * Samples whose image bytes nothing but tfpipe can reach, so stacking them into
 * a batch (`collateInto`, with `releaseOwned`) frees the bytes at once instead of
 * leaving 150 KB per 224x224 image to V8's next collection.
 *
 * A sample is owned when `map` made it with a producer (`imageSample`'s
 * function) and it has since passed only through stages that neither keep an
 * item beyond their pass nor hand one to user code (`trust`: batch, prefetch,
 * shuffle, take, skip, shard; and collate, which frees the bytes itself once it
 * has stacked them). Every other way out takes the mark off first:
 * any other stage (user stages, `map`/`filter`/`tap` with user functions,
 * `cache`, `zip`, ...) gets its input through `disowned`, and so does a user's
 * own iteration of a dataset (`Dataset.iterate`, `for await`). Only fit's,
 * evaluate's and predict's feeds and toTfDataset read a dataset with the marks
 * kept (and collate its input).
 *
 * Freeing detaches the buffer: were a mark ever wrong, whoever kept the sample
 * would find an empty array (a shape error naming it), never other pixels.
 */
const ownedSamples = new WeakSet<object>()
const producers = new WeakSet<object>()
const trusted = new WeakSet<object>()
const releasable = new WeakSet<Uint8Array>()
const stats = { released: 0 }

/** Images whose bytes a sink has freed so far in this process (for specs). */
export function ownedStats(): Readonly<typeof stats> {
  return { ...stats }
}

/** Marks a function whose results are fresh samples (`map` owns what it returns). */
export function producer<F extends object>(fn: F): F {
  producers.add(fn)
  return fn
}

export function isProducer(fn: object): boolean {
  return producers.has(fn)
}

/** Marks a built-in stage through which ownership passes (see above). */
export function trust<S extends object>(stage: S): S {
  trusted.add(stage)
  return stage
}

export function isTrusted(stage: object): boolean {
  return trusted.has(stage)
}

/** Marks bytes the decoder made for one image, in a buffer of their own. */
export function madeByDecoder(bytes: Uint8Array): void {
  releasable.add(bytes)
}

export function own(sample: unknown): void {
  if (typeof sample === 'object' && sample !== null) ownedSamples.add(sample)
}

function isOwned(sample: unknown): boolean {
  return typeof sample === 'object' && sample !== null && ownedSamples.has(sample)
}

/** Takes the mark off an item, or off each item of a batch (an array). */
export function disown(item: unknown): void {
  if (Array.isArray(item)) for (const x of item as unknown[]) disown1(x)
  else disown1(item)
}

function disown1(x: unknown): void {
  if (typeof x === 'object' && x !== null) ownedSamples.delete(x)
}

/** `source` with the mark taken off each item as it passes. */
export async function* disowned<T>(source: AnyIterable<T>): AsyncGenerator<T, void, undefined> {
  for await (const item of source) {
    disown(item)
    yield item
  }
}

/**
 * Frees the decoder-made bytes of each owned sample in `batch` (already
 * copied into the batch's floats) with `free`; returns how many it freed.
 *
 * Every size is freed. The decoded arrays count as V8's external memory until
 * they are freed, and V8 starts a major collection when that memory grows: for
 * the CNN at 96x96 (27 KB images, left to V8 before) fit took 5 major
 * collections per epoch, and 0-1 with every image freed (docs/performance-history.md,
 * "The sixteenth session's runs").
 */
export function releaseOwned(batch: readonly unknown[], free: (bytes: Uint8Array) => boolean): number {
  let n = 0
  for (const s of batch) {
    if (!isOwned(s)) continue
    ownedSamples.delete(s as object)
    const x = (s as { x?: unknown }).x
    const data = typeof x === 'object' && x !== null ? (x as { data?: unknown }).data : undefined
    if (data instanceof Uint8Array && releasable.has(data)) {
      releasable.delete(data)
      if (free(data)) n++
    }
  }
  stats.released += n
  return n
}

/** The decoder-made byte arrays of a sample's features (`x` and `y`, one feature or named ones). */
function decodedBytes(sample: unknown): Uint8Array[] {
  const out: Uint8Array[] = []
  if (typeof sample !== 'object' || sample === null) return out
  for (const key of ['x', 'y'] as const) {
    const f = (sample as Record<string, unknown>)[key]
    if (typeof f !== 'object' || f === null) continue
    const d = (f as { data?: unknown }).data
    if (d instanceof Uint8Array) {
      if (releasable.has(d)) out.push(d)
    } else if (!ArrayBuffer.isView(f) && !Array.isArray(f)) {
      for (const v of Object.values(f as Record<string, unknown>)) {
        const dv = typeof v === 'object' && v !== null ? (v as { data?: unknown }).data : undefined
        if (dv instanceof Uint8Array && releasable.has(dv)) out.push(dv)
      }
    }
  }
  return out
}

/**
 * Marks the decoded bytes of `item` (a sample, or an array of samples) as kept
 * by tfpipe itself (`cache` keeps what it stores), so `releaseImages` leaves
 * them whole.
 */
export function keepBytes(item: unknown): void {
  for (const s of Array.isArray(item) ? (item as unknown[]) : [item]) {
    disown1(s)
    for (const d of decodedBytes(s)) releasable.delete(d)
  }
}

/**
 * Frees, with `free`, the decoder-made bytes of each of `samples` (whoever
 * holds them); returns how many it freed.
 */
export function releaseDecoded(samples: readonly unknown[], free: (bytes: Uint8Array) => boolean): number {
  let n = 0
  for (const s of samples) {
    disown1(s)
    for (const d of decodedBytes(s)) {
      releasable.delete(d)
      if (free(d)) n++
    }
  }
  stats.released += n
  return n
}
