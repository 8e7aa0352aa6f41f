/**
 * Pillow's BILINEAR resize (PIL/Resample.c: a triangle filter whose support
 * grows with the reduction, so downscaling is antialiased), horizontal pass
 * then vertical, each rounded to 8 bits as Pillow does. The reference the
 * decode spec measures sharp's output against.
 */
export function pillowBilinear(src: Uint8Array, h: number, w: number, c: number, outH: number, outW: number): Uint8Array {
  const horizontal = pass(src, h, w, c, outW, true)
  return pass(horizontal, h, outW, c, outH, false)
}

/** Pillow's weights: for each output index, the first input index and the normalised weights. */
export function coefficients(inSize: number, outSize: number): { bounds: Int32Array, weights: Float64Array[] } {
  const scale = inSize / outSize
  const filterScale = Math.max(scale, 1)
  const support = 1 * filterScale
  const bounds = new Int32Array(outSize * 2)
  const weights: Float64Array[] = []
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0)
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin
    const k = new Float64Array(xmax)
    let total = 0
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) / filterScale)
      const v = t < 1 ? 1 - t : 0
      k[x] = v
      total += v
    }
    if (total !== 0) for (let x = 0; x < xmax; x++) k[x] = (k[x] as number) / total
    bounds[xx * 2] = xmin
    bounds[xx * 2 + 1] = xmax
    weights.push(k)
  }
  return { bounds, weights }
}

function pass(src: Uint8Array, h: number, w: number, c: number, out: number, horizontal: boolean): Uint8Array {
  const { bounds, weights } = coefficients(horizontal ? w : h, out)
  const oh = horizontal ? h : out
  const ow = horizontal ? out : w
  const dst = new Uint8Array(oh * ow * c)
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const i = horizontal ? x : y
      const min = bounds[i * 2] as number
      const n = bounds[i * 2 + 1] as number
      const k = weights[i] as Float64Array
      for (let ch = 0; ch < c; ch++) {
        let s = 0
        for (let j = 0; j < n; j++) {
          const sx = horizontal ? min + j : x
          const sy = horizontal ? y : min + j
          s += (k[j] as number) * (src[(sy * w + sx) * c + ch] as number)
        }
        dst[(y * ow + x) * c + ch] = Math.min(255, Math.max(0, Math.round(s)))
      }
    }
  }
  return dst
}
