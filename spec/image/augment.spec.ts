import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { drawAugment, imageSample, map, pipe, toArray, type DecodedImage, type LabeledPath } from '../../lib/index.js'

let dir = ''
const items: LabeledPath[] = []
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-augment-'))
  for (let i = 0; i < 6; i++) {
    const px = Buffer.alloc(48 * 32 * 3)
    for (let p = 0; p < 48 * 32; p++) px.set([(p % 48) * 5, Math.floor(p / 48) * 7, i * 40], p * 3) // a gradient: every pixel differs
    const path = join(dir, `${i}.png`)
    await sharp(px, { raw: { width: 48, height: 32, channels: 3 } }).png().toFile(path)
    items.push({ path, label: 0, className: 'a' })
  }
})
after(() => rm(dir, { recursive: true, force: true }))

const bytes = (s: { x: unknown }) => Array.from((s.x as DecodedImage).data)
const augmented = (seed: number) => imageSample({ size: [16, 16], dtype: 'uint8', augment: { seed, flipHorizontal: true, flipVertical: 0.3, randomResizedCrop: { scale: [0.3, 1] }, rotate: 20, brightness: 0.3, contrast: 0.3, saturation: 0.3 } })

describe('augmentation', () => {
  it('the same seed, sample and epoch give the same image; a new epoch new draws; concurrency changes nothing', async () => {
    const run = (epoch: number, concurrency: number, seed = 7) => toArray(pipe(items, map(augmented(seed), { concurrency })).iterate({ epoch }))
    const e0 = await run(0, 1)
    assert.deepEqual((await run(0, 4)).map(bytes), e0.map(bytes), 'concurrency 4 = concurrency 1')
    assert.deepEqual((await run(0, 2)).map(bytes), e0.map(bytes), 'and again')
    const e1 = await run(1, 1)
    assert.notDeepEqual(e1.map(bytes), e0.map(bytes), 'a new epoch draws anew')
    assert.notDeepEqual((await run(0, 1, 8)).map(bytes), e0.map(bytes), 'another seed, other draws')
    assert.ok(e0.every((s) => (s.x as DecodedImage).shape.join() === '16,16,3'))
  })

  it('the draws depend on the sample, not its position in a shuffled epoch', () => {
    const a = { seed: 1, rotate: 30, flipHorizontal: true }
    assert.deepEqual(drawAugment(a, 'x.png', 3, { width: 10, height: 10 }), drawAugment(a, 'x.png', 3, { width: 10, height: 10 }))
    assert.notDeepEqual(drawAugment(a, 'x.png', 3, { width: 10, height: 10 }), drawAugment(a, 'y.png', 3, { width: 10, height: 10 }))
  })

  it('a certain horizontal flip mirrors the image', async () => {
    const plain = await imageSample({ dtype: 'uint8' })(items[0] as LabeledPath)
    const mirrored = await imageSample({ dtype: 'uint8', augment: { seed: 1, flipHorizontal: 1 } })(items[0] as LabeledPath)
    const p = plain.x as DecodedImage
    const m = mirrored.x as DecodedImage
    const px = (img: DecodedImage, y: number, x: number) => Array.from(img.data.slice((y * 48 + x) * 3, (y * 48 + x) * 3 + 3))
    assert.deepEqual(px(m, 5, 0), px(p, 5, 47))
    assert.deepEqual(px(m, 9, 10), px(p, 9, 37))
  })

  it('random resized crops stay inside the image and within the scale and ratio ranges', () => {
    for (let k = 0; k < 200; k++) {
      const d = drawAugment({ seed: k, randomResizedCrop: { scale: [0.2, 0.5], ratio: [0.5, 2] } }, `s${k}`, 0, { width: 300, height: 200 })
      const c = d.crop
      assert.ok(c !== undefined)
      assert.ok(c.left >= 0 && c.top >= 0 && c.left + c.width <= 300 && c.top + c.height <= 200, JSON.stringify(c))
      const share = (c.width * c.height) / 60000
      assert.ok(share > 0.18 && share < 0.53, `area share ${share}`)
    }
  })

  it('bad augmentation options throw when the loader is made', () => {
    assert.throws(() => imageSample({ augment: { seed: 1.5 } }), /augment.seed must be an integer/)
    assert.throws(() => imageSample({ augment: { seed: 1, rotate: 400 } }), /augment.rotate must be a number from 0 to 180, got 400/)
    assert.throws(() => imageSample({ augment: { seed: 1, randomResizedCrop: { scale: [0.9, 0.1] } } }), /scale must be \[min, max\]/)
  })
})
