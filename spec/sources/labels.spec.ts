import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { toTensors } from '../../lib/train/tensors.js'
import { batch, collate, csv, imageFolder, imageSample, map, oneHot, pipe, toArray, useBestBackend, type TensorData } from '../../lib/index.js'

let root = ''
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tfpipe-labels-'))
  for (const [cls, n, colour] of [['cat', 3, '#ff0000'], ['dog', 2, '#00ff00'], ['émeu bird', 1, '#0000ff']] as const) {
    await mkdir(join(root, 'imgs', cls, 'nested'), { recursive: true })
    for (let i = 0; i < n; i++) {
      const where = i === 0 ? join(root, 'imgs', cls, 'nested', `${i}.PNG`) : join(root, 'imgs', cls, `${i} copy.png`)
      await sharp({ create: { width: 12, height: 8, channels: 3, background: colour } }).png().toFile(where)
    }
    await writeFile(join(root, 'imgs', cls, 'notes.txt'), 'not an image')
  }
})
after(() => rm(root, { recursive: true, force: true }))

describe('imageFolder', () => {
  it('one sub-folder per class, class names sorted, files by extension, size known', async () => {
    const ds = imageFolder(join(root, 'imgs'))
    assert.deepEqual(ds.classNames, ['cat', 'dog', 'émeu bird'])
    assert.equal(ds.size, 6)
    const rows = await toArray(ds)
    assert.deepEqual(rows.map((r) => r.label), [0, 0, 0, 1, 1, 2])
    assert.ok(rows.every((r) => /\.png$/i.test(r.path)))
    assert.equal(rows[5]?.className, 'émeu bird')
  })

  it('a seeded validation split: disjoint, complete, the same every time', async () => {
    const train = await toArray(imageFolder(join(root, 'imgs'), { validationSplit: 0.34, subset: 'training', seed: 1 }))
    const val = await toArray(imageFolder(join(root, 'imgs'), { validationSplit: 0.34, subset: 'validation', seed: 1 }))
    assert.equal(val.length, 2)
    assert.equal(train.length, 4)
    assert.deepEqual([...train, ...val].map((r) => r.path).sort(), (await toArray(imageFolder(join(root, 'imgs')))).map((r) => r.path).sort())
    assert.deepEqual(val, await toArray(imageFolder(join(root, 'imgs'), { validationSplit: 0.34, subset: 'validation', seed: 1 })))
  })

  it('bad roots and options throw now', () => {
    assert.throws(() => imageFolder(join(root, 'nope')), /is not a folder/)
    assert.throws(() => imageFolder(join(root, 'imgs', 'cat', 'nested')), /has no class sub-folders/)
    assert.throws(() => imageFolder(join(root, 'imgs'), { validationSplit: 0.2 }), /subset must be one of "training", "validation"/)
    assert.throws(() => imageFolder(join(root, 'imgs'), { validationSplit: 2, subset: 'training' }), /validationSplit must be a number from 0 to 1, got 2/)
  })

  it('with imageSample and collate: one typed array per batch, labels one-hot', async () => {
    const ds = pipe(imageFolder(join(root, 'imgs')), map(imageSample({ size: [4, 6], numClasses: 3 }), { concurrency: 3 }), batch(4), collate())
    const [first, second] = await toArray(ds)
    const xs = first?.xs as TensorData
    assert.deepEqual(xs.shape, [4, 4, 6, 3])
    assert.ok(xs.data instanceof Uint8Array, 'bytes travel; TensorFlow scales them at the sink')
    assert.deepEqual(Array.from(xs.data.slice(0, 3)), [255, 0, 0])
    assert.equal(xs.scale, 1 / 255)
    assert.deepEqual((first?.ys as TensorData).shape, [4, 3])
    assert.deepEqual(Array.from((second?.ys as TensorData).data), [0, 1, 0, 0, 0, 1])
  })
})

describe('oneHot', () => {
  it('makes one-hot vectors and refuses labels out of range', () => {
    assert.deepEqual(Array.from(oneHot(3)(2)), [0, 0, 1])
    assert.throws(() => oneHot(3)(3), /oneHot: label must be an integer from 0 to 2, got 3/)
    assert.throws(() => oneHot(0), RangeError)
  })
})

describe('csv', () => {
  it('reads the seed article\'s form: path then one-hot columns, paths relative to the file', async () => {
    const file = join(root, 'x_y.csv')
    await writeFile(file, 'imgs/cat/1 copy.png,1,0,0\nimgs/dog/1 copy.png,0,1,0\n')
    const rows = await toArray(csv(file))
    assert.deepEqual(rows.map((r) => [r.path, r.label, Array.from(r.y ?? [])]), [
      [join(root, 'imgs/cat/1 copy.png'), 0, [1, 0, 0]],
      [join(root, 'imgs/dog/1 copy.png'), 1, [0, 1, 0]],
    ])
    const samples = await toArray(pipe(csv(file), map(imageSample({ size: [2, 2] }))))
    assert.deepEqual(Array.from(samples[1]?.y as Float32Array), [0, 1, 0])
  })

  it('reads path,label with class names (and a header), and path,index', async () => {
    const named = join(root, 'named.csv')
    await writeFile(named, 'path,label\nimgs/cat/1 copy.png,cat\n"imgs/émeu bird/nested/0.PNG",émeu bird\n')
    const rows = await toArray(csv(named, { classNames: ['cat', 'dog', 'émeu bird'], header: true }))
    assert.deepEqual(rows.map((r) => [r.label, r.className]), [[0, 'cat'], [2, 'émeu bird']])
    const indexed = join(root, 'indexed.csv')
    await writeFile(indexed, 'a.png,2\nb.png,0\n')
    assert.deepEqual((await toArray(csv(indexed))).map((r) => r.label), [2, 0])
  })

  it('names the file and line of a bad row', async () => {
    const cases: Array<[string, RegExp, object?]> = [
      ['a.png,1,0\nb.png,0\n', /line 2: expected 3 columns, got 2/],
      ['a.png,1,x\n', /line 1: label column 3 is not a number: "x"/],
      ['a.png,7\n', /line 1: class index 7 is out of range \[0, 3\)/, { classNames: ['a', 'b', 'c'] }],
      ['a.png,horse\n', /line 1: unknown class "horse"; the classes are a, b/, { classNames: ['a', 'b'] }],
      ['a.png,horse\n', /the label "horse" is a class name; pass classNames/],
      ['a.png,1.5\n', /the label must be a class index \(an integer >= 0\), got "1.5"/],
    ]
    for (const [text, error, options] of cases) {
      const f = join(root, 'bad.csv')
      await writeFile(f, text)
      await assert.rejects(toArray(csv(f, options)), (err: Error) => { assert.match(err.message, error); assert.ok(err.message.includes(f)); return true })
    }
    await assert.rejects(toArray(csv(join(root, 'missing.csv'))), /the label file .*missing\.csv does not exist/)
  })

  it('gives each row the line it starts on: blank lines, \\r\\n, a lone \\r, a quoted field over two lines, a header', async () => {
    const f = join(root, 'lines.csv')
    const cases: Array<[string, number[]]> = [
      ['path,a,b\n\na.png,1,0\n"b\nc.png",0,1\n\n\nd.png,1,0\ne.png,0,1', [3, 4, 8, 9]],
      ['a.png,1,0\r\n\r\nb.png,0,1\r\n"c\r\nd.png",1,0\r\ne.png,0,1\r\n', [1, 3, 4, 6]],
      ['a.png,1,0\r\rb.png,0,1\rc.png,1,0\r', [1, 3, 4]],
    ]
    for (const [text, lines] of cases) {
      await writeFile(f, text)
      assert.deepEqual((await toArray(csv(f))).map((r) => r.line), lines, JSON.stringify(text))
    }
    // The same count through csv-parse's chunks (64 KB reads): the bad row is the file's last line.
    const many = Array.from({ length: 5000 }, (_, i) => (i % 7 === 3 ? `"x\ny${i}.png",1,0\r\n\r\n` : `p${i}.png,0,1\r\n`)).join('')
    const total = many.split('\r\n').length - 1 + (many.match(/"x\n/g)?.length ?? 0)
    await writeFile(f, `${many}bad.png,1\r\n`)
    await assert.rejects(toArray(csv(f)), new RegExp(`line ${total + 1}: expected 3 columns, got 2`))
  })
})

describe('collate', () => {
  it('stacks features into one allocation per batch; uint8 keeps its bytes and carries the scaling to the tensor', async () => {
    await useBestBackend({ warn: () => undefined })
    const b = [0, 1, 2].map((i) => ({ x: { data: Uint8Array.of(i, 255), shape: [1, 1, 2] }, y: i }))
    const out = pipe(b, batch(3), collate({ normalize: 'unit' }))
    return toArray(out).then(([first]) => {
      const xs = first?.xs as TensorData
      assert.deepEqual(xs.shape, [3, 1, 1, 2])
      assert.ok(xs.data instanceof Uint8Array)
      assert.deepEqual(Array.from(xs.data), [0, 255, 1, 255, 2, 255])
      assert.deepEqual([xs.scale, xs.offset, xs.dtype], [1 / 255, 0, 'float32'])
      const t = toTensors(first, 'spec')
      assert.deepEqual(Array.from((t.xs as tf.Tensor).dataSync()), Array.from(Float32Array.of(0, 1, 1 / 255, 1, 2 / 255, 1)))
      tf.dispose([t.xs as tf.Tensor, t.ys as tf.Tensor])
      assert.deepEqual((first?.ys as TensorData).shape, [3])
      assert.ok((first?.ys as TensorData).data instanceof Float32Array, 'labels are float, as tfjs losses want')
    })
  })

  it('a shape or kind mismatch names the sample (and its path) and the batch\'s shape', async () => {
    const mixed = [{ x: [1, 2], y: 0, path: 'a.png' }, { x: [1, 2, 3], y: 1, path: 'b.png' }]
    await assert.rejects(toArray(pipe(mixed, batch(2), collate())), /collate: x of sample 1 \(b\.png\) has shape \[3\], but sample 0 \(a\.png\) has \[2\]/)
    const named = [{ x: { a: [1] }, y: 0 }, { x: [1], y: 0 }]
    await assert.rejects(toArray(pipe(named, batch(2), collate())), /sample 1 has no x\.a, which sample 0 has/)
  })

  it('named inputs for multi-input models', async () => {
    const [b] = await toArray(pipe([{ x: { img: [1, 2], meta: [3] }, y: [1, 0] }, { x: { img: [4, 5], meta: [6] }, y: [0, 1] }], batch(2), collate()))
    const xs = b?.xs as Record<string, TensorData>
    assert.deepEqual(xs.img?.shape, [2, 2])
    assert.deepEqual(Array.from(xs.meta?.data ?? []), [3, 6])
  })
})
