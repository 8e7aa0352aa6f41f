import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs'
import { useBestBackend } from '../../lib/index.js'
import { toTensors } from '../../lib/train/tensors.js'

before(() => useBestBackend({ warn: () => undefined }))

describe('toTensors: scaled bytes', () => {
  it('each batch keeps its own values although the float conversion buffer is reused', async () => {
    const shape = [2, 3, 3]
    const a = Uint8Array.from({ length: 18 }, (_, i) => i)
    const b = Uint8Array.from({ length: 18 }, (_, i) => 255 - i)
    const first = toTensors({ xs: { data: a, shape, dtype: 'float32', scale: 1 / 255, offset: 0 } }, 'spec')
    const second = toTensors({ xs: { data: b, shape, dtype: 'float32', scale: 2, offset: -1 } }, 'spec')
    const got1 = await (first.xs as tf.Tensor).data()
    const got2 = await (second.xs as tf.Tensor).data()
    a.forEach((v, i) => assert.ok(Math.abs((got1[i] as number) - v / 255) < 1e-6, `first batch, value ${i}`))
    b.forEach((v, i) => assert.equal(got2[i], v * 2 - 1, `second batch, value ${i}`))
    tf.dispose([first.xs, second.xs])
  })
})
