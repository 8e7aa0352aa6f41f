import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Sources that hold every path at once keep them as flat strings: path.join's result is a
// tree of pieces in V8 (about 355 bytes for a 50-character path against 74 flat), and a
// shuffle('all') over a large label table holds every row.
let root = ''
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tfpipe-paths-'))
  const lines = Array.from({ length: 20_000 }, (_, i) => `some/deeper/folder/class_${i % 2}/image_${String(i).padStart(6, '0')}.jpg,${i % 2},${1 - (i % 2)}`)
  await writeFile(join(root, 'labels.csv'), lines.join('\n') + '\n')
  await mkdir(join(root, 'images', 'class_0', 'a', 'b'), { recursive: true })
  // 12 000 items: what imageFolder makes once (fast-glob's modules, compiled code; 100-400 KB) was
  // up to 130 bytes an item over 3 000, and one CI run measured 427 there.
  await Promise.all(Array.from({ length: 12_000 }, (_, i) => writeFile(join(root, 'images', 'class_0', 'a', 'b', `image_${String(i).padStart(6, '0')}.jpg`), '')))
})
after(() => rm(root, { recursive: true, force: true }))

describe('paths held by sources', () => {
  it('csv rows and imageFolder items keep flat paths: under 600 bytes of heap per csv row (path, label, one-hot Float32Array; about 380 flat, 866 with the pieces) and 400 per folder item (about 150 flat, 520-540 with them)', () => {
    const fixture = new URL('../fixtures/paths-heap.ts', import.meta.url).pathname
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fixture, root], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(r.status, 0, r.stderr)
    const got = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { rows: number, csvBytes: number, items: number, folderBytes: number, sample: string[] }
    assert.equal(got.rows, 20_000)
    assert.equal(got.items, 12_000)
    assert.equal(got.sample[0], join(root, 'some/deeper/folder/class_1/image_000005.jpg'))
    assert.ok(got.csvBytes < 600, `csv: ${got.csvBytes.toFixed(0)} bytes per row`)
    assert.ok(got.folderBytes < 400, `imageFolder: ${got.folderBytes.toFixed(0)} bytes per item`)
  })
})
