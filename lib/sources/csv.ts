import fs from 'node:fs'
import path from 'node:path'
import { parse } from 'csv-parse'
import { Dataset } from '../dataset.js'
import { assertOneOf } from '../internal/validate.js'
import { flatString } from '../internal/strings.js'

/** A labelled file from a label table. */
export interface CsvRow {
  readonly path: string
  /** Class index. */
  readonly label: number
  /** Class name, when the table names classes. */
  readonly className?: string
  /** The one-hot (or soft) label columns as given, for tables in that form. */
  readonly y?: Float32Array
  /** 1-based line the row starts on in the file (blank lines and quoted line breaks counted), named in errors. */
  readonly line: number
}

export interface CsvOptions {
  /** Folder the paths are relative to. Default: the CSV file's folder. */
  readonly root?: string
  /**
   * How labels are written: `onehot` (path then one column per class, the seed
   * article's `data/img/fimg_4092.jpg,0,1,0,0,0`), `index` (`path,3`) or `name`
   * (`path,cat`). Default: `onehot` with more than two columns, else `index` or
   * `name` by whether the label is a number.
   */
  readonly labels?: 'onehot' | 'index' | 'name'
  /** Class names in label order: required for `name` labels; checks `index` and `onehot` widths. */
  readonly classNames?: readonly string[]
  /** The first line is a header (default: detected: a first row whose label columns are not numbers). */
  readonly header?: boolean
  readonly delimiter?: string
}

/**
 * Streams a label table with csv-parse (never loading it whole): each row
 * becomes `{ path, label, className?, y?, line }`. Each epoch reads the file again.
 * @example pipe(csv('data/labels.csv'), shuffle(10_000, { seed: 1 }), map(imageSample({ size: [96, 96], numClasses: 5 })))
 * Errors: a row with the wrong number of columns, a label that is not a number, a class index out of range, or an unknown class name raises an error naming the file and line; a missing file, its path.
 * Cancellation: `break` closes the file.
 */
export function csv(file: string, options: CsvOptions = {}): Dataset<CsvRow> {
  if (typeof file !== 'string' || file === '') throw new TypeError(`csv: file must be a path, got ${JSON.stringify(file)}`)
  if (options.labels !== undefined) assertOneOf('csv', 'labels', options.labels, ['onehot', 'index', 'name'])
  if (options.labels === 'name' && options.classNames === undefined) throw new TypeError('csv: labels "name" needs classNames (the class names in label order)')
  const root = options.root ?? path.dirname(file)
  const classIndex = new Map((options.classNames ?? []).map((n, i) => [n, i]))
  const numClasses = options.classNames?.length
  async function* read(): AsyncGenerator<CsvRow, void, undefined> {
    const stream = fs.createReadStream(file)
    // `raw` rather than `info` for the line numbers: csv-parse's info is two new objects per
    // record, and they reached V8's old generation (275 bytes a row, every epoch: the
    // eighth session's run in docs/performance-history.md); the raw text is one string, and
    // counting its line breaks also gives the line a record starts on.
    const parser = stream.pipe(parse({ delimiter: options.delimiter ?? ',', relax_column_count: true, skip_empty_lines: true, trim: true, raw: true }))
    stream.on('error', (err) => parser.destroy(err))
    const lines = new LineCounter()
    let width = -1
    let mode = options.labels
    let first = true
    try {
      for await (const rec of parser as AsyncIterable<{ record: string[], raw: string }>) {
        const cells = rec.record
        const line = lines.record(rec.raw)
        const where = `csv: ${file} line ${line}`
        if (first) {
          first = false
          // Detected only for label columns (more than two columns, none a number); a two-column header needs header: true.
          const looksLikeHeader = cells.length > 2 && mode !== 'name' && cells.slice(1).every((c) => c !== '' && Number.isNaN(Number(c)))
          if (options.header === true || (options.header === undefined && looksLikeHeader)) { width = cells.length; continue }
        }
        if (width === -1) width = cells.length
        if (cells.length !== width) throw new Error(`${where}: expected ${width} columns, got ${cells.length}`)
        if (cells.length < 2) throw new Error(`${where}: a row needs a path and a label, got ${cells.length} column`)
        const rel = cells[0] as string
        if (rel === '') throw new Error(`${where}: the path is empty`)
        const p = flatString(path.isAbsolute(rel) ? rel : path.join(root, rel))
        mode ??= cells.length > 2 ? 'onehot' : Number.isNaN(Number(cells[1])) ? 'name' : 'index'
        if (mode === 'onehot') {
          const values = cells.slice(1).map(Number)
          const bad = values.findIndex((v) => Number.isNaN(v))
          if (bad >= 0) throw new Error(`${where}: label column ${bad + 2} is not a number: ${JSON.stringify(cells[bad + 1])}`)
          if (numClasses !== undefined && values.length !== numClasses) throw new Error(`${where}: ${values.length} label columns, but there are ${numClasses} classes`)
          let label = 0
          values.forEach((v, i) => { if (v > (values[label] as number)) label = i })
          yield { path: p, label, y: Float32Array.from(values), line, ...(options.classNames?.[label] !== undefined ? { className: options.classNames[label] } : {}) }
        } else if (mode === 'index') {
          const label = Number(cells[1])
          if (!Number.isInteger(label) || label < 0) throw new Error(`${where}: the label must be a class index (an integer >= 0), got ${JSON.stringify(cells[1])}`)
          if (numClasses !== undefined && label >= numClasses) throw new Error(`${where}: class index ${label} is out of range [0, ${numClasses})`)
          yield { path: p, label, line, ...(options.classNames?.[label] !== undefined ? { className: options.classNames[label] } : {}) }
        } else {
          const name = cells[1] as string
          const label = classIndex.get(name)
          if (label === undefined) {
            if (classIndex.size === 0) throw new Error(`${where}: the label ${JSON.stringify(name)} is a class name; pass classNames`)
            throw new Error(`${where}: unknown class ${JSON.stringify(name)}; the classes are ${[...classIndex.keys()].join(', ')}`)
          }
          yield { path: p, label, className: name, line }
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`csv: the label file ${file} does not exist`, { cause: err })
      throw err
    } finally {
      stream.destroy()
    }
  }
  return new Dataset<CsvRow>(() => read(), { labels: [`csv(${path.basename(file)})`] })
}

/**
 * Line numbers from the raw text of consecutive records (csv-parse's `raw`,
 * which includes the blank lines skipped before a record and its own line
 * break). `\n`, `\r\n` and a lone `\r` each end a line; a break inside a quoted
 * field counts too, so a record after a multi-line one gets its true line.
 */
export class LineCounter {
  #line = 1
  /** The 1-based line a record starts on (after any blank lines before it). */
  record(raw: string): number {
    let start = 0
    while (start < raw.length && isBreak(raw.charCodeAt(start))) start++
    const first = this.#line + breaks(raw, 0, start)
    this.#line = first + breaks(raw, start, raw.length)
    return first
  }
}

function isBreak(c: number): boolean { return c === 10 || c === 13 }

/** Line breaks in raw[from, to): \r\n counts once. */
function breaks(raw: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = raw.charCodeAt(i)
    if (c === 10) n++
    else if (c === 13 && raw.charCodeAt(i + 1) !== 10) n++
  }
  return n
}
