// The seed article's BaseSequence (keras.utils.Sequence), ported line by line.
//
// Python (Keras):
//   class BaseSequence(Sequence):
//       def __init__(self, img_paths, labels, batch_size, img_size):
//           self.x_y = np.hstack((np.array(img_paths).reshape(len(img_paths), 1), np.array(labels)))
//           self.batch_size, self.img_size = batch_size, img_size
//       def __len__(self):
//           return math.ceil(len(self.x_y) / self.batch_size)
//       def preprocess_img(self, img_path):
//           img = Image.open(img_path).resize(self.img_size).convert('RGB')
//           return np.asarray(img, np.float32) / 255.
//       def __getitem__(self, idx):
//           batch = self.x_y[idx * self.batch_size:(idx + 1) * self.batch_size]
//           return np.array([self.preprocess_img(p) for p in batch[:, 0]]), batch[:, 1:].astype(np.float32)
//       def on_epoch_end(self):
//           np.random.shuffle(self.x_y)
//   model.fit_generator(BaseSequence(paths, labels, 32, (96, 96)), epochs=5, workers=2, shuffle=False)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { Sequence, collateSamples, decodeImage, fit, useBestBackend, type Batch } from '../../lib/index.js'

// #region sequence
export class BaseSequence extends Sequence<Batch> {
  private xY: Array<{ path: string, y: number[] }>
  constructor(imgPaths: string[], labels: number[][], private readonly batchSize: number, private readonly imgSize: [number, number]) {
    super()
    this.xY = imgPaths.map((path, i) => ({ path, y: labels[i] ?? [] }))
  }

  get length(): number { // __len__
    return Math.ceil(this.xY.length / this.batchSize)
  }

  async preprocessImg(imgPath: string) { // Image.open(...).resize(...).convert('RGB') / 255.
    return decodeImage(imgPath, { size: this.imgSize, channels: 3, normalize: 'unit' })
  }

  async getItem(idx: number): Promise<Batch> { // __getitem__
    const batch = this.xY.slice(idx * this.batchSize, (idx + 1) * this.batchSize)
    const xs = await Promise.all(batch.map((r) => this.preprocessImg(r.path)))
    return collateSamples(batch.map((r, i) => ({ x: xs[i] as Awaited<ReturnType<BaseSequence['preprocessImg']>>, y: r.y, path: r.path })))
  }

  override onEpochEnd(): void { // np.random.shuffle(self.x_y)
    for (let i = this.xY.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[this.xY[i], this.xY[j]] = [this.xY[j] as (typeof this.xY)[number], this.xY[i] as (typeof this.xY)[number]]
    }
  }
}
// #endregion sequence

export async function trainWithSequence(corpus: string, { epochs = 2, batchSize = 8, size = [48, 48] as [number, number], workers = 2, verbose = 1 as 0 | 1 | 2 } = {}) {
  await useBestBackend()
  const rows = readFileSync(join(corpus, 'labels.csv'), 'utf8').trim().split('\n').map((l) => l.split(','))
  const seq = new BaseSequence(rows.map((r) => join(corpus, r[0] as string)), rows.map((r) => r.slice(1).map(Number)), batchSize, size)
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [...size, 3], filters: 8, kernelSize: 3, activation: 'relu' }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: (rows[0]?.length ?? 1) - 1, activation: 'softmax' }),
  ] })
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] })
  // #region fit
  // model.fit_generator(BaseSequence(...), epochs=5, workers=2, shuffle=False)
  const history = await fit(model, seq, { epochs, workers, shuffle: false, verbose })
  // #endregion fit
  return history
}
