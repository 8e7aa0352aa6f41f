import type { Readable } from 'node:stream'
import fg from 'fast-glob'
import { Dataset } from '../dataset.js'

export interface GlobOptions {
  /** Folder the patterns are relative to. Default `process.cwd()`. */
  readonly cwd?: string
  /** Yield absolute paths (default true, so paths work whatever the current folder). */
  readonly absolute?: boolean
  /**
   * Sort the paths (default true): the same files give the same order on every
   * machine, so a seeded shuffle is reproducible. False streams paths as the
   * walk finds them: the first path arrives before the tree is walked.
   */
  readonly sorted?: boolean
  /** Patterns to leave out. */
  readonly ignore?: readonly string[]
  /** Match case-sensitively (default true). */
  readonly caseSensitiveMatch?: boolean
  /** Match files whose names start with a dot (default false). */
  readonly dot?: boolean
  /** Follow symbolic links (default true). */
  readonly followSymbolicLinks?: boolean
}

/**
 * The files matching `patterns`, through fast-glob's stream API. Each epoch
 * walks the folder again (new files are seen); the size is unknown until read.
 * @example pipe(glob('photos/**\/*.{jpg,png}', { cwd: root }), shuffle('all', { seed: 7 }), map(decode))
 * Errors: a bad pattern list throws a TypeError now; a walk error (an unreadable folder) surfaces when reading.
 * Cancellation: `break` stops the walk.
 */
export function glob(patterns: string | readonly string[], options: GlobOptions = {}): Dataset<string> {
  const list = typeof patterns === 'string' ? [patterns] : [...patterns]
  if (list.length === 0 || !list.every((p) => typeof p === 'string' && p !== '')) {
    throw new TypeError(`glob: patterns must be a non-empty string or array of non-empty strings, got ${JSON.stringify(patterns)}`)
  }
  const { sorted = true, absolute = true, cwd = process.cwd(), ignore = [], caseSensitiveMatch = true, dot = false, followSymbolicLinks = true } = options
  const fgOptions = { cwd, absolute, ignore: [...ignore], caseSensitiveMatch, dot, followSymbolicLinks, onlyFiles: true, suppressErrors: false }
  async function* walk(): AsyncGenerator<string, void, undefined> {
    // fast-glob types its stream as a web ReadableStream; it is a Node Readable.
    const stream = fg.stream(list, fgOptions) as unknown as Readable
    try {
      if (!sorted) {
        for await (const entry of stream) yield String(entry)
        return
      }
      const all: string[] = []
      for await (const entry of stream) all.push(String(entry))
      all.sort(compareCodePoints)
      yield* all
    } finally {
      stream.destroy()
    }
  }
  return new Dataset<string>(() => walk(), { labels: [`glob(${list.join(', ')}${sorted ? '' : ', streaming'})`] })
}

/** Code-point order, independent of locale: the same on every machine. */
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
