import type { AnyIterable } from '../types.js'
import { asyncIteratorOf } from './iter.js'
import { closeQuietly, linkedController, raceAbort } from './abort.js'

/**
 * The source, made abortable: each wait for an item races the signals, and
 * the source is closed (without waiting) when reading stops early. With no
 * signal the source is returned as it is, so unsignalled chains pay nothing.
 */
export function guard<T>(source: AnyIterable<T>, ...signals: Array<AbortSignal | undefined>): AnyIterable<T> {
  if (signals.every((s) => s === undefined)) return source
  return guarded(source, signals)
}

async function* guarded<T>(source: AnyIterable<T>, signals: Array<AbortSignal | undefined>): AsyncGenerator<T, void, undefined> {
  const { controller, dispose } = linkedController(...signals)
  const it = asyncIteratorOf(source)
  let finished = false
  try {
    for (;;) {
      const r = await raceAbort(it.next(), controller.signal)
      if (r.done === true) { finished = true; return }
      yield r.value
    }
  } finally {
    dispose()
    if (!finished) closeQuietly(it)
  }
}
