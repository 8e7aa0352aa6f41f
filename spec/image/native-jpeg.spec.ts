import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, writeFile, readdir, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import sharp from 'sharp'
import { decodeImage, jpegDecoder, type DecodeOptions } from '../../lib/index.js'
import { pillowBilinear } from './pillow-resize.js'
import { alignedFloats, nativeScaler } from '../../lib/image/native-jpeg.js'
import { createRequire } from 'node:module'
import { withEnv, withSharp } from '../helpers.js'
import { exactResize, type Planes } from './jpeg-exact.js'

// The JPEG fast path (native/jpeg.c) against sharp and against Pillow's resize.
// TFPIPE_JPEG=sharp switches the fast path off per call, so both run side by side.
const photos = new URL('../../../shared/data/photos/', import.meta.url).pathname
let dir = ''
// The addon itself, for the cases that call it directly.
const addonFile = new URL('../../native/build/Release/tfpipe_jpeg.node', import.meta.url).pathname
const file = (name: string) => join(dir, name)


function meanAbs(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number, max: number } {
  assert.equal(a.length, b.length)
  let s = 0
  let max = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number))
    s += d
    if (d > max) max = d
  }
  return { mean: s / a.length, max }
}

// Built by the install where libjpeg-turbo's headers are present (always in CI, which requires it).
const built = jpegDecoder() === 'native'
const openFds = async () => (await readdir('/proc/self/fd')).length
const plain: string[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfpipe-jpeg-'))
  // Real photos as JPEGs without metadata (sharp writes none unless asked), at the bench corpus' size and larger.
  for (const name of ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png']) {
    const base = name.replace('.png', '')
    await sharp(join(photos, name)).resize(500, 375, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(file(`${base}-420.jpg`))
    await sharp(join(photos, name)).resize(500, 375, { fit: 'fill' }).jpeg({ quality: 90, chromaSubsampling: '4:4:4', progressive: true }).toFile(file(`${base}-444p.jpg`))
    await sharp(join(photos, name)).resize(2000, 1500, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(file(`${base}-big.jpg`))
    plain.push(`${base}-420.jpg`, `${base}-444p.jpg`, `${base}-big.jpg`)
  }
  await sharp(join(photos, 'camera.png')).jpeg().toFile(file('grey.jpg')) // a one-component JPEG
  plain.push('grey.jpg')
  // What the fast path declines, for sharp to decode.
  await copyFile(join(photos, 'rocket.jpg'), file('icc.jpg')) // embedded ICC profile
  await sharp(join(photos, 'chelsea.png')).jpeg().withMetadata({ orientation: 6 }).toFile(file('rotated.jpg'))
  await sharp(join(photos, 'chelsea.png')).toColourspace('cmyk').jpeg().toFile(file('cmyk.jpg'))
  await sharp(join(photos, 'chelsea.png')).png().toFile(file('png-named.jpg'))
  const whole = await readFile(file('chelsea-420.jpg'))
  await writeFile(file('truncated.jpg'), whole.subarray(0, whole.length >> 1))
})
after(() => rm(dir, { recursive: true, force: true }))

describe('the JPEG fast path', () => {
  it('is built by the install (required where TFPIPE_REQUIRE_NATIVE=1, as in CI), and TFPIPE_JPEG=sharp turns it off', async () => {
    if (process.env.TFPIPE_REQUIRE_NATIVE === '1') assert.equal(jpegDecoder(), 'native')
    assert.equal(await withSharp(async () => jpegDecoder()), 'sharp')
  })

  it('resizes as Pillow does (224x224 fill, real photos, 500x375 and 2000x1500), and closer to it than sharp where it decodes to RGB as Pillow does', async () => {
    for (const name of plain) {
      const channels = name === 'grey.jpg' ? 1 : 3
      const full = await withSharp(() => decodeImage(file(name), { dtype: 'uint8', channels }))
      const [h, w] = full.shape
      const ref = pillowBilinear(full.data as Uint8Array, h, w, channels, 224, 224)
      const opts: DecodeOptions = { size: [224, 224], dtype: 'uint8', channels }
      const fast = await decodeImage(file(name), opts)
      const slow = await withSharp(() => decodeImage(file(name), opts))
      assert.deepEqual(fast.shape, [224, 224, channels])
      if (!built) { // not built on this machine (no libjpeg headers): sharp decodes it, the same either way
        assert.deepEqual(Buffer.from(fast.data), Buffer.from(slow.data))
        continue
      }
      const vsPillow = meanAbs(fast.data, ref)
      const sharpVsPillow = meanAbs(slow.data, ref)
      // Measured: 0.11-0.18 per value where the fast path decodes to RGB first (4:4:4, and the
      // 2000x1500 ones, which it decodes at 1/2 size in the DCT domain, leaving 2x for the filter;
      // sharp decodes those at 1/4), 0.23-0.27 for the 4:2:0 ones at full size, which take the
      // planar path (the next spec); sharp 0.18-0.61.
      assert.ok(vsPillow.mean < 0.3, `${name}: fast path vs Pillow mean ${vsPillow.mean.toFixed(3)} (sharp: ${sharpVsPillow.mean.toFixed(3)})`)
      // Pillow rounds libjpeg's RGB bytes as the RGB path does; the planar path is nearer the file's exact values instead.
      if (!name.endsWith('-420.jpg')) assert.ok(vsPillow.mean <= sharpVsPillow.mean + 0.05, `${name}: fast ${vsPillow.mean.toFixed(3)} vs sharp ${sharpVsPillow.mean.toFixed(3)}`)
    }
  })

  it('4:2:0 files at full size: chroma resized at its own size, closer to the file\'s exact values than upsampling to RGB first', async () => {
    if (!built) { assert.equal(jpegDecoder(), 'sharp'); return } // no addon here: nothing but sharp decodes
    const addon = createRequire(import.meta.url)(addonFile) as { planes(path: string): Planes | string }
    let planarSum = 0
    let rgbSum = 0
    for (const name of plain.filter((n) => n.endsWith('-420.jpg'))) {
      const planes = addon.planes(file(name))
      assert.ok(typeof planes === 'object', `${name}: ${String(planes)}`)
      assert.deepEqual([planes.width, planes.height, planes.chromaWidth, planes.chromaHeight], [500, 375, 250, 188])
      for (const [oh, ow] of [[224, 224], [96, 150], [300, 400]] as const) {
        const exact = exactResize(planes, oh, ow)
        const opts: DecodeOptions = { size: [oh, ow], dtype: 'uint8' }
        const planar = meanAbs((await decodeImage(file(name), opts)).data, exact).mean
        const rgb = meanAbs((await withEnv('TFPIPE_JPEG_PLANAR', '0', () => decodeImage(file(name), opts))).data, exact).mean
        // Measured: planar 0.25-0.29 per value (rounding the exact values to bytes alone is 0.25 on
        // average; the rest is mostly where the conversion clips, which the exact values do at full
        // size); through libjpeg's RGB bytes 0.27-0.37 (it rounds upsampled chroma and RGB to bytes).
        assert.ok(planar < 0.3, `${name} ${oh}x${ow}: planar path ${planar.toFixed(3)} from the exact values`)
        assert.ok(planar <= rgb + 0.01, `${name} ${oh}x${ow}: planar ${planar.toFixed(3)}, through RGB ${rgb.toFixed(3)}`)
        planarSum += planar
        rgbSum += rgb
      }
    }
    assert.ok(planarSum < rgbSum - 0.2, `over all: planar ${planarSum.toFixed(3)}, through RGB ${rgbSum.toFixed(3)}`)
  })

  it('cover crops the centre and no size keeps the image size, like sharp', async () => {
    for (const options of [{ size: [100, 300], fit: 'cover' }, { size: [300, 100], fit: 'cover' }, {}] as DecodeOptions[]) {
      const o: DecodeOptions = { ...options, dtype: 'uint8' }
      const fast = await decodeImage(file('chelsea-420.jpg'), o)
      const slow = await withSharp(() => decodeImage(file('chelsea-420.jpg'), o))
      assert.deepEqual(fast.shape, slow.shape)
      const d = meanAbs(fast.data, slow.data)
      assert.ok(d.mean < 1.5, `${JSON.stringify(options)}: mean ${d.mean.toFixed(3)} from sharp`)
    }
  })

  it('dctMethod fast decodes as tf.io.decode_jpeg does by default (INTEGER_FAST), bit for bit; sharp-decoded files ignore it', async () => {
    if (!built) {
      // Not built here: sharp decodes every file, and it has no choice of IDCT.
      const [fast, accurate] = [await decodeImage(file('chelsea-420.jpg'), { dtype: 'uint8', dctMethod: 'fast' }), await decodeImage(file('chelsea-420.jpg'), { dtype: 'uint8' })]
      assert.deepEqual(Buffer.from(fast.data), Buffer.from(accurate.data))
      return
    }
    // TensorFlow's own DecodeJpeg op, through tfjs-node, with its default dct_method ('' is INTEGER_FAST).
    const tfnode = (await import('@tensorflow/tfjs-node')) as unknown as { node: { decodeJpeg: (contents: Uint8Array, channels: number) => { dataSync: () => Uint8Array | Int32Array | Float32Array, dispose: () => void } } }
    for (const name of plain.filter((n) => n.endsWith('-420.jpg') || n.endsWith('-444p.jpg'))) {
      const t = tfnode.node.decodeJpeg(await readFile(file(name)), 3)
      const theirs = Uint8Array.from(t.dataSync())
      t.dispose()
      const fast = await decodeImage(file(name), { dtype: 'uint8', dctMethod: 'fast' })
      const accurate = await decodeImage(file(name), { dtype: 'uint8' })
      assert.deepEqual(Buffer.from(fast.data), Buffer.from(theirs), `${name}: the fast IDCT is TensorFlow's decode`)
      const apart = meanAbs(accurate.data, theirs).mean
      assert.ok(apart > 0.05 && apart < 2, `${name}: accurate is ${apart.toFixed(3)} from TensorFlow's fast decode`)
      // Resized, the planar path takes the same IDCT.
      const opts: DecodeOptions = { size: [224, 224], dtype: 'uint8' }
      const resized = meanAbs((await decodeImage(file(name), { ...opts, dctMethod: 'fast' })).data, (await decodeImage(file(name), opts)).data).mean
      assert.ok(resized > 0.05 && resized < 2, `${name}: 224x224 fast vs accurate ${resized.toFixed(3)}`)
    }
    // sharp has no choice of IDCT: a file it decodes comes out the same either way.
    const viaSharp = [await decodeImage(file('rotated.jpg'), { dtype: 'uint8', dctMethod: 'fast' }), await decodeImage(file('rotated.jpg'), { dtype: 'uint8' })]
    assert.deepEqual(Buffer.from(viaSharp[0]?.data ?? []), Buffer.from(viaSharp[1]?.data ?? []))
    assert.throws(() => decodeImage(file('chelsea-420.jpg'), { dctMethod: 'slow' as never }), /decodeImage: dctMethod must be one of "accurate", "fast", got "slow"/)
  })

  it('alignedFloats lays floats out where TensorFlow (tfjs-node) uses them in place; 4 bytes off, it copies them', async () => {
    const got = alignedFloats(1000, 64)
    if (!built) { assert.equal(got, undefined); return }
    assert.ok(got !== undefined && got.offset >= 0 && got.offset < 64 && got.buffer.byteLength >= 4 * 1000 + got.offset)
    const tfnode = (await import('@tensorflow/tfjs-node')) as unknown as typeof import('@tensorflow/tfjs')
    await tfnode.setBackend('tensorflow')
    // Whether the tensor still reads the array after an op has made TensorFlow take it.
    const shares = (view: Float32Array) => {
      view.fill(1)
      const t = tfnode.tensor(view)
      const r = tfnode.reshape(t, [-1])
      view[0] = 42
      const seen = r.dataSync()[0]
      tfnode.dispose([t, r])
      return seen === 42
    }
    assert.equal(shares(new Float32Array(got.buffer, got.offset, 1000)), true, 'aligned: in place')
    assert.equal(shares(new Float32Array(got.buffer, (got.offset + 4) % 64, 1000)), false, '4 bytes off: copied')
    assert.throws(() => alignedFloats(10, 48), /power of two/)
  })

  it('float output is the bytes scaled, for every normalisation', async () => {
    const bytes = await decodeImage(file('coffee-420.jpg'), { size: [64, 64], dtype: 'uint8' })
    const floats = await decodeImage(file('coffee-420.jpg'), { size: [64, 64], normalize: 'symmetric' })
    assert.ok(floats.data instanceof Float32Array)
    for (const i of [0, 1, 2, 5000, 64 * 64 * 3 - 1]) assert.ok(Math.abs((floats.data[i] as number) - ((bytes.data[i] as number) / 127.5 - 1)) < 1e-6)
  })

  it('declines what it would not decode as sharp does: the result is sharp\'s, bit for bit', async () => {
    for (const name of ['icc.jpg', 'rotated.jpg', 'cmyk.jpg', 'png-named.jpg']) {
      const o: DecodeOptions = { size: [64, 48], dtype: 'uint8' }
      const fast = await decodeImage(file(name), o)
      const slow = await withSharp(() => decodeImage(file(name), o))
      assert.deepEqual(fast.shape, slow.shape, name)
      assert.deepEqual(Buffer.from(fast.data), Buffer.from(slow.data), `${name} went through sharp`)
    }
    // the rotation was applied (sharp's), not ignored: stored 451x300 landscape, shown portrait
    assert.deepEqual((await decodeImage(file('rotated.jpg'), { dtype: 'uint8' })).shape, [451, 300, 3])
  })

  it('bad files give sharp\'s errors, naming the file, and leave no file open', async () => {
    const fds = await openFds()
    for (let i = 0; i < 20; i++) {
      // 32x32 is decoded at 1/4 size to RGB, 224x224 at full size by planes (the planar path): both stop at the cut
      for (const size of [[32, 32], [224, 224]] as const) {
        await assert.rejects(decodeImage(file('truncated.jpg'), { size }), (err: Error) => err.name === 'ImageDecodeError' && err.message.includes('truncated.jpg'))
      }
      await assert.rejects(decodeImage(file('missing.jpg'), { size: [32, 32] }), /missing\.jpg: the file does not exist/)
      await decodeImage(file('chelsea-420.jpg'), { size: [32, 32] })
    }
    assert.equal(await openFds(), fds)
  })

  it('the portable resize and byte scaling (what CPUs without AVX2 run) give the AVX2 path\'s bytes', async () => {
    const names = ['chelsea-420.jpg', 'astronaut-big.jpg', 'grey.jpg']
    // The sink's byte scaling (the AVX2 path's values are checked against TensorFlow's ops in spec/train/tensors.spec.ts):
    // odd sizes and starting indices, one scale and per-channel scales for 1, 3 and 4 channels.
    const scalings = [[1 / 255, 0], [1 / 127.5, -1], [[0.0171, 0.0175, 0.0174], [-2.1, -2.0, -1.8]], [[0.5, 0.25, 2, 4], [1, 2, 3, 4]]]
    const digest = async () => {
      const out: string[] = []
      for (const name of names) {
        for (const o of [{ size: [224, 224] }, { size: [57, 301], fit: 'cover' }, { size: [100, 150] }] as DecodeOptions[]) {
          out.push(createHash('sha256').update((await decodeImage(file(name), { ...o, dtype: 'uint8', channels: name === 'grey.jpg' ? 1 : 3 })).data).digest('hex'))
        }
      }
      const bytes = Uint8Array.from({ length: 1003 }, (_, i) => (i * 131 + 7) % 256)
      for (const [scale, offset] of scalings) {
        const scaler = nativeScaler(scale, offset)
        if (scaler === undefined) { out.push('no scaler'); continue }
        const floats = new Float32Array(1200)
        scaler(bytes, floats, 13)
        out.push(createHash('sha256').update(new Uint8Array(floats.buffer)).digest('hex'))
      }
      return out
    }
    const here = await digest()
    if (built) assert.ok(!here.includes('no scaler'))
    // A child process loads the addon with TFPIPE_JPEG_SIMD=0 (read once, when the addon loads).
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { decodeImage } = await import(${JSON.stringify(new URL('../../lib/index.ts', import.meta.url).href)})
      const { nativeScaler } = await import(${JSON.stringify(new URL('../../lib/image/native-jpeg.ts', import.meta.url).href)})
      const { createHash } = await import('node:crypto')
      const out = []
      for (const name of ${JSON.stringify(names)}) for (const o of [{ size: [224, 224] }, { size: [57, 301], fit: 'cover' }, { size: [100, 150] }])
        out.push(createHash('sha256').update((await decodeImage(${JSON.stringify(dir)} + '/' + name, { ...o, dtype: 'uint8', channels: name === 'grey.jpg' ? 1 : 3 })).data).digest('hex'))
      const bytes = Uint8Array.from({ length: 1003 }, (_, i) => (i * 131 + 7) % 256)
      for (const [scale, offset] of ${JSON.stringify(scalings)}) {
        const scaler = nativeScaler(scale, offset)
        if (scaler === undefined) { out.push('no scaler'); continue }
        const floats = new Float32Array(1200)
        scaler(bytes, floats, 13)
        out.push(createHash('sha256').update(new Uint8Array(floats.buffer)).digest('hex'))
      }
      console.log(JSON.stringify(out))`], { encoding: 'utf8', env: { ...process.env, TFPIPE_JPEG_SIMD: '0' } })
    assert.equal(child.status, 0, child.stderr)
    assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').pop() ?? '[]'), here)
  })

  it('the same bytes however many decodes run at once', async () => {
    const one = await decodeImage(file('astronaut-big.jpg'), { size: [96, 96], dtype: 'uint8' })
    const many = await Promise.all(Array.from({ length: 16 }, () => decodeImage(file('astronaut-big.jpg'), { size: [96, 96], dtype: 'uint8' })))
    for (const m of many) assert.deepEqual(Buffer.from(m.data), Buffer.from(one.data))
  })
})

// The decode threads (native/jpeg.c, pool_t): tfpipe's own, below the main thread's priority.
// Each case runs in a child process, so the thread settings (read once, at the first decode) are its own.
describe('the decode threads', () => {
  const run = (script: string, env: Record<string, string> = {}) => spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { createRequire } from 'node:module'
    import { readFileSync, readdirSync } from 'node:fs'
    const addon = createRequire(import.meta.url)(${JSON.stringify(addonFile)})
    const file = (name) => ${JSON.stringify(dir)} + '/' + name
    // This process's threads: name and nice value (/proc/self/task/*/stat's 19th field).
    // A thread that exits between the listing and the read (a worker's, as it ends) is left out.
    const threads = () => readdirSync('/proc/self/task').flatMap((t) => {
      try {
        const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8')
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        // nice: the 19th field; policy: the 41st (0 SCHED_OTHER, 5 SCHED_IDLE)
        return [{ name: readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim(), nice: Number(f[16]), policy: Number(f[38]) }]
      } catch (err) {
        if (err.code === 'ENOENT' || err.code === 'ESRCH') return []
        throw err
      }
    })
    ${script}`], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } })

  it('are threads of their own, one per core and at least 2 (TFPIPE_DECODE_THREADS), 19 nice values below the main thread or idle (TFPIPE_DECODE_NICE), started at the first decode', () => {
    if (!built) { assert.equal(jpegDecoder(), 'sharp'); return } // no addon here: sharp decodes on libvips' threads
    const script = `
      const before = threads().filter((t) => t.name === 'tfpipe-decode').length
      const r = await addon.decode(file('chelsea-420.jpg'), 32, 32, 3, 0, 1e9)
      const main = threads()[0]
      const decoders = threads().filter((t) => t.name === 'tfpipe-decode')
      const cores = (await import('node:os')).availableParallelism()
      console.log(JSON.stringify({ before, bytes: r.data.length, main: main.nice, cores, decode: decoders.map((t) => t.nice), policies: [...new Set(decoders.map((t) => t.policy))] }))`
    const read = (r: ReturnType<typeof run>) => {
      assert.equal(r.status, 0, r.stderr)
      return JSON.parse(r.stdout.trim()) as { before: number, bytes: number, main: number, cores: number, decode: number[], policies: number[] }
    }
    const usual = read(run(script))
    const at = (n: number) => Math.min(19, usual.main + n)
    const each = (n: number) => Array<number>(Math.min(64, Math.max(2, usual.cores))).fill(n)
    assert.deepEqual(usual, { before: 0, bytes: 32 * 32 * 3, main: usual.main, cores: usual.cores, decode: each(at(19)), policies: [0] })
    // One process limited to one core (taskset, where there is one): still 2 threads.
    const taskset = spawnSync('taskset', ['-c', '0', 'true'])
    if (taskset.status === 0) {
      const one = spawnSync('taskset', ['-c', '0', process.execPath, '--input-type=module', '-e', `
        const addon = (await import('node:module')).createRequire(import.meta.url)(${JSON.stringify(addonFile)})
        await addon.decode(${JSON.stringify(file('chelsea-420.jpg'))}, 32, 32, 3, 0, 1e9)
        const { readdirSync, readFileSync } = await import('node:fs')
        console.log(readdirSync('/proc/self/task').filter((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'tfpipe-decode').length)`], { encoding: 'utf8' })
      assert.equal(one.stdout.trim(), '2', one.stderr)
    }
    // idle: Linux's SCHED_IDLE policy (5), the nice value left as it was.
    const idle = read(run(script, { TFPIPE_DECODE_NICE: 'idle' }))
    assert.deepEqual([idle.policies, idle.decode], [[5], each(at(0))])
    assert.deepEqual(read(run(script, { TFPIPE_DECODE_THREADS: '2', TFPIPE_DECODE_NICE: '0' })).decode, [at(0), at(0)])
    // Relative to the main thread's nice value (os.setPriority sets the calling thread's on Linux), at most 19.
    assert.deepEqual(read(run(`;(await import('node:os')).setPriority(5); ${script}`, { TFPIPE_DECODE_NICE: '10', TFPIPE_DECODE_THREADS: '3' })).decode, [15, 15, 15])
    assert.deepEqual(read(run(`;(await import('node:os')).setPriority(15); ${script}`, { TFPIPE_DECODE_NICE: '10', TFPIPE_DECODE_THREADS: '3' })).decode, [19, 19, 19])
    // Values out of range are ignored, not half-read.
    assert.deepEqual(read(run(script, { TFPIPE_DECODE_THREADS: '0', TFPIPE_DECODE_NICE: '2x' })).decode, each(at(19)))
  })

  it('keep the process alive while decodes are under way, and let it exit once they are done', () => {
    if (!built) { assert.equal(jpegDecoder(), 'sharp'); return }
    // Nothing else keeps this process's event loop alive: the results print only if it waits for them.
    const r = run(`
      const names = ['chelsea-420.jpg', 'coffee-444p.jpg', 'astronaut-big.jpg', 'truncated.jpg', 'png-named.jpg']
      Promise.all(names.map((n) => addon.decode(file(n), 96, 96, 3, 0, 1e9))).then((all) => console.log(JSON.stringify(all.map((x) => typeof x === 'string' ? x.slice(0, 7) : x.data.length))))`)
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout.trim()), [27648, 27648, 27648, 'libjpeg', 'not a J'])
    // And once done, the threads do not hold the process: it exits (spawnSync's timeout would kill it otherwise).
    assert.equal(r.signal, null)
  })

  it('a worker thread that decodes can be terminated mid-decode, and the process decodes on', () => {
    if (!built) { assert.equal(jpegDecoder(), 'sharp'); return }
    const r = run(`
      const { Worker } = await import('node:worker_threads')
      const code = \`
        const addon = require(\${JSON.stringify(${JSON.stringify(addonFile)})})
        const { parentPort } = require('node:worker_threads')
        let done = 0
        const loop = () => { for (let i = 0; i < 8; i++) addon.decode(\${JSON.stringify(file('astronaut-big.jpg'))}, 224, 224, 3, 0, 1e9).then(() => { if (++done === 8) parentPort.postMessage('started') }) }
        loop(); setInterval(loop, 1)\`
      for (let round = 0; round < 5; round++) {
        const w = new Worker(code, { eval: true, execArgv: [] }) // CommonJS, not this script's --input-type=module
        await new Promise((resolve) => w.once('message', resolve))
        await w.terminate()
      }
      const left = threads().filter((t) => t.name === 'tfpipe-decode').length
      const r = await addon.decode(file('chelsea-420.jpg'), 32, 32, 3, 0, 1e9)
      console.log(JSON.stringify({ left, bytes: r.data.length }))`)
    assert.equal(r.status, 0, r.stderr)
    // Each worker's threads were joined when it ended: none left before the main thread's first decode.
    assert.deepEqual(JSON.parse(r.stdout.trim()), { left: 0, bytes: 32 * 32 * 3 })
  })
})
