/** Abort helpers: every wait in the library can be cut short by a signal. */

/** Throws the signal's reason if it has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw reasonOf(signal)
}

export function reasonOf(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

/**
 * Resolves as `promise` does, or rejects with the signal's reason as soon as it aborts.
 * The listener is removed either way, so nothing is left attached to a long-lived signal.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(reasonOf(signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined)
      reject(reasonOf(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v) },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e) },
    )
  })
}

/** A controller that aborts when any of the given signals does; `dispose()` detaches it. */
export function linkedController(...signals: Array<AbortSignal | undefined>): { controller: AbortController, dispose: () => void } {
  const controller = new AbortController()
  const cleanups: Array<() => void> = []
  for (const s of signals) {
    if (s === undefined) continue
    if (s.aborted) { controller.abort(reasonOf(s)); break }
    const onAbort = (): void => controller.abort(reasonOf(s))
    s.addEventListener('abort', onAbort, { once: true })
    cleanups.push(() => s.removeEventListener('abort', onAbort))
  }
  return { controller, dispose: () => { for (const c of cleanups) c() } }
}

/**
 * Closes an iterator without waiting for it: a `return()` can hang on a
 * source that is itself waiting (a stalled network read), and cleanup must
 * never hang. A rejection from it is ignored on purpose: the error that
 * stopped us is the one to report.
 */
export function closeQuietly(iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined): void {
  if (iterator?.return === undefined) return
  try {
    const r = iterator.return()
    if (r instanceof Promise) r.catch(() => undefined)
  } catch {
    // ignored: see above
  }
}
