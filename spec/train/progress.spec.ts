import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { fit, pipe, useBestBackend } from '../../lib/index.js'
import { Progress, formatSeconds } from '../../lib/train/progress.js'
import { FakeTerminal, denseModel, makeBatch } from './helpers.js'

before(async () => { await useBestBackend() })
const data = () => pipe(Array.from({ length: 4 }, (_, i) => makeBatch(8, i)))

describe('progress display', () => {
  it('verbose 1 on a terminal draws a bar in place, with steps, ETA, metrics and the wait share', async () => {
    const term = new FakeTerminal(true)
    await fit(denseModel(), data(), { epochs: 2, verbose: 1, output: term })
    assert.match(term.text, /tfpipe: training on the \w+ backend/)
    assert.match(term.text, /Epoch 1\/2\n/)
    assert.match(term.text, /\r4\/4 - \d+s \d+ms\/step - loss: \d\.\d{4} - acc: \d\.\d{4} - wait: \d+%\x1b\[K\n/)
    assert.match(term.text, /Epoch 2\/2\n/)
  })

  it('the bar itself: steps, an arrow, ETA, metrics, wait', () => {
    const term = new FakeTerminal(true)
    const p = new Progress(term, 1)
    p.epochBegin(0, 3, 10)
    p.batchEnd(5, { loss: 0.5, acc: 0.25 }, 0.12)
    assert.match(term.text, /\r 5\/10 \[=+>\.+\] - ETA: \d+s - loss: 0\.5000 - acc: 0\.2500 - wait: 12%/)
  })

  it('verbose 1 off a terminal prints one line per epoch and no bar', async () => {
    const pipeOut = new FakeTerminal(false)
    await fit(denseModel(), data(), { epochs: 3, verbose: 1, output: pipeOut })
    const lines = pipeOut.text.trim().split('\n')
    assert.equal(lines.length, 4, pipeOut.text)
    assert.match(lines[1] ?? '', /^Epoch 1\/3 - 4\/4 - \d+s \d+ms\/step - loss: [\d.]+ - acc: [\d.]+ - wait: \d+%$/)
    assert.doesNotMatch(pipeOut.text, /\r|\[=/)
  })

  it('verbose 2 prints one line per epoch even on a terminal; verbose 0 prints nothing', async () => {
    const term = new FakeTerminal(true)
    await fit(denseModel(), data(), { epochs: 2, verbose: 2, output: term })
    assert.equal(term.text.trim().split('\n').length, 3)
    assert.doesNotMatch(term.text, /\r/)
    const quiet = new FakeTerminal(true)
    await fit(denseModel(), data(), { epochs: 2, verbose: 0, output: quiet })
    assert.equal(quiet.text, '')
  })

  it('formats durations like Keras', () => {
    assert.deepEqual([formatSeconds(5), formatSeconds(75), formatSeconds(3725)], ['5s', '1:15', '1:02:05'])
  })
})
