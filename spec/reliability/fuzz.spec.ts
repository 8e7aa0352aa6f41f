// Fuzzing: operators under random sources, early stops and errors; decodeImage under random and mutated bytes.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import sharp from 'sharp'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { batch, decodeImage, filter, map, pipe, prefetch, shuffle, take, ImageDecodeError, type Operator } from '../../lib/index.js'
import { spy } from '../helpers.js'

const stages: Array<() => Operator<number, unknown>> = [
  () => map((x: number) => x, { concurrency: 3 }),
  () => filter((x: number) => x % 2 === 0),
  () => batch(3),
  () => shuffle(4, { seed: 1 }),
  () => prefetch(2),
  () => take(50),
]

describe('fuzz: operators', () => {
  it('random chains over random sources with random stops and errors: the source is always closed, nothing is emitted twice', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.nat(stages.length - 1), { minLength: 1, maxLength: 5 }),
      fc.nat(40), fc.option(fc.nat(40)), fc.option(fc.nat(40)),
      async (chain, length, stopAt, failAt) => {
        const items = Array.from({ length }, (_, i) => i)
        const source = spy(items, failAt === null ? {} : { throwAt: failAt })
        const ds = pipe(source as AsyncIterable<unknown>, ...chain.map((k) => (stages[k] as () => Operator<number, unknown>)() as Operator<unknown, unknown>))
        const seen = new Set<number>()
        let n = 0
        try {
          for await (const out of ds) {
            for (const x of (Array.isArray(out) ? out : [out]) as number[]) {
              assert.ok(!seen.has(x), `item ${x} emitted twice`)
              seen.add(x)
            }
            if (stopAt !== null && n++ >= stopAt) break
          }
        } catch (err) {
          assert.match(String(err), /source failed/)
        }
        await new Promise((r) => setImmediate(r))
        const finished = source.pulls > length || (failAt !== null && failAt <= length)
        assert.ok(source.returned || finished, 'the source was closed or read to its end')
      }), { numRuns: 150 })
  })
})

describe('fuzz: decodeImage', () => {
  it('random bytes never crash the process: always a clear ImageDecodeError', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 2000 }), async (bytes) => {
      await assert.rejects(decodeImage(Buffer.from(bytes)), (e: Error) => e instanceof ImageDecodeError && /cannot decode a buffer of \d+ bytes/.test(e.message))
    }), { numRuns: 100 })
  })

  it('mutated real images either decode to the asked shape or reject with an ImageDecodeError', async () => {
    const seeds = await Promise.all([
      sharp({ create: { width: 16, height: 12, channels: 3, background: '#3a7' } }).jpeg().toBuffer(),
      sharp({ create: { width: 16, height: 12, channels: 4, background: '#3a79' } }).png().toBuffer(),
      sharp({ create: { width: 16, height: 12, channels: 3, background: '#a37' } }).webp().toBuffer(),
    ])
    await fc.assert(fc.asyncProperty(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 12 }), fc.option(fc.nat()),
      async (which, flips, cut) => {
        const b = Buffer.from(seeds[which] as Buffer)
        for (const [at, v] of flips) b[at % b.length] = v
        const input = cut === null ? b : b.subarray(0, cut % b.length)
        try {
          const img = await decodeImage(input, { size: [8, 8], dtype: 'uint8' })
          assert.deepEqual(img.shape, [8, 8, 3])
          assert.equal(img.data.length, 8 * 8 * 3)
        } catch (e) {
          assert.ok(e instanceof ImageDecodeError, String(e))
        }
      }), { numRuns: 200 })
  })

  it('mutated JPEG files (through the JPEG fast path, EXIF block included) decode to the asked shape or reject with an ImageDecodeError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tfpipe-fuzz-'))
    try {
      const seed = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a7' } }).jpeg().withMetadata({ orientation: 1 }).toBuffer()
      const at = join(dir, 'x.jpg')
      await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 12 }), fc.option(fc.nat()), fc.boolean(),
        async (flips, cut, header) => {
          const b = Buffer.from(seed)
          // half the runs aim at the first 200 bytes: the markers and the EXIF block tfpipe parses itself
          for (const [i, v] of flips) b[header ? 2 + (i % 198) : i % b.length] = v
          await writeFile(at, cut === null ? b : b.subarray(0, cut % b.length))
          for (const fit of ['fill', 'cover'] as const) {
            try {
              const img = await decodeImage(at, { size: [8, 12], fit, dtype: 'uint8' })
              assert.deepEqual(img.shape, [8, 12, 3])
              assert.equal(img.data.length, 8 * 12 * 3)
            } catch (e) {
              assert.ok(e instanceof ImageDecodeError, String(e))
            }
          }
        }), { numRuns: 300 })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
