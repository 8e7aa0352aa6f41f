/** Anything `for await` can read. */
export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>

/**
 * What a stage is told about the pass it is part of. `stream.pipeline` passes
 * `{ signal }` as a transform's second argument; a `Dataset` passes the epoch too.
 */
export interface StageContext {
  readonly signal?: AbortSignal | undefined
  /** The epoch this pass belongs to (0-based); seeds per-epoch randomness. */
  readonly epoch?: number | undefined
}

/**
 * A plain `(source) => AsyncGenerator` function, usable in `pipe`, in
 * `Dataset.pipe` and as a transform in `stream.pipeline`.
 */
export interface Operator<I, O> {
  // NodeJS.ReadableStream is accepted so that @types/node's `stream.pipeline`
  // overloads (which pass a stream-or-iterable to each transform) type-check.
  (source: AnyIterable<I> | NodeJS.ReadableStream, context?: StageContext): AsyncGenerator<O, void, undefined>
  /** The stage's name and arguments, for `Dataset.summary()`. */
  readonly label: string
  /** The output size given the input size, where it can be known without reading. */
  readonly sizeOf: (inputSize: number | undefined) => number | undefined
}

/** Options every operator takes. */
export interface CommonOptions {
  /** Aborting stops the stage: it throws the signal's reason and closes its source. */
  readonly signal?: AbortSignal | undefined
}

/** What a user function receives beside the item. */
export interface ItemContext {
  /** The item's position in this pass of the stream (0-based). */
  readonly index: number
  /** Aborted when the stage stops (abort, `break`, or an error elsewhere): cancel long work with it. */
  readonly signal: AbortSignal
  /** The epoch of this pass, inside a `Dataset` (seeds per-epoch randomness such as augmentation). */
  readonly epoch?: number | undefined
}

/**
 * Builds an `Operator` from its generator, its label (for `summary()`) and its size rule.
 * @example const double = defineOperator('double', sameSize, async function* (source) { for await (const x of source) yield x * 2 })
 * Errors: as the generator raises them.
 * Cancellation: the generator's `finally` runs on `break`; read `context.signal` to stop waits.
 */
export function defineOperator<I, O>(
  label: string,
  sizeOf: (inputSize: number | undefined) => number | undefined,
  run: (source: AnyIterable<I>, context: StageContext) => AsyncGenerator<O, void, undefined>,
): Operator<I, O> {
  const op = (source: AnyIterable<I> | NodeJS.ReadableStream, context?: StageContext): AsyncGenerator<O, void, undefined> =>
    run(source as AnyIterable<I>, context ?? {})
  return Object.assign(op, { label, sizeOf })
}

/** Size rules used by several operators. */
export const sameSize = (n: number | undefined): number | undefined => n
export const unknownSize = (): undefined => undefined
