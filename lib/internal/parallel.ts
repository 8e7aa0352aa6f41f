import type { AnyIterable, ItemContext } from '../types.js'
import { asyncIteratorOf } from './iter.js'
import { closeQuietly, linkedController, raceAbort, throwIfAborted } from './abort.js'
import type { ConcurrencyTuner } from './tune.js'

export interface ParallelOptions {
  /** Calls of `fn` running at once (ignored when `tuner` is given). */
  readonly concurrency: number
  /** Results finished but not yet taken by the consumer, beyond those running. Undefined: the concurrency now. */
  readonly readAhead: number | undefined
  /** Sets the concurrency as it goes (`concurrency: 'auto'`). */
  readonly tuner?: ConcurrencyTuner | undefined
  /** Deliver in input order (true) or as finished (false). */
  readonly ordered: boolean
  readonly signals: ReadonlyArray<AbortSignal | undefined>
  /** Passed to `fn` in its context. */
  readonly epoch?: number | undefined
}

interface Slot<O> {
  settled: boolean
  ok: boolean
  value?: O
  error?: unknown
}

/**
 * The engine behind `map`, `filter` and `flatMap`: applies `fn` with bounded
 * concurrency and bounded read-ahead. It pulls from the source only while the
 * consumer is waiting in `next()` (or a `prefetch` downstream is), at most
 * one pull at a time, and never holds more than `concurrency + readAhead`
 * items. Unlike it-parallel it closes the source the moment it stops, even
 * while a pull is waiting for a free slot, and aborts the calls in flight.
 */
export async function* parallel<I, O>(
  source: AnyIterable<I>,
  fn: (item: I, context: ItemContext) => O | PromiseLike<O>,
  options: ParallelOptions,
): AsyncGenerator<O, void, undefined> {
  const { controller, dispose } = linkedController(...options.signals)
  const signal = controller.signal
  // Waits race the signal only when a caller gave one: the internal abort (in
  // `finally`) happens when nobody is waiting, and racing costs a listener per wait.
  const external = options.signals.some((s) => s !== undefined) ? signal : undefined
  const it = asyncIteratorOf(source)
  let finished = false
  try {
    throwIfAborted(signal)
    const tuner = options.tuner
    if (tuner === undefined && options.concurrency === 1 && options.readAhead === 0) {
      // The sequential case without the bookkeeping: one item at a time.
      for (let index = 0; ; index++) {
        const r = external === undefined ? await it.next() : await raceAbort(it.next(), external)
        if (r.done === true) { finished = true; return }
        const v = fn(r.value, { index, signal, epoch: options.epoch })
        yield isPromiseLike(v) ? await (external === undefined ? v : raceAbort(Promise.resolve(v), external)) : v
      }
    }
    const queue: Array<Slot<O>> = []
    tuner?.begin()
    let running = 0
    let index = 0
    let pulling = false
    let sourceDone = false
    let failed: Slot<O> | undefined
    let wake: (() => void) | undefined
    const changed = (): void => {
      const w = wake
      wake = undefined
      w?.()
    }
    signal.addEventListener('abort', changed, { once: true })
    const settle = (slot: Slot<O>, ok: boolean, v: unknown): void => {
      running--
      slot.settled = true
      slot.ok = ok
      if (ok) slot.value = v as O
      else {
        slot.error = v
        // Fail fast: a call's error is raised at once, and the calls still running are aborted.
        failed ??= slot
      }
      changed()
    }
    const start = (item: I): void => {
      const slot: Slot<O> = { settled: false, ok: false }
      queue.push(slot)
      running++
      let result: O | PromiseLike<O>
      try {
        result = fn(item, { index: index++, signal, epoch: options.epoch })
      } catch (err) {
        settle(slot, false, err)
        return
      }
      if (isPromiseLike(result)) result.then((v) => settle(slot, true, v), (e: unknown) => settle(slot, false, e))
      else settle(slot, true, result)
    }
    const onPulled = (r: IteratorResult<I>): void => {
      pulling = false
      if (r.done === true) sourceDone = true
      else if (!signal.aborted) start(r.value)
      changed()
    }
    const onPullError = (err: unknown): void => {
      pulling = false
      sourceDone = true
      // A source error takes its place in the queue: items pulled before it are delivered first.
      queue.push({ settled: true, ok: false, error: err })
      changed()
    }
    for (;;) {
      throwIfAborted(signal)
      if (failed !== undefined) throw failed.error
      const concurrency = tuner?.concurrency ?? options.concurrency
      const limit = concurrency + (options.readAhead ?? concurrency)
      if (!sourceDone && !pulling && running < concurrency && queue.length < limit) {
        pulling = true
        it.next().then(onPulled, onPullError)
      }
      let at = -1
      if (options.ordered) { if (queue[0]?.settled === true) at = 0 } else at = queue.findIndex((s) => s.settled)
      if (at >= 0) {
        const slot = (at === 0 ? queue.shift() : queue.splice(at, 1)[0]) as Slot<O>
        if (!slot.ok) throw slot.error
        tuner?.deliver()
        yield slot.value as O
        continue
      }
      if (sourceDone && queue.length === 0 && !pulling) { finished = true; return }
      // The consumer waits. With no pull under way and the source not done, the check
      // above found no room for another call: this stage is what it waits on.
      tuner?.waiting(!pulling && !sourceDone)
      await new Promise<void>((resolve) => { wake = resolve })
      tuner?.waited()
    }
  } finally {
    options.tuner?.end()
    controller.abort(new DOMException('the stage stopped', 'AbortError'))
    dispose()
    if (!finished) closeQuietly(it)
  }
}

export function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}
