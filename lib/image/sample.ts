import { checkDecodeOptions, decodeChecked, type DecodeOptions } from './decode.js'
import type { LabeledPath } from '../sources/image-folder.js'
import type { CsvRow } from '../sources/csv.js'
import { oneHot } from '../sources/image-folder.js'
import type { Sample } from '../tensors/collate.js'
import type { ItemContext } from '../types.js'
import { assertInteger } from '../internal/validate.js'
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
 * @example pipe(imageFolder('data'), map(imageSample({ size: [96, 96], numClasses: 5 }), { concurrency: 4 }), batch(32), collate())
 * Errors: options are checked now; a bad image rejects with an ImageDecodeError naming its path.
 */
export function imageSample(options: ImageSampleOptions = {}): (item: LabeledPath | CsvRow, context?: ItemContext) => Promise<Sample> {
  checkDecodeOptions('imageSample', options)
  if (options.numClasses !== undefined) assertInteger('imageSample', 'numClasses', options.numClasses, 1)
  const hot = options.numClasses !== undefined ? oneHot(options.numClasses) : undefined
  const augment = options.augment
  if (augment !== undefined) checkAugmentOptions('imageSample', augment)
  return async function imageSampleOf(item: LabeledPath | CsvRow, context?: ItemContext): Promise<Sample> {
    const epoch = context?.epoch ?? 0
    const x = augment === undefined
      ? await decodeChecked(item.path, options)
      : await decodeChecked(item.path, options, (img, size) => applyAugment(img, drawAugment(augment, item.path, epoch, size)))
    const given = 'y' in item ? item.y : undefined
    return { x, y: given ?? (hot !== undefined ? hot(item.label) : item.label), path: item.path }
  }
}
