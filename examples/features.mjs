// CPU-heavy feature code run in worker threads by examples/worker-threads.ts.
// Plain JavaScript, no tfjs: it gets a batch of typed arrays and returns one.

/** Adds a 3x3 box-blurred copy of each grey image as a second channel (deliberately JS-heavy). */
export function blurChannel(batch) {
  const [n, h, w] = batch.xs.shape
  // decoded images arrive as bytes with their scaling attached (value = byte * scale + offset)
  const scale = batch.xs.scale ?? 1
  const offset = batch.xs.offset ?? 0
  const src = Float32Array.from(batch.xs.data, (v) => v * scale + offset)
  const out = new Float32Array(n * h * w * 2)
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0
        let k = 0
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy
          const xx = x + dx
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) { s += src[(i * h + yy) * w + xx]; k++ }
        }
        const o = ((i * h + y) * w + x) * 2
        out[o] = src[(i * h + y) * w + x]
        out[o + 1] = s / k
      }
    }
  }
  return { xs: { data: out, shape: [n, h, w, 2] }, ys: batch.ys }
}
