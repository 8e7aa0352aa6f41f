import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import sharp, { type Sharp } from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { decodeImage, ImageDecodeError, useBestBackend } from '../../lib/index.js'
import { pillowBilinear } from './pillow-resize.js'

const photos = new URL('../../../shared/data/photos/', import.meta.url).pathname
let dir = ''
const file = (name: string) => join(dir, name)

/** A w x h image: left half red, right half blue (so orientation and crops are visible). */
function halves(w: number, h: number): Sharp {
  const px = Buffer.alloc(w * h * 3)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3)
  return sharp(px, { raw: { width: w, height: h, channels: 3 } })
}

function at(img: { data: ArrayLike<number>, shape: number[] }, y: number, x: number): number[] {
  const [, w, c] = img.shape as [number, number, number]
  return Array.from({ length: c }, (_, k) => Math.round(Number(img.data[(y * w + x) * c + k])))
}

before(async () => {
  await useBestBackend({ warn: () => undefined })
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-decode-'))
  await halves(40, 20).png().toFile(file('rgb.png'))
  await halves(40, 20).jpeg({ quality: 95 }).toFile(file('rgb.jpg'))
  await halves(40, 20).webp({ lossless: true }).toFile(file('rgb.webp'))
  await halves(40, 20).gif().toFile(file('rgb.gif'))
  await halves(40, 20).grayscale().png().toFile(file('grey.png'))
  await halves(40, 20).ensureAlpha(0.5).png().toFile(file('rgba.png'))
  await halves(40, 20).png({ palette: true, colours: 4 }).toFile(file('palette.png'))
  await halves(40, 20).toColourspace('rgb16').png().toFile(file('deep.png'))
  await halves(40, 20).toColourspace('cmyk').jpeg().toFile(file('cmyk.jpg'))
  // EXIF orientation 6: stored 40 wide x 20 high, shown rotated 90 degrees clockwise (20 wide x 40 high)
  await halves(40, 20).jpeg().withMetadata({ orientation: 6 }).toFile(file('rotated.jpg'))
})
after(() => rm(dir, { recursive: true, force: true }))

describe('decodeImage', () => {
  it('decodes to HWC float32 in [0, 1] at the image size by default', async () => {
    const img = await decodeImage(file('rgb.png'))
    assert.deepEqual(img.shape, [20, 40, 3])
    assert.ok(img.data instanceof Float32Array)
    assert.deepEqual(at(img, 0, 0).map((v) => v), [1, 0, 0])
    assert.deepEqual(at(img, 0, 39), [0, 0, 1])
  })

  it('every format and colour mode comes out with the requested channels', async () => {
    for (const name of ['rgb.png', 'rgb.jpg', 'rgb.webp', 'rgb.gif', 'grey.png', 'rgba.png', 'palette.png', 'deep.png', 'cmyk.jpg']) {
      for (const channels of [1, 3, 4] as const) {
        const img = await decodeImage(file(name), { channels, dtype: 'uint8' })
        assert.deepEqual(img.shape, [20, 40, channels], `${name} as ${channels} channels`)
        assert.ok(img.data instanceof Uint8Array)
      }
    }
    // colour is right, not just the shape: red on the left after conversion from CMYK, 16-bit and palette
    for (const name of ['cmyk.jpg', 'deep.png', 'palette.png']) {
      const [r, g, b] = at(await decodeImage(file(name), { dtype: 'uint8' }), 10, 5) as [number, number, number]
      assert.ok(r > 200 && g < 60 && b < 60, `${name}: left pixel ${r},${g},${b} is red`)
    }
    const grey = await decodeImage(file('rgb.png'), { channels: 1, dtype: 'uint8' })
    const redGrey = at(grey, 0, 0)[0] as number
    assert.equal(redGrey, 76, 'pure red in grey is its ITU-R 601 luma, as Pillow convert("L") gives')
    const rgba = await decodeImage(file('rgba.png'), { channels: 4, dtype: 'uint8' })
    assert.ok(Math.abs((at(rgba, 0, 0)[3] as number) - 128) <= 1, 'alpha kept')
  })

  it('applies the EXIF orientation', async () => {
    const img = await decodeImage(file('rotated.jpg'), { dtype: 'uint8' })
    assert.deepEqual(img.shape, [40, 20, 3])
    const top = at(img, 2, 10)
    const bottom = at(img, 37, 10)
    assert.ok((top[0] as number) > 200, `red (the left half) is on top after a clockwise turn: ${top}`)
    assert.ok((bottom[2] as number) > 200, `blue at the bottom: ${bottom}`)
  })

  it('fill stretches, cover crops the centre, contain letterboxes with black', async () => {
    const fill = await decodeImage(file('rgb.png'), { size: [20, 20], fit: 'fill', dtype: 'uint8' })
    assert.deepEqual(fill.shape, [20, 20, 3])
    assert.deepEqual(at(fill, 10, 0), [255, 0, 0])
    assert.deepEqual(at(fill, 10, 19), [0, 0, 255])
    const contain = await decodeImage(file('rgb.png'), { size: [20, 20], fit: 'contain', dtype: 'uint8' })
    assert.deepEqual(at(contain, 0, 5), [0, 0, 0], 'top bar is black')
    assert.deepEqual(at(contain, 19, 5), [0, 0, 0], 'bottom bar is black')
    assert.deepEqual(at(contain, 10, 2), [255, 0, 0])
    assert.throws(() => decodeImage(halves(80, 20) as never), /input must be a file path or a Buffer/)
    const wide = await halves(80, 20).png().toBuffer()
    const c = await decodeImage(wide, { size: [20, 20], fit: 'cover', dtype: 'uint8' })
    assert.deepEqual(c.shape, [20, 20, 3])
    assert.deepEqual(at(c, 10, 2), [255, 0, 0])
    assert.deepEqual(at(c, 10, 17), [0, 0, 255])
  })

  it('normalises to [0,1], [-1,1], [0,255], or per-channel mean and std', async () => {
    const unit = await decodeImage(file('rgb.png'), { normalize: 'unit' })
    const sym = await decodeImage(file('rgb.png'), { normalize: 'symmetric' })
    const none = await decodeImage(file('rgb.png'), { normalize: 'none' })
    const std = await decodeImage(file('rgb.png'), { normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } })
    assert.deepEqual(at(unit, 0, 0), [1, 0, 0])
    assert.deepEqual(Array.from(sym.data.slice(0, 3)), [1, -1, -1])
    assert.deepEqual(Array.from(none.data.slice(0, 3)), [255, 0, 0])
    const [r, g] = std.data as Float32Array
    assert.ok(Math.abs((r as number) - (1 - 0.485) / 0.229) < 1e-5)
    assert.ok(Math.abs((g as number) - (0 - 0.456) / 0.224) < 1e-5)
  })

  it('throws bad options synchronously, naming the range and the value', () => {
    assert.throws(() => decodeImage('x.jpg', { size: [0, 10] }), /decodeImage: size\[0\] \(height\) must be an integer from 1 to 16384, got 0/)
    assert.throws(() => decodeImage('x.jpg', { channels: 2 as never }), /channels must be one of 1, 3, 4, got 2/)
    assert.throws(() => decodeImage('x.jpg', { fit: 'crop' as never }), /fit must be one of "fill", "cover", "contain", got "crop"/)
    assert.throws(() => decodeImage('x.jpg', { normalize: { mean: [0.5], std: [0.5] } }), /need 3 values/)
  })

  it('rejects unreadable input with an ImageDecodeError naming the file and the reason', async () => {
    await writeFile(file('text.jpg'), 'this is not a jpeg')
    await writeFile(file('empty.jpg'), '')
    const jpeg = await readFile(file('rgb.jpg'))
    await writeFile(file('truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)))
    for (const [name, reason] of [['missing.jpg', /does not exist/], ['text.jpg', /not an image/], ['empty.jpg', /empty|not an image/], ['truncated.jpg', /.+/]] as const) {
      await assert.rejects(decodeImage(file(name)), (err: Error) => {
        assert.ok(err instanceof ImageDecodeError, `${name}: ${err}`)
        assert.ok(err.message.includes(file(name)), err.message)
        assert.match(err.message, reason)
        return true
      })
    }
  })

  it('refuses a decompression bomb before decoding it', async () => {
    // a PNG whose header declares 30000 x 30000 pixels (2.7 GB decoded) in a few bytes
    const bomb = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer())
    bomb.writeUInt32BE(30000, 16)
    bomb.writeUInt32BE(30000, 20)
    bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29)
    const rss = process.memoryUsage().rss
    await assert.rejects(decodeImage(bomb, { size: [32, 32] }), /more pixels than maxPixels allows/)
    assert.ok(process.memoryUsage().rss - rss < 500e6, 'memory stayed bounded')
  })

  it('the 224x224 resize matches Pillow\'s bilinear resize on the real photos (mean abs error per pixel)', async () => {
    const names = (await readdir(photos)).sort()
    const errors: Record<string, number> = {}
    for (const name of names) {
      const bytes = await readFile(join(photos, name))
      const full = await decodeImage(bytes, { dtype: 'uint8' })
      const [h, w] = full.shape
      const ref = pillowBilinear(full.data as Uint8Array, h, w, 3, 224, 224)
      const ours = await decodeImage(bytes, { size: [224, 224], dtype: 'uint8' })
      let s = 0
      for (let i = 0; i < ref.length; i++) s += Math.abs((ours.data[i] as number) - (ref[i] as number))
      errors[name] = s / ref.length
    }
    const values = Object.values(errors)
    const mean = values.reduce((a, b) => a + b, 0) / values.length
    // Measured: mean 0.28 (out of 255) per channel value; every photo under 0.5 but retina.jpg,
    // 1.09: 1411 px wide, it is decoded at 1/4 size in the DCT domain (shrink-on-load) first.
    assert.ok(mean < 0.5, `mean abs error ${mean.toFixed(3)}: ${JSON.stringify(errors)}`)
    assert.ok(values.every((v) => v < 1.5), JSON.stringify(errors))
    assert.equal(tf.memory().numTensors, 0)
  })
})
