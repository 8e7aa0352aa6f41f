import fs from 'node:fs'
import path from 'node:path'
import fg from 'fast-glob'
import { Dataset } from '../dataset.js'
import { flatString } from '../internal/strings.js'
import { compareCodePoints } from './glob.js'
import { assertNumber, assertOneOf, assertInteger } from '../internal/validate.js'
import { Rng } from '../internal/rng.js'

/** A labelled file. */
export interface LabeledPath {
  readonly path: string
  /** Class index: the position of `className` in `classNames`. */
  readonly label: number
  readonly className: string
}

export interface ImageFolderOptions {
  /** File extensions to take (case-insensitive). Default: jpg, jpeg, png, webp, gif, bmp, tif, tiff, avif. */
  readonly extensions?: readonly string[]
  /** Class names in label order; default: the sub-folder names, sorted. Folders not listed are left out. */
  readonly classNames?: readonly string[]
  /** Hold out this share of the files (0 to 1) for validation, as Keras' `validation_split`. */
  readonly validationSplit?: number
  /** Which side of the split this dataset is. Required with `validationSplit`. */
  readonly subset?: 'training' | 'validation'
  /** Seed of the split (the same seed gives the same split). Default 1337. */
  readonly seed?: number
}

/** A dataset of labelled paths that knows its class names. */
export type LabeledDataset = Dataset<LabeledPath> & { readonly classNames: readonly string[] }

const defaultExtensions = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif']

/**
 * Lists a folder with one sub-folder per class (Keras' `image_dataset_from_directory`
 * convention): yields `{ path, label, className }`, class names sorted. The
 * listing is made once, now (so the size and class names are known, and a
 * validation split is fixed); the images are read later, lazily.
 * @example const train = imageFolder('photos', { validationSplit: 0.2, subset: 'training' })
 * Errors: a missing root, a root with no class folders, or bad options throw now.
 * Cancellation: as any array source.
 */
export function imageFolder(root: string, options: ImageFolderOptions = {}): LabeledDataset {
  if (typeof root !== 'string' || root === '') throw new TypeError(`imageFolder: root must be a folder path, got ${JSON.stringify(root)}`)
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`imageFolder: ${root} is not a folder`)
  const { validationSplit, subset, seed = 1337 } = options
  if (validationSplit !== undefined) {
    assertNumber('imageFolder', 'validationSplit', validationSplit, 0, 1)
    assertOneOf('imageFolder', 'subset', subset, ['training', 'validation'])
  }
  assertInteger('imageFolder', 'seed', seed, -(2 ** 53), 2 ** 53)
  const exts = (options.extensions ?? defaultExtensions).map((e) => e.replace(/^\./, '').toLowerCase())
  const folders = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort(compareCodePoints)
  const classNames = options.classNames !== undefined ? [...options.classNames] : folders
  if (classNames.length === 0) throw new Error(`imageFolder: ${root} has no class sub-folders (expected root/<class>/<image>)`)
  const items: LabeledPath[] = []
  classNames.forEach((className, label) => {
    const dir = path.join(root, className)
    if (!fs.existsSync(dir)) throw new Error(`imageFolder: class folder ${dir} does not exist`)
    const files = fg.sync(`**/*.{${exts.join(',')}}`, { cwd: dir, caseSensitiveMatch: false, onlyFiles: true })
    for (const f of files.sort(compareCodePoints)) items.push({ path: flatString(path.join(dir, f)), label, className })
  })
  let chosen = items
  if (validationSplit !== undefined) {
    const order = new Rng(seed).shuffle(items.map((_, i) => i))
    const nVal = Math.round(items.length * validationSplit)
    const picked = new Set(subset === 'validation' ? order.slice(0, nVal) : order.slice(nVal))
    chosen = items.filter((_, i) => picked.has(i))
  }
  const label = `imageFolder(${root}${subset !== undefined ? `, ${subset}` : ''}: ${chosen.length} files, ${classNames.length} classes)`
  const ds = new Dataset<LabeledPath>(() => chosen, { size: chosen.length, labels: [label] })
  return Object.assign(ds, { classNames: Object.freeze([...classNames]) })
}

/**
 * A label to a one-hot vector of `numClasses`.
 * @example map(({ label }) => oneHot(10)(label))
 * Errors: a label that is not an integer in [0, numClasses) throws a RangeError naming it.
 */
export function oneHot(numClasses: number): (label: number) => Float32Array {
  assertInteger('oneHot', 'numClasses', numClasses, 1)
  return (label: number) => {
    assertInteger('oneHot', 'label', label, 0, numClasses - 1)
    const v = new Float32Array(numClasses)
    v[label] = 1
    return v
  }
}
