// The seed article's generator for fit_generator, ported line by line.
//
// Python (Keras):
//   def image_generator(x_y, batch_size, img_size):
//       while True:
//           np.random.shuffle(x_y)
//           for start in range(0, len(x_y), batch_size):
//               rows = x_y[start:start + batch_size]
//               X = [np.asarray(Image.open(p).resize(img_size).convert('RGB'), np.float32) / 255. for p in rows[:, 0]]
//               Y = rows[:, 1:].astype(np.float32)
//               yield np.array(X), np.array(Y)
//   model.fit_generator(image_generator(x_y, 32, (96, 96)), steps_per_epoch=len(x_y) // 32, epochs=5)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { decodeImage, fit, useBestBackend, type Batch } from '../../lib/index.js'

// #region generator
/** x_y: rows of [path, ...one-hot]. An infinite async generator, like the Python one. */
export async function* imageGenerator(xY: string[][], batchSize: number, imgSize: [number, number]): AsyncGenerator<Batch> {
  const rows = xY.slice()
  for (;;) {
    shuffleInPlace(rows) // np.random.shuffle(x_y)
    for (let start = 0; start + batchSize <= rows.length; start += batchSize) {
      const batch = rows.slice(start, start + batchSize)
      // Image.open(p).resize(img_size).convert('RGB') / 255., four at a time
      const images = await Promise.all(batch.map((r) => decodeImage(r[0] as string, { size: imgSize, channels: 3 })))
      const pixels = imgSize[0] * imgSize[1] * 3
      const xs = new Float32Array(batch.length * pixels)
      images.forEach((img, i) => xs.set(img.data, i * pixels))
      const ys = Float32Array.from(batch.flatMap((r) => r.slice(1).map(Number)))
      yield { xs: { data: xs, shape: [batch.length, ...imgSize, 3] }, ys: { data: ys, shape: [batch.length, (batch[0]?.length ?? 1) - 1] } }
    }
  }
}
// #endregion generator

function shuffleInPlace<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j] as T, a[i] as T]
  }
}

export async function trainWithGenerator(corpus: string, { epochs = 2, batchSize = 8, size = [48, 48] as [number, number], verbose = 1 as 0 | 1 | 2 } = {}) {
  await useBestBackend()
  const xY = readFileSync(join(corpus, 'labels.csv'), 'utf8').trim().split('\n').map((l) => l.split(','))
    .map(([p, ...y]) => [join(corpus, p as string), ...y])
  const classes = (xY[0]?.length ?? 1) - 1
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [...size, 3], filters: 8, kernelSize: 3, activation: 'relu' }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: classes, activation: 'softmax' }),
  ] })
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  // #region fit
  // model.fit_generator(image_generator(x_y, 32, (96, 96)), steps_per_epoch=len(x_y) // 32, epochs=5)
  const history = await fit(model, imageGenerator(xY, batchSize, size), { stepsPerEpoch: Math.floor(xY.length / batchSize), epochs, verbose })
  // #endregion fit
  return history
}
