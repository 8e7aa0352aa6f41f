import { coefficients } from './pillow-resize.js'

/** A JPEG's YCbCr planes as stored (the addon's `planes()`), rows packed. */
export interface Planes {
  readonly width: number
  readonly height: number
  readonly chromaWidth: number
  readonly chromaHeight: number
  readonly y: Uint8Array
  readonly cb: Uint8Array
  readonly cr: Uint8Array
}

/**
 * What a JPEG with half-width chroma holds, resized exactly: chroma upsampled as
 * libjpeg's "fancy" upsampling does (linear interpolation at (x + 0.5) / 2 - 0.5,
 * edges repeated; vertically too when the chroma is half height), converted to RGB
 * with the JFIF coefficients, clipped to 0..255, then Pillow's bilinear filter, all
 * in float64 with nothing rounded. libjpeg's own RGB output rounds the upsampled
 * chroma and the converted values to bytes; this is the value those bytes round.
 */
export function exactResize(p: Planes, outH: number, outW: number): Float64Array {
  const { width: w, height: h, chromaWidth: cw, chromaHeight: ch } = p
  const halfH = ch * 2 >= h && ch < h
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v))
  const sample = (plane: Uint8Array, x: number, y: number): number => {
    const ux = (x + 0.5) / 2 - 0.5
    const uy = halfH ? (y + 0.5) / 2 - 0.5 : y
    const x0 = Math.floor(ux), y0 = Math.floor(uy)
    const fx = ux - x0, fy = uy - y0
    const at = (xx: number, yy: number) => plane[clamp(yy, ch) * cw + clamp(xx, cw)] as number
    return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
  }
  const rgb = new Float64Array(w * h * 3)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const Y = p.y[y * w + x] as number, u = sample(p.cb, x, y) - 128, v = sample(p.cr, x, y) - 128
      const i = (y * w + x) * 3
      rgb[i] = Math.min(255, Math.max(0, Y + 1.402 * v))
      rgb[i + 1] = Math.min(255, Math.max(0, Y - 0.34414 * u - 0.71414 * v))
      rgb[i + 2] = Math.min(255, Math.max(0, Y + 1.772 * u))
    }
  }
  return separable(rgb, h, w, outH, outW)
}

/** Pillow's bilinear filter in float64 (horizontal, then vertical), nothing rounded. */
function separable(src: Float64Array, h: number, w: number, outH: number, outW: number): Float64Array {
  const hc = coefficients(w, outW), vc = coefficients(h, outH)
  const mid = new Float64Array(h * outW * 3)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const min = hc.bounds[x * 2] as number, n = hc.bounds[x * 2 + 1] as number, k = hc.weights[x] as Float64Array
      for (let c = 0; c < 3; c++) {
        let s = 0
        for (let j = 0; j < n; j++) s += (k[j] as number) * (src[(y * w + min + j) * 3 + c] as number)
        mid[(y * outW + x) * 3 + c] = s
      }
    }
  }
  const out = new Float64Array(outH * outW * 3)
  for (let y = 0; y < outH; y++) {
    const min = vc.bounds[y * 2] as number, n = vc.bounds[y * 2 + 1] as number, k = vc.weights[y] as Float64Array
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0
        for (let j = 0; j < n; j++) s += (k[j] as number) * (mid[((min + j) * outW + x) * 3 + c] as number)
        out[(y * outW + x) * 3 + c] = s
      }
    }
  }
  return out
}
