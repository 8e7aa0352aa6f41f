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

  it('runs only the ops the scaling needs: unit one multiply, symmetric a multiply and an add, none no op', async () => {
    const data = Uint8Array.from({ length: 12 }, (_, i) => i * 20)
    const kernels = async (scale: number, offset: number) => {
      let out: tf.Tensor | undefined
      const info = await tf.profile(() => { out = toTensors({ xs: { data, shape: [1, 2, 2, 3], dtype: 'float32', scale, offset } }, 'spec').xs as tf.Tensor })
      const values = await (out as tf.Tensor).data()
      data.forEach((v, i) => assert.ok(Math.abs((values[i] as number) - (v * scale + offset)) < 1e-6))
      tf.dispose(out)
      return info.kernelNames
    }
    assert.deepEqual(await kernels(1 / 255, 0), ['Multiply'])
    assert.deepEqual(await kernels(1 / 127.5, -1), ['Multiply', 'Add'])
    assert.deepEqual(await kernels(1, 0), [])
  })

  it("'none' scaling (no op) does not share the reused buffer: two batches keep their values", async () => {
    const a = Uint8Array.from({ length: 12 }, (_, i) => i)
    const b = Uint8Array.from({ length: 12 }, (_, i) => 200 - i)
    const first = toTensors({ xs: { data: a, shape: [1, 2, 2, 3], dtype: 'float32', scale: 1, offset: 0 } }, 'spec').xs as tf.Tensor
    tf.dispose(toTensors({ xs: { data: Uint8Array.from({ length: 12 }, () => 7), shape: [1, 2, 2, 3], dtype: 'float32', scale: 1 / 255, offset: 0 } }, 'spec').xs)
    const second = toTensors({ xs: { data: b, shape: [1, 2, 2, 3], dtype: 'float32', scale: 1, offset: 0 } }, 'spec').xs as tf.Tensor
    assert.deepEqual(Array.from(await first.data()), Array.from(a))
    assert.deepEqual(Array.from(await second.data()), Array.from(b))
    tf.dispose([first, second])
  })
})
