import { defineOperator, sameSize, type CommonOptions, type Operator } from '../types.js'
import { trust } from '../internal/owned.js'
import { assertInteger, assertSignal } from '../internal/validate.js'
import { asyncIteratorOf } from '../internal/iter.js'
import { closeQuietly, linkedController, raceAbort, throwIfAborted } from '../internal/abort.js'

/**
 * Reads up to `n` items ahead of the consumer in the background, so the
 * stages above work while the consumer (training) does. Changes nothing but timing.
 * @example pipe(files, map(decode, { concurrency: 4 }), batch(32), prefetch(2))
 * Errors: a source error is raised in order, after the items read before it.
 * Cancellation: `break`, an error or the signal stops the read-ahead and closes the source.
 */
export function prefetch<T>(n: number, options: CommonOptions = {}): Operator<T, T> {
  assertInteger('prefetch', 'n', n, 1)
  assertSignal('prefetch', options.signal)
  return trust(defineOperator(`prefetch(${n})`, sameSize, async function* prefetchOperator(source, context) {
    const { controller, dispose } = linkedController(options.signal, context.signal)
    const signal = controller.signal
    const it = asyncIteratorOf(source)
    const buffer: Array<IteratorResult<T> | { error: unknown }> = []
    let pulling = false
    let ended = false
    let wake: (() => void) | undefined
    const pump = (): void => {
      if (pulling || ended || signal.aborted || buffer.length >= n) return
      pulling = true
      it.next().then(
        (r) => { pulling = false; buffer.push(r); if (r.done === true) ended = true; const w = wake; wake = undefined; w?.(); pump() },
        (error: unknown) => { pulling = false; ended = true; buffer.push({ error }); const w = wake; wake = undefined; w?.() },
      )
    }
    let finished = false
    try {
      for (;;) {
        throwIfAborted(signal)
        pump()
        const head = buffer.shift()
        if (head === undefined) {
          await raceAbort(new Promise<void>((resolve) => { wake = resolve }), signal)
          continue
        }
        if ('error' in head) { finished = true; throw head.error }
        if (head.done === true) { finished = true; return }
        pump()
        yield head.value
      }
    } finally {
      controller.abort()
      dispose()
      if (!finished) closeQuietly(it)
    }
  }))
}
