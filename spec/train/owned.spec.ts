import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { batch, cache, collate, collateSamples, fit, imageFolder, imageSample, jpegDecoder, map, pipe, prefetch, releaseImages, shuffle, tap, toArray, toTfDataset, useBestBackend, type AnyIterable, type Sample, type TensorData } from '../../lib/index.js'
import { ownedStats } from '../../lib/internal/owned.js'
import { releaseBytes } from '../../lib/image/native-jpeg.js'
import { withSharp } from '../helpers.js'

// fit frees a decoded image's bytes once they are stacked into the batch's floats, but only
// for samples nothing but the pipeline can reach (lib/internal/owned.ts). Every way a sample
// can reach user code or a stage that keeps it must leave its bytes whole.
const built = jpegDecoder() === 'native'
const size = 160 // 76.8 KB per image
const pixels = size * size * 3
let root = ''
let pngs = '' // the same folders as PNGs, which sharp decodes

before(async () => {
  await useBestBackend()
  root = await mkdtemp(join(tmpdir(), 'tfpipe-owned-'))
  pngs = await mkdtemp(join(tmpdir(), 'tfpipe-owned-png-'))
  for (const [cls, colour] of [['a', '#c04020'], ['b', '#2040c0']] as const) {
    await mkdir(join(root, cls))
    await mkdir(join(pngs, cls), { recursive: true })
    for (let i = 0; i < 6; i++) {
      await sharp({ create: { width: 40, height: 30, channels: 3, background: colour } }).jpeg().toFile(join(root, cls, `${i}.jpg`))
      await sharp({ create: { width: 40, height: 30, channels: 3, background: colour } }).png().toFile(join(pngs, cls, `${i}.png`))
    }
  }
})
after(async () => { await rm(root, { recursive: true, force: true }); await rm(pngs, { recursive: true, force: true }) })

function model(side = size, channels: 1 | 3 = 3): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ inputShape: [side, side, channels] }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
  m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
  return m
}
const load = () => map(imageSample({ size: [size, size], numClasses: 2 }), { concurrency: 4 })
const bytesOf = (s: Sample) => (s.x as TensorData).data.length
const total = (data: TensorData['data']) => { let sum = 0; for (const v of data) sum += v; return sum }

/** Fits one epoch with `keeper` (a stage that keeps what passes, into `kept`) after the decode; checks nothing was freed. */
async function fitKeeping(keeper: (kept: Sample[]) => (source: AnyIterable<Sample>) => AnyIterable<Sample>): Promise<void> {
  const m = model()
  const kept: Sample[] = []
  const before = ownedStats().released
  await fit(m, pipe(imageFolder(root), load(), keeper(kept), batch(4)), { epochs: 1, verbose: 0 })
  assert.equal(kept.length, 12)
  assert.ok(kept.every((s) => bytesOf(s) === pixels))
  assert.equal(ownedStats().released, before)
  m.dispose()
}

/**
 * Fits two models from the same weights for 2 epochs on `dir`'s 12 images at side x side: one from
 * the plain pipeline (fit frees each image once stacked), one with a tap that takes the mark off (none
 * freed). Checks what was freed and that both trained to the same weights.
 */
async function trainsAsIfKept(dir: string, side: number, channels: 1 | 3): Promise<void> {
  const freeing = model(side, channels)
  const keeping = model(side, channels)
  keeping.setWeights(freeing.getWeights())
  const decoded = () => pipe(imageFolder(dir), map(imageSample({ size: [side, side], channels, numClasses: 2 }), { concurrency: 4 }))
  const before = ownedStats().released
  await fit(freeing, decoded().pipe(batch(4)), { epochs: 2, verbose: 0 })
  assert.equal(ownedStats().released - before, built ? 24 : 0, `${side}x${side}x${channels}`)
  await fit(keeping, decoded().pipe(tap(() => {}), batch(4)), { epochs: 2, verbose: 0 })
  assert.equal(ownedStats().released - before, built ? 24 : 0, `${side}x${side}x${channels}`)
  const [a, b] = [freeing, keeping].map((m) => m.getWeights().map((w) => w.dataSync()))
  assert.deepEqual(a, b)
  freeing.dispose()
  keeping.dispose()
}

describe('fit frees the bytes of samples only the pipeline holds', () => {
  it('frees each image once stacked: imageFolder -> shuffle -> map(imageSample) -> batch -> prefetch', async () => {
    const m = model()
    const before = ownedStats().released
    await fit(m, pipe(imageFolder(root), shuffle('all', { seed: 1 }), load(), batch(4), prefetch(2)), { epochs: 2, verbose: 0 })
    // Freeing takes the addon (built in CI); without it every decode's bytes are left to V8.
    assert.equal(ownedStats().released - before, built ? 24 : 0)
    m.dispose()
  })

  it('frees small images too (32x32: 3 KB), after they are stacked: the same weights as with none freed', () =>
    trainsAsIfKept(root, 32, 3))

  it('frees what sharp decodes too (PNGs, colour and grey), after stacking: the same weights as with none freed', async () => {
    await trainsAsIfKept(pngs, 24, 3)
    await trainsAsIfKept(pngs, 24, 1)
  })

  it('leaves them whole when a tap keeps the samples', () =>
    fitKeeping((kept) => tap((s: Sample) => { kept.push(s) })))

  it('leaves them whole when a stage function of the user keeps them', () =>
    fitKeeping((kept) => async function* keep(source) { for await (const s of source) { kept.push(s); yield s } }))

  it('leaves them whole in cache(), so the second epoch reads the same pixels', async () => {
    const m = model()
    const cached = pipe(imageFolder(root), load(), cache(), batch(4))
    const before = ownedStats().released
    const h = await fit(m, cached, { epochs: 2, verbose: 0 })
    assert.equal(h.history.loss?.length, 2)
    assert.equal(ownedStats().released, before)
    m.dispose()
  })

  it('leaves them whole once the user has read them (toArray), even when fit is then given them', async () => {
    const m = model()
    const samples = await toArray(pipe(imageFolder(root), load()))
    const before = ownedStats().released
    await fit(m, pipe(samples, batch(4)), { epochs: 2, verbose: 0 })
    assert.ok(samples.every((s) => bytesOf(s) === pixels))
    assert.equal(ownedStats().released, before)
    // And a batch read by the user from the dataset fit would free.
    const [first] = await toArray(pipe(imageFolder(root), load(), batch(4), prefetch(1)))
    await fit(m, pipe([first as Sample[]]), { epochs: 2, verbose: 0 })
    assert.ok((first as Sample[]).every((s) => bytesOf(s) === pixels))
    m.dispose()
  })
})

describe('releaseBytes', () => {
  it('frees a whole buffer of its own, never a slice of a shared one', { skip: !built && 'the JPEG fast path is not built here' }, () => {
    const own = new Uint8Array(1000)
    assert.equal(releaseBytes(own), true)
    assert.equal(own.length, 0)
    assert.equal(releaseBytes(own), false) // already freed
    const pooled = Buffer.from('a small string, from the shared pool')
    assert.equal(releaseBytes(pooled), false)
    assert.equal(pooled.toString(), 'a small string, from the shared pool')
    const part = new Uint8Array(new ArrayBuffer(16), 4)
    assert.equal(releaseBytes(part), false)
    assert.equal(part.length, 12)
  })
})

describe('collate frees the bytes of samples only the pipeline holds', () => {
  it('frees each image once stacked, and its batches keep every value', async () => {
    const before = ownedStats().released
    const batches = await toArray(pipe(imageFolder(root), load(), batch(4), collate(), prefetch(1)))
    // Freeing takes the addon (built in CI); without it every decode's bytes are left to V8.
    assert.equal(ownedStats().released - before, built ? 12 : 0)
    assert.equal(batches.length, 3)
    // The reference: the same images decoded and stacked by a pipeline that keeps its samples (toArray first).
    const kept = await toArray(pipe(imageFolder(root), load()))
    const expected = collateSamples(kept)
    const got = new Uint8Array(batches.flatMap((b) => [...(b.xs as TensorData).data]))
    assert.deepEqual([...got], [...(expected.xs as TensorData).data])
    assert.ok(kept.every((s) => bytesOf(s) === pixels))
  })

  it('leaves them whole when a tap before it keeps the samples', async () => {
    const kept: Sample[] = []
    const before = ownedStats().released
    await toArray(pipe(imageFolder(root), load(), tap((s: Sample) => { kept.push(s) }), batch(4), collate()))
    assert.equal(kept.length, 12)
    assert.ok(kept.every((s) => bytesOf(s) === pixels))
    assert.equal(ownedStats().released, before)
  })
})

describe('toTfDataset frees the bytes of samples only the pipeline holds', () => {
  it('frees each image once stacked into its tensors, and model.fitDataset trains on the same values', async () => {
    const before = ownedStats().released
    const xsSums: number[] = []
    const ds = toTfDataset(pipe(imageFolder(root), load(), batch(4)))
    await ds.forEachAsync((b) => {
      const sum = (b as { xs: tf.Tensor }).xs.sum()
      xsSums.push(sum.dataSync()[0] as number)
      tf.dispose([sum, b as tf.TensorContainer])
    })
    assert.equal(ownedStats().released - before, built ? 12 : 0)
    // The same images from a pipeline that keeps its samples, stacked by hand.
    const kept = await toArray(pipe(imageFolder(root), load()))
    const expected = [0, 4, 8].map((i) => kept.slice(i, i + 4).reduce((sum, s) => sum + [...(s.x as TensorData).data].reduce((a, v) => a + v * ((s.x as TensorData).scale as number), 0), 0))
    xsSums.forEach((got, i) => assert.ok(Math.abs(got - (expected[i] as number)) < 1e-2 * (expected[i] as number), `batch ${i}: ${got} against ${expected[i]}`))
    const m = model()
    const h = await m.fitDataset(toTfDataset(pipe(imageFolder(root), load(), batch(4))), { epochs: 2, verbose: 0 })
    assert.equal(h.history.loss?.length, 2)
    m.dispose()
  })

  it('leaves them whole for a batch the user read from the dataset first', async () => {
    const [first] = await toArray(pipe(imageFolder(root), load(), batch(4)))
    const before = ownedStats().released
    await toTfDataset(pipe([first as Sample[]])).forEachAsync((b) => { tf.dispose(b as tf.TensorContainer) })
    assert.ok((first as Sample[]).every((s) => bytesOf(s) === pixels))
    assert.equal(ownedStats().released, before)
  })
})

describe('releaseImages frees the bytes of samples the user holds', () => {
  it('frees each decoded image of a batch read in a loop of ones own, after collateSamples has copied it', async () => {
    const before = ownedStats().released
    const sums: number[] = []
    for await (const samples of pipe(imageFolder(root), load(), batch(4))) {
      const b = collateSamples(samples)
      assert.equal(releaseImages(samples), built ? 4 : 0)
      assert.ok(samples.every((s) => bytesOf(s) === (built ? 0 : pixels)))
      const xs = b.xs as TensorData
      assert.equal(xs.data.length, 4 * pixels)
      sums.push(total(xs.data))
    }
    assert.equal(ownedStats().released - before, built ? 12 : 0)
    // The stacked values are those of samples nobody freed.
    const kept = await toArray(pipe(imageFolder(root), load()))
    const expected = [0, 4, 8].map((i) => kept.slice(i, i + 4).reduce((sum, s) => sum + total((s.x as TensorData).data), 0))
    assert.deepEqual(sums, expected)
  })

  it('takes one sample, and named inputs', async () => {
    const [s] = await toArray(pipe(imageFolder(root), load(), map((s: Sample) => ({ x: { image: s.x as TensorData, other: [1, 2] }, y: s.y }))))
    const image = ((s as Sample).x as Record<string, TensorData>).image as TensorData
    assert.equal(releaseImages(s as Sample), built ? 1 : 0)
    assert.equal(image.data.length, built ? 0 : pixels)
    assert.equal(releaseImages(s as Sample), 0) // already freed
  })

  it('leaves what cache() keeps, so the next epoch reads the same pixels (samples and batches kept)', async () => {
    for (const data of [pipe(imageFolder(root), load(), cache(), batch(4)), pipe(imageFolder(root), load(), batch(4), cache())]) {
      for (let epoch = 0; epoch < 2; epoch++) {
        let n = 0
        for await (const samples of data) {
          assert.ok(samples.every((s) => bytesOf(s) === pixels), `epoch ${epoch}`)
          n += releaseImages(samples)
        }
        assert.equal(n, 0)
      }
    }
  })

  it('leaves bytes the decoder did not make, and frees small images it made (32x32: 3 KB)', async () => {
    const own: Sample = { x: { data: new Uint8Array(pixels), shape: [size, size, 3] }, y: 0 }
    assert.equal(releaseImages([own]), 0)
    assert.equal((own.x as TensorData).data.length, pixels)
    const small = await toArray(pipe(imageFolder(root), map(imageSample({ size: [32, 32], numClasses: 2 }))))
    assert.ok(small.every((s) => bytesOf(s) === 32 * 32 * 3))
    assert.equal(releaseImages(small), built ? 12 : 0)
    assert.ok(small.every((s) => bytesOf(s) === (built ? 0 : 32 * 32 * 3)))
  })

  it('frees what sharp decoded: PNGs, colour and grey, and JPEGs with TFPIPE_JPEG=sharp', async () => {
    for (const channels of [3, 1] as const) {
      const samples = await toArray(pipe(imageFolder(pngs), map(imageSample({ size: [20, 20], channels, numClasses: 2 }))))
      assert.ok(samples.every((s) => bytesOf(s) === 20 * 20 * channels))
      assert.equal(releaseImages(samples), built ? 12 : 0, `channels ${channels}`)
      assert.ok(samples.every((s) => bytesOf(s) === (built ? 0 : 20 * 20 * channels)))
    }
    const bySharp = await withSharp(() => toArray(pipe(imageFolder(root), map(imageSample({ size: [20, 20], numClasses: 2 })))))
    assert.equal(releaseImages(bySharp), built ? 12 : 0)
  })

  it('throws a TypeError for anything but a sample or an array of samples', () => {
    assert.throws(() => releaseImages(42 as never), { name: 'TypeError', message: /got number/ })
    assert.throws(() => releaseImages([{ x: 1 }, null] as never), { name: 'TypeError', message: /got null at index 1/ })
    assert.throws(() => releaseImages([[{ x: 1 }]] as never), { name: 'TypeError', message: /got an array at index 0/ })
  })
})
