import type { Sharp } from 'sharp'
import { Rng, mixSeed } from '../internal/rng.js'
import { assertInteger, assertNumber } from '../internal/validate.js'

/** Random augmentations, drawn from a seed per (sample, epoch), done inside the sharp decode. */
export interface AugmentOptions {
  /** Seed of every draw. Required: augmentation is reproducible or it is a bug report waiting to happen. */
  readonly seed: number
  /** Mirror left-right with this probability (`true` = 0.5). */
  readonly flipHorizontal?: boolean | number
  /** Flip upside down with this probability (`true` = 0.5). */
  readonly flipVertical?: boolean | number
  /** Crop a random area and aspect ratio before resizing (torchvision's RandomResizedCrop). */
  readonly randomResizedCrop?: { readonly scale?: readonly [number, number], readonly ratio?: readonly [number, number] }
  /** Rotate by an angle drawn from [-degrees, degrees], corners filled black. */
  readonly rotate?: number
  /** Multiply brightness by a factor from [1 - b, 1 + b]. */
  readonly brightness?: number
  /** Scale contrast around mid-grey by a factor from [1 - c, 1 + c]. */
  readonly contrast?: number
  /** Multiply saturation by a factor from [1 - s, 1 + s]. */
  readonly saturation?: number
}

/** The draws for one sample in one epoch (exposed for tests and debugging). */
export interface AugmentDraw {
  readonly crop?: { left: number, top: number, width: number, height: number }
  readonly flop: boolean
  readonly flip: boolean
  readonly angle: number
  readonly brightness: number
  readonly contrast: number
  readonly saturation: number
}

export function checkAugmentOptions(where: string, a: AugmentOptions): void {
  assertInteger(where, 'augment.seed', a.seed, -(2 ** 53), 2 ** 53)
  for (const k of ['flipHorizontal', 'flipVertical'] as const) {
    const v = a[k]
    if (v !== undefined && typeof v !== 'boolean') assertNumber(where, `augment.${k}`, v, 0, 1)
  }
  if (a.rotate !== undefined) assertNumber(where, 'augment.rotate', a.rotate, 0, 180)
  for (const k of ['brightness', 'contrast', 'saturation'] as const) if (a[k] !== undefined) assertNumber(where, `augment.${k}`, a[k], 0, 1)
  const c = a.randomResizedCrop
  if (c !== undefined) {
    const [s0, s1] = c.scale ?? [0.08, 1]
    const [r0, r1] = c.ratio ?? [3 / 4, 4 / 3]
    if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) throw new RangeError(`${where}: augment.randomResizedCrop.scale must be [min, max] with 0 < min <= max <= 1, got [${s0}, ${s1}]`)
    if (!(r0 > 0 && r0 <= r1)) throw new RangeError(`${where}: augment.randomResizedCrop.ratio must be [min, max] with 0 < min <= max, got [${r0}, ${r1}]`)
  }
}

/**
 * A stable 32-bit hash of a string (FNV-1a): the sample's identity, independent of its position in a shuffled epoch.
 * @example hashString('img/001.jpg') // the same number on every run and machine
 * Errors: none. Cancellation: none.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) }
  return h | 0
}

const probability = (v: boolean | number | undefined): number => (v === true ? 0.5 : v === false || v === undefined ? 0 : v)

/**
 * Draws the augmentation of one sample (`key`, e.g. its path) in one epoch.
 * @example drawAugment({ seed: 1, flipHorizontal: true, rotate: 15 }, 'img/001.jpg', 3, { width: 500, height: 375 })
 * Errors: none (options are checked by `imageSample`). Cancellation: none.
 * The same (seed, key, epoch) always gives the same draws, at any concurrency
 * and in any order; a new epoch gives new draws.
 */
export function drawAugment(a: AugmentOptions, key: string, epoch: number, size: { width: number, height: number }): AugmentDraw {
  const rng = new Rng(mixSeed(a.seed, hashString(key), epoch))
  let crop: AugmentDraw['crop']
  if (a.randomResizedCrop !== undefined) crop = drawCrop(rng, a.randomResizedCrop, size)
  return {
    ...(crop !== undefined ? { crop } : {}),
    flop: rng.float() < probability(a.flipHorizontal),
    flip: rng.float() < probability(a.flipVertical),
    angle: a.rotate !== undefined && a.rotate > 0 ? rng.uniform(-a.rotate, a.rotate) : 0,
    brightness: a.brightness !== undefined ? rng.uniform(1 - a.brightness, 1 + a.brightness) : 1,
    contrast: a.contrast !== undefined ? rng.uniform(1 - a.contrast, 1 + a.contrast) : 1,
    saturation: a.saturation !== undefined ? rng.uniform(1 - a.saturation, 1 + a.saturation) : 1,
  }
}

function drawCrop(rng: Rng, c: NonNullable<AugmentOptions['randomResizedCrop']>, { width, height }: { width: number, height: number }): AugmentDraw['crop'] {
  const [s0, s1] = c.scale ?? [0.08, 1]
  const [r0, r1] = c.ratio ?? [3 / 4, 4 / 3]
  const area = width * height
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(s0, s1)
    const ratio = Math.exp(rng.uniform(Math.log(r0), Math.log(r1)))
    const w = Math.round(Math.sqrt(target * ratio))
    const h = Math.round(Math.sqrt(target / ratio))
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { left: rng.int(0, width - w), top: rng.int(0, height - h), width: w, height: h }
    }
  }
  // As torchvision: fall back to a centre crop at the nearest allowed ratio.
  const inRatio = width / height
  let w = width
  let h = height
  if (inRatio < r0) h = Math.round(w / r0)
  else if (inRatio > r1) w = Math.round(h * r1)
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h }
}

/** Applies the draws to a sharp pipeline (before its resize). */
export function applyAugment(img: Sharp, d: AugmentDraw): Sharp {
  let out = img
  if (d.crop !== undefined) out = out.extract(d.crop)
  if (d.flop) out = out.flop()
  if (d.flip) out = out.flip()
  if (d.angle !== 0) out = out.rotate(d.angle, { background: { r: 0, g: 0, b: 0, alpha: 1 } })
  if (d.brightness !== 1 || d.saturation !== 1) out = out.modulate({ brightness: d.brightness, saturation: d.saturation })
  if (d.contrast !== 1) out = out.linear(d.contrast, 128 * (1 - d.contrast))
  return out
}
