import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** What the addon (native/jpeg.c) resolves with: pixels, or why it declined (sharp then decodes the file). */
type NativeResult = { readonly data: Uint8Array, readonly height: number, readonly width: number } | string

interface JpegAddon {
  decode(path: string, height: number, width: number, channels: number, fit: number, maxPixels: number, dctFast: boolean): Promise<NativeResult>
  scale?(src: Uint8Array, dst: Float32Array, at: number, scale: Float32Array, offset: Float32Array | null): void
  alignOffset?(buffer: ArrayBuffer, alignment: number): number
  release?(view: Uint8Array): boolean
}

/** Writes `src`'s bytes to `dst` from index `at` as `byte * scale + offset` per channel (float32, bit for bit TensorFlow's multiply then add). */
export type ByteScaler = (src: Uint8Array, dst: Float32Array, at: number) => void

// lib/image/ and dist/image/ are both two folders below the package root.
const addonPath = fileURLToPath(new URL('../../native/build/Release/tfpipe_jpeg.node', import.meta.url))
let addon: JpegAddon | null | undefined

function load(): JpegAddon | null {
  if (addon !== undefined) return addon
  addon = null
  if (!existsSync(addonPath)) return addon
  try {
    const loaded: unknown = createRequire(import.meta.url)(addonPath)
    if (typeof loaded === 'object' && loaded !== null && typeof (loaded as JpegAddon).decode === 'function') addon = loaded as JpegAddon
  } catch {
    // A binary built for another Node ABI or missing libjpeg: sharp decodes everything.
  }
  return addon
}

/**
 * Which decoder reads JPEG files: `native` when tfpipe's JPEG fast path was
 * built at install (`npm run setup:jpeg`), `sharp` otherwise or when
 * `TFPIPE_JPEG=sharp` is set. Other formats are always read by sharp.
 * @example console.log(jpegDecoder()) // 'native'
 */
export function jpegDecoder(): 'native' | 'sharp' {
  return active() === null ? 'sharp' : 'native'
}

/** The addon, unless TFPIPE_JPEG=sharp (read at each call, so a comparison can switch it). */
function active(): JpegAddon | null {
  return process.env.TFPIPE_JPEG === 'sharp' ? null : load()
}

/** The fast path: pixels of a JPEG file at the target size, or undefined when it declines (not a JPEG, EXIF rotation, ICC profile, CMYK, any libjpeg warning or error). */
export async function decodeJpegNative(path: string, size: readonly [number, number] | undefined, channels: 1 | 3, fit: 'fill' | 'cover', maxPixels: number, dctFast = false): Promise<{ data: Uint8Array, shape: [number, number, number] } | undefined> {
  const a = active()
  if (a === null) return undefined
  const r = await a.decode(path, size?.[0] ?? 0, size?.[1] ?? 0, channels, fit === 'cover' ? 1 : 0, maxPixels, dctFast)
  if (typeof r === 'string') return undefined
  return { data: r.data, shape: [r.height, r.width, channels] }
}

/**
 * The addon's byte-to-float scaling for one scale and offset (numbers, or one per
 * channel), or undefined without the addon (or with TFPIPE_JPEG=sharp): the sink
 * then converts and runs TensorFlow's multiply and add instead.
 */
export function nativeScaler(scale: number | readonly number[] | undefined, offset: number | readonly number[] | undefined): ByteScaler | undefined {
  const a = active()
  const fn = a?.scale
  if (fn === undefined) return undefined
  const channels = Math.max(typeof scale === 'object' ? scale.length : 1, typeof offset === 'object' ? offset.length : 1)
  const per = (v: number | readonly number[] | undefined, none: number) => Float32Array.from({ length: channels }, (_, c) => typeof v === 'object' ? v[c] ?? none : v ?? none)
  const s = per(scale, 1)
  const hasOffset = offset !== undefined && offset !== 0
  const o = hasOffset ? per(offset, 0) : null
  return (src, dst, at) => fn.call(a, src, dst, at, s, o)
}

/**
 * Floats laid out where the memory is a multiple of `alignment` bytes: an
 * ArrayBuffer and the byte offset to view it from, or undefined without the
 * addon (or with TFPIPE_JPEG=sharp). TensorFlow uses 64-byte aligned memory
 * in place (tfjs-node's TF_NewTensor) and copies anything else.
 */
export function alignedFloats(length: number, alignment: number): { readonly buffer: ArrayBuffer, readonly offset: number } | undefined {
  const a = active()
  const fn = a?.alignOffset
  if (fn === undefined) return undefined
  const buffer = new ArrayBuffer(4 * length + alignment)
  return { buffer, offset: fn.call(a, buffer, alignment) }
}

/**
 * Frees the memory of `view`'s buffer now (detaching it: the view reads as empty
 * afterwards), instead of at V8's next collection. Only a Uint8Array that is the
 * whole of its buffer (as the decoder makes them); false when nothing was freed
 * (no addon, or a view of a shared or already detached buffer).
 */
export function releaseBytes(view: Uint8Array): boolean {
  const a = load()
  return a?.release?.(view) ?? false
}
