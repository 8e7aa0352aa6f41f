// Bad input (issue: a run of hours must not die on the 14 000th image, nor train silently on less).
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { batch, collate, decodeImage, fit, imageFolder, imageSample, map, pipe, toArray, useBestBackend, ImageDecodeError } from '../../lib/index.js'

let dir = ''
const good = (name: string, colour = '#808080') => sharp({ create: { width: 12, height: 10, channels: 3, background: colour } }).jpeg().toFile(join(dir, name))

before(async () => {
  await useBestBackend({ warn: () => undefined })
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-bad-'))
  await mkdir(join(dir, 'folder', 'a'), { recursive: true })
  await mkdir(join(dir, 'folder', 'b'), { recursive: true })
  for (let i = 0; i < 10; i++) await good(join('folder', i % 2 === 0 ? 'a' : 'b', `ok ${i}.jpg`))
  await writeFile(join(dir, 'folder', 'a', 'zero.jpg'), '')
  await writeFile(join(dir, 'folder', 'b', 'text.jpg'), 'hello, I am text')
  const jpeg = await readFile(join(dir, 'folder', 'a', 'ok 0.jpg'))
  await writeFile(join(dir, 'folder', 'b', 'truncated.jpg'), jpeg.subarray(0, 40))
})
after(() => rm(dir, { recursive: true, force: true }))

describe('bad images', () => {
  it('a PNG with a bad checksum is refused, naming the file', async () => {
    const png = Buffer.from(await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } }).png().toBuffer())
    png.writeUInt32BE((png.readUInt32BE(29) ^ 0xffff) >>> 0, 29) // corrupt the IHDR CRC
    const f = join(dir, 'badcrc.png')
    await writeFile(f, png)
    await assert.rejects(decodeImage(f), (e: Error) => e instanceof ImageDecodeError && e.message.includes(f))
  })

  it('an animated GIF decodes its first frame', async () => {
    // two 4x4 frames stacked: red, then blue
    const stack = Buffer.alloc(4 * 8 * 3)
    for (let p = 0; p < 32; p++) stack.set(p < 16 ? [255, 0, 0] : [0, 0, 255], p * 3)
    const f = join(dir, 'anim.gif')
    await sharp(stack, { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } }).gif({ loop: 0 }).toFile(f)
    assert.equal((await sharp(f).metadata()).pages, 2)
    const img = await decodeImage(f, { dtype: 'uint8' })
    assert.deepEqual(img.shape, [4, 4, 3])
    const [r, g, b] = Array.from(img.data.slice(0, 3)) as [number, number, number]
    assert.ok(r > 200 && g < 50 && b < 50, `the first frame (red), got ${r},${g},${b}`)
  })

  it('by default a bad image stops training, naming the file and the reason', async () => {
    const ds = imageFolder(join(dir, 'folder'))
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
    await assert.rejects(fit(model, pipe(ds, map(imageSample({ size: [8, 8], numClasses: 2 }), { concurrency: 2 }), batch(4), collate()), { verbose: 0 }),
      /decodeImage: cannot decode .*(zero\.jpg|text\.jpg|truncated\.jpg)/)
  })

  it('onError skip: bad images are skipped, counted and listed per epoch, and printed', async () => {
    const ds = imageFolder(join(dir, 'folder'))
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' })
    let printed = ''
    const h = await fit(model, pipe(ds, map(imageSample({ size: [8, 8], numClasses: 2 }), { concurrency: 3, onError: 'skip' }), batch(4), collate()),
      { epochs: 2, verbose: 2, output: { write: (s: string) => { printed += s } } })
    assert.deepEqual(h.stats.skipped, [3, 3])
    assert.deepEqual(h.stats.skippedItems.slice(0, 3).map((s) => s.item.split('/').pop()).sort(), ['text.jpg', 'truncated.jpg', 'zero.jpg'])
    assert.match(printed, /skipped: 3/)
    assert.match(printed, /skipped .*zero\.jpg: decodeImage: cannot decode/)
    assert.deepEqual(h.stats.steps, [3, 3], '10 good images in batches of 4')
  })

  it('maxSkipped turns a flood of bad files into an error; a handler decides per error', async () => {
    const items = Array.from({ length: 20 }, (_, i) => i)
    await assert.rejects(toArray(pipe(items, map((i: number) => { if (i % 2 === 1) throw new Error(`bad ${i}`); return i }, { onError: 'skip', maxSkipped: 3 }))),
      /more than maxSkipped \(3\) items failed in this pass; the last: item 7: bad 7/)
    const kept = await toArray(pipe(items, map((i: number) => { if (i > 15) throw new RangeError(`fatal ${i}`); if (i % 5 === 0) throw new Error('minor'); return i },
      { onError: (e) => (e instanceof RangeError ? 'stop' : 'skip') }), map((x: number) => x))).catch((e: Error) => e.message)
    assert.equal(kept, 'fatal 16')
    assert.throws(() => map((x) => x, { onError: 'ignore' as never }), /map: onError must be one of "stop", "skip", got "ignore"/)
  })
})
