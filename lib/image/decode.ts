import type { Sharp, OutputInfo } from 'sharp'
import { assertInteger, assertOneOf } from '../internal/validate.js'
import { decodeJpegNative } from './native-jpeg.js'
import { madeByDecoder } from '../internal/owned.js'

// sharp (libvips) is loaded when a file first needs it: with the JPEG fast path a folder of
// plain JPEGs never does, and loading it adds 17-20 MB to the process's resident memory.
type SharpFn = (typeof import('sharp'))['default']
let sharpLoaded: Promise<SharpFn> | undefined
function loadSharp(): Promise<SharpFn> {
  sharpLoaded ??= import('sharp').then((m) => m.default)
  return sharpLoaded
}

/** How the image fills the target size. */
export type ResizeFit = 'fill' | 'cover' | 'contain'

/** Pixel scaling of float output. */
export type Normalize = 'unit' | 'symmetric' | 'none' | { readonly mean: readonly number[], readonly std: readonly number[] }

export interface DecodeOptions {
  /** Target `[height, width]`; default: the image's own size. */
  readonly size?: readonly [number, number]
  /** `fill` stretches, `cover` crops the centre, `contain` letterboxes with black. Default `fill` (what Keras' `load_img(target_size)` does). */
  readonly fit?: ResizeFit
  /** Output channels: 1 (grey), 3 (RGB, default) or 4 (RGBA). */
  readonly channels?: 1 | 3 | 4
  /** `float32` (default) or `uint8` (smaller; convert at the batch with `collate`). */
  readonly dtype?: 'float32' | 'uint8'
  /** Float scaling: `unit` [0,1] (default), `symmetric` [-1,1], `none` [0,255], or per-channel `{ mean, std }` on [0,1] values. */
  readonly normalize?: Normalize
  /** Resampling kernel. Default `linear` (bilinear with antialiasing, close to Pillow's BILINEAR). */
  readonly kernel?: 'nearest' | 'linear' | 'cubic' | 'lanczos3'
  /** Refuse images with more pixels than this (a decompression bomb); default 100 megapixels. */
  readonly maxPixels?: number
  /**
   * JPEG inverse DCT: `accurate` (default; libjpeg's JDCT_ISLOW, what Pillow and
   * sharp use) or `fast` (JDCT_IFAST, what `tf.io.decode_jpeg` uses by default,
   * `dct_method='INTEGER_FAST'`; at full size TensorFlow's pixels, bit for bit):
   * about 5% less decode time, about 0.9 per byte from the accurate values
   * (0.8 at 224x224). A hint, as in TensorFlow: it applies where tfpipe's
   * JPEG fast path decodes; files sharp decodes (other formats, JPEGs the fast path
   * declines, `augment`) are decoded accurately.
   */
  readonly dctMethod?: 'accurate' | 'fast'
}

/** Pixels in HWC order plus their shape, ready to batch. */
export interface DecodedImage<D extends Float32Array | Uint8Array = Float32Array | Uint8Array> {
  readonly data: D
  readonly shape: [number, number, number]
}

/** An error that names the file (or buffer) and the reason. */
export class ImageDecodeError extends Error {
  readonly source: string
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(`decodeImage: cannot decode ${source}: ${reason}`, options)
    this.name = 'ImageDecodeError'
    this.source = source
  }
}

const fits: readonly ResizeFit[] = ['fill', 'cover', 'contain']
const jpegName = /\.(jpe?g|jpe|jfif)$/i

/** Checks decode options now, so a bad option fails when the pipeline is built, not at the 14 000th image. */
export function checkDecodeOptions(where: string, options: DecodeOptions): void {
  if (options.size !== undefined) {
    if (!Array.isArray(options.size) || options.size.length !== 2) throw new TypeError(`${where}: size must be [height, width], got ${JSON.stringify(options.size)}`)
    assertInteger(where, 'size[0] (height)', options.size[0], 1, 16384)
    assertInteger(where, 'size[1] (width)', options.size[1], 1, 16384)
  }
  if (options.fit !== undefined) assertOneOf(where, 'fit', options.fit, fits)
  if (options.channels !== undefined) assertOneOf(where, 'channels', options.channels, [1, 3, 4])
  if (options.dtype !== undefined) assertOneOf(where, 'dtype', options.dtype, ['float32', 'uint8'])
  if (options.kernel !== undefined) assertOneOf(where, 'kernel', options.kernel, ['nearest', 'linear', 'cubic', 'lanczos3'])
  if (options.maxPixels !== undefined) assertInteger(where, 'maxPixels', options.maxPixels, 1)
  if (options.dctMethod !== undefined) assertOneOf(where, 'dctMethod', options.dctMethod, ['accurate', 'fast'])
  const n = options.normalize
  if (typeof n === 'object') {
    const c = options.channels ?? 3
    if (n.mean.length !== c || n.std.length !== c || n.std.some((s) => !(s > 0))) {
      throw new RangeError(`${where}: normalize.mean and normalize.std need ${c} values (one per channel, std > 0), got mean ${JSON.stringify(n.mean)} std ${JSON.stringify(n.std)}`)
    }
  } else if (n !== undefined) assertOneOf(where, 'normalize', n, ['unit', 'symmetric', 'none'])
}

/**
 * Decodes a JPEG, PNG, WebP, GIF (first frame), TIFF or AVIF file or buffer:
 * EXIF orientation applied, converted to sRGB with the requested channels
 * (grey, palette, CMYK, 16-bit and alpha images all come out as asked),
 * resized, and scaled. JPEG files go through tfpipe's JPEG fast path when it
 * was built (libjpeg-turbo on tfpipe's own decode threads, below the main
 * thread's priority; about 3x sharp's rate; see
 * `jpegDecoder`), everything else through sharp. JPEGs at least twice the
 * target's size are decoded at a reduced size in the DCT domain first.
 * @example const { data, shape } = await decodeImage('cat.jpg', { size: [224, 224] })
 * Errors: rejects with an ImageDecodeError naming the file and the reason (unreadable, truncated, not an image, too many pixels).
 * Cancellation: none inside one image (it takes milliseconds); stop the pipeline around it.
 */
export function decodeImage(input: string | Buffer | Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  checkDecodeOptions('decodeImage', options)
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TypeError(`decodeImage: input must be a file path or a Buffer, got ${input === null ? 'null' : typeof input}`)
  }
  return decodeChecked(input, options)
}

/** `decodeImage` without the option checks: for callers that checked once. */
export async function decodeChecked(input: string | Buffer | Uint8Array, options: DecodeOptions, transform?: (img: Sharp, meta: { width: number, height: number }) => Sharp): Promise<DecodedImage> {
  const name = typeof input === 'string' ? input : `a buffer of ${input.byteLength} bytes`
  const channels = options.channels ?? 3
  const fit = options.fit ?? 'fill'
  if (typeof input === 'string' && jpegName.test(input) && transform === undefined && channels !== 4 && fit !== 'contain' && (options.kernel ?? 'linear') === 'linear') {
    // The JPEG fast path (native/jpeg.c): one job on its decode threads, about 3x sharp's rate. It declines
    // any file that needs more than a plain decode (see there), and sharp then decodes it.
    // Only files named as JPEGs are offered: a PNG would cost an extra open, a job
    // and an output buffer before sharp reads it (a JPEG with another name goes to sharp).
    const fast = await decodeJpegNative(input, options.size, channels, fit, options.maxPixels ?? 100_000_000, options.dctMethod === 'fast')
    if (fast !== undefined) return decoded(fast.data, fast.shape, options)
  }
  const sharp = await loadSharp()
  let raw: { data: Buffer, info: OutputInfo }
  try {
    // sharp reads the path itself: the whole decode is then one work item on libuv's pool.
    // fs.readFile takes four pool requests with a main-thread hop between each, and while
    // the main thread is blocked in a training step those hops stall the decodes (measured in
    // fit, 2 cores, 500x375 JPEGs at concurrency 16: 369 images/s against 342 with readFile).
    let img = sharp(input, { limitInputPixels: options.maxPixels ?? 100_000_000, failOn: 'error', pages: 1, sequentialRead: true })
      .autoOrient()
    if (transform !== undefined) {
      const meta = await img.metadata()
      const turned = (meta.orientation ?? 1) >= 5
      img = transform(img, { width: (turned ? meta.height : meta.width) ?? 0, height: (turned ? meta.width : meta.height) ?? 0 })
    }
    if (options.size !== undefined) {
      const [height, width] = options.size
      img = img.resize({ width, height, fit, kernel: options.kernel ?? 'linear', fastShrinkOnLoad: true, background: { r: 0, g: 0, b: 0, alpha: 1 } })
    }
    if (channels === 1 || channels === 3) img = img.flatten({ background: '#000000' }).toColourspace('srgb')
    else img = img.toColourspace('srgb').ensureAlpha()
    raw = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
  } catch (err) {
    throw new ImageDecodeError(name, reasonOf(err), { cause: err })
  }
  const { info } = raw
  const got = channels === 1 ? 3 : channels
  if (info.channels !== got) throw new ImageDecodeError(name, `expected ${got} channels after conversion, got ${info.channels}`)
  const shape: [number, number, number] = [info.height, info.width, channels]
  const rgb = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength)
  return decoded(channels === 1 ? luma(rgb) : rgb, shape, options)
}

/**
 * What either decoder made, as `options.dtype` asks. Bytes are marked as the decoder's, so the sink
 * may free them once stacked (internal/owned.ts; the addon frees only a buffer of their own): left to
 * V8, they count as external memory and start its major collections.
 */
function decoded(bytes: Uint8Array, shape: [number, number, number], options: DecodeOptions): DecodedImage {
  if ((options.dtype ?? 'float32') === 'uint8') {
    madeByDecoder(bytes)
    return { data: bytes, shape }
  }
  return { data: toFloat(bytes, shape[2], options.normalize ?? 'unit'), shape }
}

/**
 * RGB to grey as Pillow's convert('L') and tf.image.rgb_to_grayscale do (ITU-R 601
 * luma on the sRGB values), so grey models see what they saw in Python.
 * (sharp's own b-w conversion uses CIE lightness, which is brighter for reds.)
 */
function luma(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length / 3)
  for (let i = 0, j = 0; i < out.length; i++, j += 3) {
    out[i] = ((rgb[j] as number) * 19595 + (rgb[j + 1] as number) * 38470 + (rgb[j + 2] as number) * 7471 + 0x8000) >> 16
  }
  return out
}

/** A normalisation as `bytes * scale + offset` (per channel for mean/std). */
export function affineOf(normalize: Normalize): { scale: number | number[], offset: number | number[] } {
  if (normalize === 'none') return { scale: 1, offset: 0 }
  if (normalize === 'unit') return { scale: 1 / 255, offset: 0 }
  if (normalize === 'symmetric') return { scale: 1 / 127.5, offset: -1 }
  return { scale: normalize.std.map((s) => 1 / (255 * s)), offset: normalize.mean.map((m, c) => -m / (normalize.std[c] as number)) }
}

/** One pass from bytes to scaled floats: `bytes * scale + offset`, per channel (see `affineOf`). */
export function toFloat(bytes: Uint8Array, channels: number, normalize: Normalize, out: Float32Array = new Float32Array(bytes.length)): Float32Array {
  const { scale, offset } = affineOf(normalize)
  if (typeof scale === 'number' && typeof offset === 'number') {
    for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] as number) * scale + offset
    return out
  }
  const s = Array.isArray(scale) ? scale : [scale as number]
  const o = Array.isArray(offset) ? offset : [offset as number]
  for (let i = 0; i < bytes.length; i++) {
    const c = i % channels
    out[i] = (bytes[i] as number) * (s[c] as number) + (o[c] as number)
  }
  return out
}

function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  if (/ENOENT|no such file/i.test(msg) || /Input file is missing/i.test(msg)) return 'the file does not exist'
  if (/EACCES|permission/i.test(msg)) return 'the file cannot be read (permission denied)'
  if (/pixel limit/i.test(msg)) return `the image has more pixels than maxPixels allows (a decompression bomb?): ${msg}`
  if (/unsupported image format/i.test(msg)) return 'not an image in a format sharp reads (JPEG, PNG, WebP, GIF, TIFF, AVIF)'
  if (/empty|zero/i.test(msg)) return `the file is empty (${msg})`
  return msg.split('\n')[0] ?? msg
}
