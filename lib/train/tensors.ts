import * as tf from '@tensorflow/tfjs'
import { alignedFloats, nativeScaler, type ByteScaler } from '../image/native-jpeg.js'
import { collateInto, type Batch, type FloatTarget, type Sample, type TensorData } from '../tensors/collate.js'

/** What a training batch may be: typed arrays with shapes, tensors, arrays of either (multi-input), or samples to collate. */
export type BatchLike =
  | Batch
  | { readonly xs: TensorLikeIn | readonly TensorLikeIn[] | Readonly<Record<string, TensorLikeIn>>, readonly ys?: TensorLikeIn | readonly TensorLikeIn[] | Readonly<Record<string, TensorLikeIn>> }
  | readonly Sample[]

type TensorLikeIn = TensorData | tf.Tensor

type TensorTree = tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>

/** The tensors of one batch, made at the sink (one per input and target), to be disposed after the step. */
export interface TensorBatch {
  readonly xs: TensorTree
  readonly ys: TensorTree
}

/** How one batch's floats may reach TensorFlow. */
interface Making {
  /** The caller disposes the batch's tensors before it asks for the next batch (fit, evaluate, predict): the floats may be handed to TensorFlow in place. */
  readonly inPlace: boolean
  /** A field of this batch has a sink buffer (the in-place one, or the spare) already. */
  given: boolean
}

/**
 * Converts one batch to tensors. Typed arrays are wrapped once; tensors given by the user are used as they are (tfjs disposes them after the step).
 * `inPlace`: the caller disposes these tensors before the next call (fit, evaluate, predict), so scaled image
 * bytes may be written to a buffer TensorFlow reads in place (see `InPlaceBuffer`).
 */
export function toTensors(value: unknown, where: string, options: { readonly inPlace?: boolean } = {}): TensorBatch {
  const making: Making = { inPlace: options.inPlace === true, given: false }
  // Stacking frees the decoded bytes of owned samples (collateInto).
  const batch = Array.isArray(value) ? collateInto(value as Sample[], {}, oneSpare(making)) : value
  if (batch === null || typeof batch !== 'object' || !('xs' in batch)) {
    throw new TypeError(`${where}: a batch must be { xs, ys } (typed arrays with shapes, or tensors) or an array of samples { x, y }, got ${describeValue(batch)}`)
  }
  const b = batch as { xs: unknown, ys?: unknown }
  const made: tf.Tensor[] = []
  try {
    const xs = tree(b.xs, made, making, `${where}: xs`)
    const ys = b.ys === undefined ? [] : tree(b.ys, made, making, `${where}: ys`)
    return { xs, ys }
  } catch (err) {
    tf.dispose(made)
    throw err
  }
}

function tree(v: unknown, made: tf.Tensor[], making: Making, what: string): TensorTree {
  if (v instanceof tf.Tensor) return v
  if (Array.isArray(v)) return v.map((x, i) => leaf(x, made, making, `${what}[${i}]`))
  if (isTensorData(v)) return leaf(v, made, making, what)
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, tf.Tensor> = {}
    for (const [k, x] of Object.entries(v)) out[k] = leaf(x, made, making, `${what}.${k}`)
    return out
  }
  throw new TypeError(`${what} must be a tensor, { data, shape }, or an array or record of them, got ${describeValue(v)}`)
}

function leaf(v: unknown, made: tf.Tensor[], making: Making, what: string): tf.Tensor {
  if (v instanceof tf.Tensor) return v
  if (!isTensorData(v)) throw new TypeError(`${what} must be a tensor or { data, shape }, got ${describeValue(v)}`)
  const size = v.shape.reduce((a, d) => a * d, 1)
  if (size !== v.data.length) throw new RangeError(`${what}: shape [${v.shape.join(', ')}] needs ${size} values, data has ${v.data.length}`)
  const scaled = v.scale !== undefined || v.offset !== undefined
  const dtype = scaled ? 'float32' : v.dtype ?? (v.data instanceof Float32Array ? 'float32' : 'int32')
  if ((v.data === spare || inPlaceBuffer.holds(v.data)) && !scaled) {
    // Stacked into a sink buffer and scaled there already by the addon (a batch of samples): copied
    // into TensorFlow now, or read by it in place. (Without the addon the buffer holds the bytes as
    // floats, with the scaling still to do: the ops below.)
    const t = uploaded(v.data as Float32Array, v.shape)
    made.push(t)
    return t
  }
  // Each op is a pass over the whole batch (19 MB for 32 224x224 images): identities are skipped
  // ('unit' is scale 1/255 and offset 0; the add of 0 cost about 3 ms per batch).
  const mul = v.scale !== undefined && v.scale !== 1
  const add = v.offset !== undefined && v.offset !== 0
  if (!mul && !add) {
    // new Float32Array(bytes) converts natively, about 8x faster than a JavaScript loop.
    const data = v.data instanceof Uint8Array ? (dtype === 'float32' ? new Float32Array(v.data) : new Int32Array(v.data)) : v.data
    const raw = tf.tensor(data, [...v.shape], dtype)
    made.push(raw)
    return raw
  }
  const fused = v.data instanceof Uint8Array ? fusedScaler(v.scale, v.offset) : undefined
  if (fused !== undefined) {
    // Bytes scaled by the addon into a sink buffer: no TensorFlow op.
    const out = batchFloats(v.data.length, making)
    fused(v.data as Uint8Array, out, 0)
    const t = uploaded(out, v.shape)
    made.push(t)
    return t
  }
  const reused = v.data instanceof Uint8Array ? conversionBuffer(v.data) : undefined
  const raw = tf.tensor(reused ?? v.data, [...v.shape], dtype)
  const t = tf.tidy(() => {
    let x: tf.Tensor = raw
    if (mul) x = x.mul(typeof v.scale === 'number' ? v.scale : tf.tensor1d([...(v.scale ?? [])]))
    if (add) x = x.add(typeof v.offset === 'number' ? v.offset : tf.tensor1d([...(v.offset ?? [])]))
    return x
  })
  raw.dispose()
  made.push(t)
  return t
}

/**
 * The addon's scaling (bytes to floats, bit for bit TensorFlow's multiply and add),
 * used on the tensorflow backend only: there `uploaded` copies the buffer into
 * TensorFlow at once. Other backends keep the array a tensor is made from, so they
 * get the conversion and TensorFlow ops, which make new arrays.
 */
function fusedScaler(scale: TensorData['scale'], offset: TensorData['offset']): ByteScaler | undefined {
  return tf.getBackend() === 'tensorflow' && uploadCopies() ? nativeScaler(scale, offset) : undefined
}

let copies: boolean | undefined

/** Whether `uploaded` leaves a tensor that no longer shares the buffer (checked once, on a 2-value buffer laid out as `spareOf`'s). */
function uploadCopies(): boolean {
  if (copies !== undefined) return copies
  const probe = new Float32Array(new ArrayBuffer(12), 4, 2)
  probe.fill(1)
  const t = uploaded(probe, [2])
  probe.fill(2)
  copies = t.dataSync()[0] === 1
  t.dispose()
  return copies
}

// A tensor of the reused buffer's values that no longer refers to the buffer. tfjs-node
// keeps a new tensor's array until an op reads it; Reshape (its output shares TensorFlow's
// copy, no second copy) makes it copy the values into TensorFlow now.
function uploaded(data: Float32Array, shape: readonly number[]): tf.Tensor {
  if (inPlaceBuffer.holds(data)) {
    // TensorFlow reads this buffer in place when an op first uses the tensor; the sink
    // hands the buffer out again only once this tensor, and whatever was made from it, is gone.
    const t = tf.tensor(data, [...shape], 'float32')
    inPlaceBuffer.track(data, t)
    return t
  }
  const raw = tf.tensor(data, [...shape], 'float32')
  const t = tf.reshape(raw, [...shape])
  raw.dispose()
  return t
}

// Bytes to be scaled become floats in one reused buffer. A fresh 19 MB array per
// batch of 32 224x224 images made V8 run a full mark-compact every few batches
// (external memory pressure): 2.8 s of GC on the main thread in a 3-epoch run
// of 2 000 images.
//
// When an op first reads a tensor, tfjs-node hands its array to TensorFlow
// (TF_NewTensor), which uses the memory in place when it is aligned for Eigen
// and copies it otherwise. The buffer starts 4 bytes into its ArrayBuffer, so
// TensorFlow always copies, and the buffer is free again once that op has run:
// the scaling ops, or the Reshape in `uploaded`. (`fusedScaler` checks once
// that this holds before it is used.)
let spare: Float32Array | undefined

function conversionBuffer(bytes: Uint8Array): Float32Array {
  const out = spareOf(bytes.length)
  out.set(bytes) // converts natively
  return out
}

function spareOf(length: number): Float32Array {
  if (spare?.length !== length) spare = new Float32Array(new ArrayBuffer(4 * (length + 1)), 4, length)
  return spare
}

// A batch of samples (no collate before the sink): scaled image bytes are stacked
// straight into the reused buffer, scaled there by the addon when it can (on the
// tensorflow backend; else converted, and scaled by TensorFlow ops in `leaf`). Only
// the first such field of a batch gets it (a second input would overwrite it before
// the first is copied); others get fresh arrays. Identity scaling ('none') keeps its
// own array: its tensor would hold the buffer itself (`leaf` makes no op that copies it).
function oneSpare(making: Making): FloatTarget {
  return (length, { scale, offset }) => {
    if (making.given || !scales(scale, offset)) return undefined
    const fused = fusedScaler(scale, offset)
    const out = fused === undefined ? spareOf(length) : batchFloats(length, making)
    making.given = true
    return fused === undefined ? { out } : { out, write: (part, at) => fused(part, out, at) }
  }
}

/**
 * Where the addon writes a batch's scaled floats: a buffer TensorFlow reads in place when
 * the caller allows it and no other field of the batch has a sink buffer, else the spare
 * (copied into TensorFlow at once by `uploaded`, so later fields may reuse it).
 */
function batchFloats(length: number, making: Making): Float32Array {
  const view = making.inPlace && !making.given ? inPlaceBuffer.take(length) : undefined
  if (view !== undefined) making.given = true
  return view ?? spareOf(length)
}

/**
 * One float buffer, aligned so that TensorFlow uses it in place (tfjs-node's
 * TF_NewTensor takes 64-byte aligned memory as it is and copies anything else;
 * the copy took 2.3-3 ms per 224x224 batch of 32, on the main thread), for the
 * batches of fit (and its validation), evaluate and predict: 19 MB for 32
 * 224x224 images.
 *
 * TensorFlow lets go of the buffer when the last tensor on it is disposed: the
 * batch's own, its clones, and any made from it that share its memory in
 * TensorFlow (a Reshape's output, a slice along the first axis). fitDataset
 * disposes the batch's tensors after the step, and what the step makes is
 * disposed with it. The buffer is taken again when its batch tensor and every
 * clone of it are disposed, and since it was handed out either no more tensors
 * are alive or the bytes of the tensors alive grew by less than one row of the
 * batch (one sample): a tensor sharing the buffer's memory in TensorFlow holds at
 * least one row, while what tfjs keeps from a step is scalars (the loss and
 * metric totals, made in each epoch's first step). Otherwise the buffer is
 * replaced by a new one (the old one lives as long as TensorFlow holds it, and
 * goes at V8's next collection after that). After four replacements in a row (a
 * caller that keeps tensors every step) the sink copies for the rest of the process.
 *
 * The check counts tensors and their bytes, so it cannot see a tensor kept in
 * exchange for one as large disposed: a layer that keeps only its latest input (a
 * Reshape of it) and disposes the one before. What that layer kept shows the next
 * batch from the moment the sink stacks it until the layer's next call (only
 * code running in between, such as an onBatchBegin callback, could see it).
 */
class InPlaceBuffer {
  #slot: Slot | undefined
  #renewedInARow = 0
  /** Counters for the specs: buffers handed out, buffers replaced because something could still read them, and whether the sink gave up. */
  readonly stats = { taken: 0, renewed: 0, off: false }

  /** A view of `length` floats in the buffer (or a new one), or undefined (no addon, or the sink gave up). */
  take(length: number): Float32Array | undefined {
    if (this.stats.off) return undefined
    const { numTensors: count, numBytes: bytes } = tf.memory()
    let slot = this.#slot
    if (slot?.tensor !== undefined) {
      const t = slot.tensor
      // A tensor sharing the buffer in TensorFlow holds at least one row along the first axis.
      const rowBytes = (4 * t.size) / Math.max(1, t.shape[0] ?? 1)
      const free = t.isDisposed && tf.backend().refCount(t.dataId) === 0 && (count <= slot.tensorsBefore || bytes - slot.bytesBefore < rowBytes)
      if (free) this.#renewedInARow = 0
      else {
        slot = this.#slot = undefined
        this.stats.renewed++
        if (++this.#renewedInARow >= 4) {
          this.stats.off = true
          return undefined
        }
      }
    }
    if (slot === undefined || slot.capacity < length) {
      const floats = alignedFloats(length, 64)
      if (floats === undefined) return undefined
      slot = this.#slot = { ...floats, capacity: length, tensorsBefore: 0, bytesBefore: 0 }
    }
    slot.view = new Float32Array(slot.buffer, slot.offset, length)
    slot.tensor = undefined
    slot.tensorsBefore = count
    slot.bytesBefore = bytes
    this.stats.taken++
    return slot.view
  }

  /** Whether `data` is the view handed out last. */
  holds(data: unknown): data is Float32Array {
    return data instanceof Float32Array && this.#slot?.view === data
  }

  /** Records the tensor made on the view, which must be disposed before the buffer is reused. */
  track(data: Float32Array, tensor: tf.Tensor): void {
    if (this.#slot?.view === data) this.#slot.tensor = tensor
  }
}

interface Slot {
  readonly buffer: ArrayBuffer
  readonly offset: number
  readonly capacity: number
  view?: Float32Array
  tensor?: tf.Tensor | undefined
  /** tf.memory()'s numTensors and numBytes when the buffer was handed out. */
  tensorsBefore: number
  bytesBefore: number
}

const inPlaceBuffer = new InPlaceBuffer()

/** Internal (specs): the in-place buffer's counters. */
export function inPlaceStats(): Readonly<InPlaceBuffer['stats']> {
  return { ...inPlaceBuffer.stats }
}

/** Whether `leaf` runs a scaling op (which copies the data into TensorFlow before it returns). */
function scales(scale: TensorData['scale'], offset: TensorData['offset']): boolean {
  return (scale !== undefined && scale !== 1) || (offset !== undefined && offset !== 0)
}

function isTensorData(v: unknown): v is TensorData {
  return typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && ArrayBuffer.isView((v as TensorData).data)
}

function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `an array of ${v.length}`
  if (typeof v === 'object') return `an object with keys ${Object.keys(v).join(', ') || '(none)'}`
  return typeof v
}

/** Shapes of a tensor tree, for checks against the model. */
export function shapesOf(t: TensorTree): number[][] {
  if (t instanceof tf.Tensor) return [t.shape]
  if (Array.isArray(t)) return t.map((x) => x.shape)
  return Object.values(t).map((x) => x.shape)
}

/**
 * Checks the first batch against the model before training, so a wrong image
 * size fails at once with both shapes, not deep inside a kernel.
 */
export function checkAgainstModel(model: tf.LayersModel, batch: TensorBatch, where: string, targets = true): void {
  const xs = shapesOf(batch.xs)
  const inputs = model.inputs.map((i) => i.shape)
  if (!(batch.xs instanceof tf.Tensor) && !Array.isArray(batch.xs)) return // named inputs: tfjs checks names and shapes
  if (xs.length !== inputs.length) throw new RangeError(`${where}: the model has ${inputs.length} input(s), the batch has ${xs.length}`)
  xs.forEach((shape, i) => {
    const want = inputs[i] ?? []
    const ok = shape.length === want.length && want.every((d, k) => k === 0 || d === null || d === shape[k])
    if (!ok) throw new RangeError(`${where}: the batch's input ${i} has shape [${shape.join(', ')}], the model expects [${want.map((d) => d ?? 'batch').join(', ')}]`)
  })
  if (!targets) return
  const ys = shapesOf(batch.ys)
  const outputs = model.outputs.map((o) => o.shape)
  ys.forEach((shape, i) => {
    const want = outputs[i]
    if (want === undefined || shape.length < 2) return // sparse labels (class indices): tfjs checks them against the loss
    const last = want[want.length - 1]
    if (shape.length === want.length && last !== null && shape[shape.length - 1] !== last) {
      throw new RangeError(`${where}: the batch's target ${i} has shape [${shape.join(', ')}], the model's output is [${want.map((d) => d ?? 'batch').join(', ')}] (labels wider or narrower than the model's output)`)
    }
  })
}
