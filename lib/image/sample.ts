import { affineOf, checkDecodeOptions, decodeChecked, type DecodeOptions } from './decode.js'
import type { LabeledPath } from '../sources/image-folder.js'
import type { CsvRow } from '../sources/csv.js'
import { oneHot } from '../sources/image-folder.js'
import type { Sample, TensorData } from '../tensors/collate.js'
import type { ItemContext } from '../types.js'
import { assertInteger } from '../internal/validate.js'
import { producer } from '../internal/owned.js'
import { applyAugment, checkAugmentOptions, drawAugment, type AugmentOptions } from './augment.js'

export interface ImageSampleOptions extends DecodeOptions {
  /** Make `y` a one-hot vector of this many classes (for `categoricalCrossentropy`); default: `y` is the class index. */
  readonly numClasses?: number
  /** Random augmentation, drawn per sample (by path) and epoch from `augment.seed`, done in the same sharp pipeline as the decode. */
  readonly augment?: AugmentOptions
}

/**
 * A `map` function from a labelled path (`imageFolder`, `csv`) to a sample:
 * `x` the decoded image, `y` the label (or its one-hot vector), `path` for errors.
 * `x` holds the image's bytes with its normalisation attached (`scale`,
 * `offset`); the floats are made by TensorFlow when the batch becomes a tensor.
 * @example pipe(imageFolder('data'), map(imageSample({ size: [96, 96], numClasses: 5 }), { concurrency: 4 }), batch(32), collate())
 * Errors: options are checked now; a bad image rejects with an ImageDecodeError naming its path.
 */
export function imageSample(options: ImageSampleOptions = {}): (item: LabeledPath | CsvRow, context?: ItemContext) => Promise<Sample> {
  checkDecodeOptions('imageSample', options)
  if (options.numClasses !== undefined) assertInteger('imageSample', 'numClasses', options.numClasses, 1)
  const hot = options.numClasses !== undefined ? oneHot(options.numClasses) : undefined
  const augment = options.augment
  if (augment !== undefined) checkAugmentOptions('imageSample', augment)
  // Images travel as bytes; float output is the bytes with their scaling attached,
  // applied by TensorFlow when the batch's tensor is made (see TensorData.scale).
  const asBytes: DecodeOptions = { ...options, dtype: 'uint8' }
  const affine = options.dtype === 'uint8' ? undefined : affineOf(options.normalize ?? 'unit')
  // A producer: in a `map`, its samples are fresh, so fit may free their bytes once stacked (internal/owned.ts).
  return producer(async function imageSampleOf(item: LabeledPath | CsvRow, context?: ItemContext): Promise<Sample> {
    const epoch = context?.epoch ?? 0
    const img = augment === undefined
      ? await decodeChecked(item.path, asBytes)
      : await decodeChecked(item.path, asBytes, (s, size) => applyAugment(s, drawAugment(augment, item.path, epoch, size)))
    const x: TensorData = affine === undefined ? img : { data: img.data, shape: img.shape, dtype: 'float32', ...affine }
    const given = 'y' in item ? item.y : undefined
    return { x, y: given ?? (hot !== undefined ? hot(item.label) : item.label), path: item.path }
  })
}
