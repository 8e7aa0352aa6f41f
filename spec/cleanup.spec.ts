import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

describe('cleanup', () => {
  it('after break, a downstream error and an abort, the process exits by itself (no timer or handle left)', () => {
    const script = fileURLToPath(new URL('./fixtures/exit-after-stop.ts', import.meta.url))
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(r.signal, null, `the process had to be killed: it did not exit by itself\n${r.stderr}`)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'done')
  })
})
