import { defineOperator, sameSize, type Operator } from '../types.js'
import { assertOneOf } from '../internal/validate.js'
import { affineOf, type Normalize } from '../image/decode.js'
import { releaseBytes } from '../image/native-jpeg.js'
import { releaseDecoded, releaseOwned, trust } from '../internal/owned.js'

/** A typed array with its shape: what travels through a pipeline instead of a tensor. */
export interface TensorData {
  readonly data: Float32Array | Int32Array | Uint8Array
  readonly shape: readonly number[]
  /** tfjs dtype to make; default: float32 for float data or when scaled, int32 otherwise. */
  readonly dtype?: 'float32' | 'int32'
  /**
   * The values are `data * scale + offset` (per channel, the last axis, when arrays).
   * Decoded images travel as bytes with their scaling attached, and the
   * scaling is done by TensorFlow when the tensor is made: converting in
   * JavaScript costs about 10 ms per batch of 32 224x224 images, the native
   * conversion plus one TensorFlow op about 1.5 ms.
   */
  readonly scale?: number | readonly number[]
  readonly offset?: number | readonly number[]
}

/** One value of a sample: a number, a vector, or data with a shape (a decoded image). */
export type Feature = number | readonly number[] | Float32Array | Int32Array | Uint8Array | TensorData

/** A sample: inputs `x` (one, or named for multi-input models) and targets `y`. */
export interface Sample {
  readonly x: Feature | Readonly<Record<string, Feature>>
  readonly y?: Feature | Readonly<Record<string, Feature>>
  /** Where it came from, named in errors. */
  readonly path?: string
}

/** A batch ready for `fit`: one typed array per input/target, never one tensor per sample. */
export interface Batch {
  readonly xs: TensorData | Readonly<Record<string, TensorData>>
  readonly ys?: TensorData | Readonly<Record<string, TensorData>>
}

export interface CollateOptions {
  /** Scale uint8 inputs that carry no scaling of their own (images decoded with `dtype: 'uint8'`) so; done by TensorFlow when the tensor is made. Default: keep as given. */
  readonly normalize?: Normalize
}

/**
 * Stacks an array of samples (from `batch`) into one `Batch`: each input and
 * target becomes a single typed array with a leading batch dimension, copied
 * once. Tensors are made from it by `fit` at the sink, and disposed after the step.
 * `fit`, `evaluate` and `predict` also take the arrays of samples themselves and
 * stack them at the sink, straight into the floats TensorFlow copies: collate is
 * for when you want the stacked arrays in the pipeline (to cache or send them).
 * Like `fit`'s sink, it frees a decoded image's bytes once they are stacked,
 * instead of leaving them to V8's next collection, when only the pipeline can
 * reach the sample: made by `map(imageSample(...))` and passed since only
 * through `batch`, `shuffle`, `prefetch`, `take`, `skip` or `shard`.
 * @example pipe(imageFolder('data'), map(loadSample), batch(32), collate(), prefetch(2))
 * Errors: a sample whose shape or kind differs from the batch's first sample raises an error naming both.
 * Cancellation: as its source.
 */
export function collate(options: CollateOptions = {}): Operator<readonly Sample[], Batch> {
  if (options.normalize !== undefined && typeof options.normalize !== 'object') assertOneOf('collate', 'normalize', options.normalize, ['unit', 'symmetric', 'none'])
  // Trusted with owned samples (lib/internal/owned.ts): it keeps none beyond its pass and hands none
  // to user code, so stacking (collateInto) may free their decoded bytes.
  return trust(defineOperator('collate', sameSize, async function* collateOperator(source) {
    for await (const samples of source) yield collateSamples(samples, options)
  }))
}

/**
 * `collate` for one batch: an array of samples to one `Batch`.
 * @example const batch = collateSamples([{ x: [1, 2], y: 0 }, { x: [3, 4], y: 1 }]) // xs shape [2, 2], ys shape [2]
 * Errors: an empty batch, or a sample whose shape, kind or scaling differs from sample 0's, throws naming both.
 * Cancellation: none (synchronous).
 */
export function collateSamples(samples: readonly Sample[], options: CollateOptions = {}): Batch {
  return collateInto(samples, options, undefined)
}

/**
 * Frees the decoded image bytes of samples you hold, now rather than at V8's
 * next collection. For a training loop of your own over arrays of samples
 * (`batch` without `collate`): once a batch is stacked (`collateSamples`) or
 * copied into tensors, its images are garbage, and leaving them to V8 costs CPU:
 * 150 KB per 224x224 image (see docs/performance-history.md, "A training loop of
 * the user's own: `releaseImages`"), and at any size V8's major collections, which
 * it starts as that memory grows (docs/performance-history.md, "The sixteenth
 * session's runs").
 * `fit`, `evaluate`, `predict`, `toTfDataset` and `collate` already do this for
 * samples only the pipeline holds.
 * Each freed array reads as empty afterwards (its buffer is detached), so call it
 * when you are done with the samples, as you would `tf.dispose`. It frees only
 * bytes tfpipe's decoders made (the JPEG fast path's, or sharp's for other files), of
 * any size, and never what `cache` keeps. Freeing takes tfpipe's addon (built at
 * install); without it this returns 0. Returns how many images it freed.
 * @example for await (const samples of pipe(files, map(imageSample({ size: [224, 224] })), batch(32))) {
 *   const b = collateSamples(samples)
 *   releaseImages(samples)
 *   await trainOn(b)
 * }
 * Errors: a TypeError for anything but a sample or an array of samples.
 */
export function releaseImages(samples: Sample | readonly Sample[]): number {
  const list: readonly unknown[] = Array.isArray(samples) ? samples : [samples]
  list.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      const what = s === null ? 'null' : Array.isArray(s) ? 'an array' : typeof s
      throw new TypeError(`releaseImages: expected a sample or an array of samples, got ${what}${Array.isArray(samples) ? ` at index ${i}` : ''}`)
    }
  })
  return releaseDecoded(list, releaseBytes)
}

/**
 * Where `stack` may write bytes that will become scaled floats: a Float32Array
 * `out` of `length` values, and `write` when it scales them itself (then the
 * result carries no scale or offset), or undefined for a fresh array of the
 * data's own kind. `scaling` is the data's scale and offset. The sink passes
 * one that hands out its reused buffer, so a batch of samples goes straight
 * from the decoded images into the floats TensorFlow copies, without a batch of
 * bytes in between (4.8 MB per 32 224x224 images, and V8 runs a garbage
 * collection for about every 64 MB of new array memory).
 */
export type FloatTarget = (length: number, scaling: Pick<TensorData, 'scale' | 'offset'>) => { readonly out: Float32Array, readonly write?: (part: Uint8Array, at: number) => void } | undefined

/**
 * `collateSamples`, writing scaled bytes where `into` says (internal: the fit sink's path).
 * Once stacked, the decoded bytes of owned samples (only the pipeline can reach them, see
 * internal/owned.ts: collate's input, and what fit's feeds and toTfDataset read) are freed at once
 * rather than at V8's next collection (30-35 MB of peak RSS in the bench's fit, 224x224); any other
 * sample is left as it is.
 */
export function collateInto(samples: readonly Sample[], options: CollateOptions, into: FloatTarget | undefined): Batch {
  if (samples.length === 0) throw new RangeError('collate: a batch needs at least one sample')
  const first = samples[0] as Sample
  const xs = stackField(samples, 'x', options.normalize, into)
  const batch = first.y === undefined ? { xs } : { xs, ys: stackField(samples, 'y', undefined, into) }
  releaseOwned(samples, releaseBytes)
  return batch
}

function stackField(samples: readonly Sample[], field: 'x' | 'y', normalize: Normalize | undefined, into: FloatTarget | undefined): TensorData | Record<string, TensorData> {
  const first = (samples[0] as Sample)[field]
  if (isNamed(first)) {
    const out: Record<string, TensorData> = {}
    for (const key of Object.keys(first)) {
      out[key] = stack(samples.map((s, i) => {
        const v = s[field]
        if (!isNamed(v) || !(key in v)) throw new TypeError(`collate: sample ${describe(s, i)} has no ${field}.${key}, which sample 0 has`)
        return v[key] as Feature
      }), samples, `${field}.${key}`, normalize, into)
    }
    return out
  }
  return stack(samples.map((s, i) => {
    const v = s[field]
    if (v === undefined || isNamed(v)) throw new TypeError(`collate: sample ${describe(s, i)} has ${v === undefined ? 'no' : 'a named'} ${field}, unlike sample 0`)
    return v
  }), samples, field, normalize, into)
}

function stack(values: readonly Feature[], samples: readonly Sample[], what: string, normalize: Normalize | undefined, into: FloatTarget | undefined): TensorData {
  const parts = values.map(asData)
  const head = parts[0] as TensorData
  const per = head.data.length
  const Kind = head.data.constructor as Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor
  // Scaled bytes become floats at the sink anyway: written there directly when it offers a buffer (set converts natively).
  const scaledBytes = head.data instanceof Uint8Array && (head.scale !== undefined || head.offset !== undefined)
  const target = scaledBytes ? into?.(per * parts.length, head) : undefined
  const out = target?.out ?? new Kind(per * parts.length)
  const scaling = JSON.stringify([head.scale, head.offset])
  parts.forEach((p, i) => {
    if (p.data.length !== per || !sameShape(p.shape, head.shape)) {
      throw new RangeError(`collate: ${what} of sample ${describe(samples[i] as Sample, i)} has shape [${p.shape.join(', ')}], but sample ${describe(samples[0] as Sample, 0)} has [${head.shape.join(', ')}]`)
    }
    if (p.data.constructor !== head.data.constructor) {
      throw new TypeError(`collate: ${what} of sample ${describe(samples[i] as Sample, i)} is a ${p.data.constructor.name}, but sample 0's is a ${head.data.constructor.name}`)
    }
    if (JSON.stringify([p.scale, p.offset]) !== scaling) {
      throw new TypeError(`collate: ${what} of sample ${describe(samples[i] as Sample, i)} is scaled differently from sample 0's`)
    }
    if (target?.write !== undefined) target.write(p.data as Uint8Array, i * per)
    else out.set(p.data, i * per)
  })
  const shape = [parts.length, ...head.shape]
  if (target?.write !== undefined) return { data: out, shape, dtype: 'float32' } // scaled already
  if (head.scale !== undefined || head.offset !== undefined) {
    return { data: out, shape, dtype: 'float32', ...(head.scale !== undefined ? { scale: head.scale } : {}), ...(head.offset !== undefined ? { offset: head.offset } : {}) }
  }
  if (out instanceof Uint8Array && normalize !== undefined) {
    const { scale, offset } = affineOf(normalize)
    return { data: out, shape, dtype: 'float32', scale, offset }
  }
  return { data: out, shape, dtype: head.dtype ?? (out instanceof Float32Array ? 'float32' : 'int32') }
}

function asData(v: Feature): TensorData {
  // Numbers (class indices too) become float32, as Keras casts labels: tfjs' losses want float labels.
  if (typeof v === 'number') return { data: Float32Array.of(v), shape: [] }
  if (v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array) return { data: v, shape: [v.length] }
  if (Array.isArray(v)) return { data: Float32Array.from(v as number[]), shape: [v.length] }
  return v as TensorData
}

function isNamed(v: unknown): v is Readonly<Record<string, Feature>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !('data' in v && 'shape' in v)
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

function describe(s: Sample, i: number): string {
  return s.path !== undefined ? `${i} (${s.path})` : String(i)
}
