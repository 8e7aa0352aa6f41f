import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { glob, pipe, shuffle, toArray } from '../../lib/index.js'

describe('glob', () => {
  let root = ''
  const names = ['b/2.jpg', 'a/1.jpg', 'a/10.jpg', 'c d/é 3.jpg', 'a/skip.txt']
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tfpipe-glob-'))
    for (const n of names) {
      await mkdir(join(root, n, '..'), { recursive: true })
      await writeFile(join(root, n), 'x')
    }
  })
  after(() => rm(root, { recursive: true, force: true }))

  it('yields matching files sorted by code point, as absolute paths', async () => {
    const files = await toArray(glob('**/*.jpg', { cwd: root }))
    assert.deepEqual(files, ['a/1.jpg', 'a/10.jpg', 'b/2.jpg', 'c d/é 3.jpg'].map((n) => join(root, n)))
  })

  it('relative paths, ignore patterns, and several patterns', async () => {
    assert.deepEqual(await toArray(glob(['a/*', 'b/*'], { cwd: root, absolute: false, ignore: ['**/*.txt'] })), ['a/1.jpg', 'a/10.jpg', 'b/2.jpg'])
  })

  it('streaming mode finds the same files, yielding as it walks', async () => {
    const streamed = await toArray(glob('**/*.jpg', { cwd: root, sorted: false }))
    assert.deepEqual([...streamed].sort(), await toArray(glob('**/*.jpg', { cwd: root })))
  })

  it('sorted paths and a seed give the same epoch order every run; the streaming walk finds the same files', async () => {
    const seeded = () => toArray(pipe(glob('**/*.jpg', { cwd: root }), shuffle('all', { seed: 5 })))
    const a = await seeded()
    assert.deepEqual(await seeded(), a)
    assert.deepEqual([...a].sort(), await toArray(glob('**/*.jpg', { cwd: root })))
    const streamed = await toArray(pipe(glob('**/*.jpg', { cwd: root, sorted: false }), shuffle('all', { seed: 5 })))
    assert.deepEqual([...streamed].sort(), [...a].sort())
  })

  it('rejects empty patterns now', () => {
    assert.throws(() => glob([]), /glob: patterns must be a non-empty string/)
    assert.throws(() => glob(''), TypeError)
  })

  it('a folder that does not exist yields nothing', async () => {
    assert.deepEqual(await toArray(glob('*.jpg', { cwd: join(root, 'missing') })), [])
  })
})
