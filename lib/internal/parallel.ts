import type { AnyIterable, ItemContext } from '../types.js'
import { asyncIteratorOf } from './iter.js'
import { closeQuietly, linkedController, raceAbort, throwIfAborted } from './abort.js'

export interface ParallelOptions {
  /** Calls of `fn` running at once. */
  readonly concurrency: number
  /** Results finished but not yet taken by the consumer, beyond those running. */
  readonly readAhead: number
  /** Deliver in input order (true) or as finished (false). */
  readonly ordered: boolean
  readonly signals: ReadonlyArray<AbortSignal | undefined>
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
  const it = asyncIteratorOf(source)
  let finished = false
  try {
    throwIfAborted(signal)
    if (options.concurrency === 1 && options.readAhead === 0) {
      // The sequential case without the bookkeeping: one item at a time.
      for (let index = 0; ; index++) {
        const r = await raceAbort(it.next(), signal)
        if (r.done === true) { finished = true; return }
        yield await raceAbort(Promise.resolve(fn(r.value, { index, signal })), signal)
      }
    }
    const queue: Array<Slot<O>> = []
    const limit = options.concurrency + options.readAhead
    let running = 0
    let index = 0
    let pulling = false
    let sourceDone = false
    let wake: (() => void) | undefined
    const changed = (): void => {
      const w = wake
      wake = undefined
      w?.()
    }
    const settle = (slot: Slot<O>, ok: boolean, v: unknown): void => {
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
        result = fn(item, { index: index++, signal })
      } catch (err) {
        running--
        settle(slot, false, err)
        return
      }
      Promise.resolve(result).then(
        (v) => { running--; settle(slot, true, v) },
        (e: unknown) => { running--; settle(slot, false, e) },
      )
    }
    const pull = (): void => {
      pulling = true
      it.next().then(
        (r) => {
          pulling = false
          if (r.done === true) sourceDone = true
          else if (!signal.aborted) start(r.value)
          changed()
        },
        (err: unknown) => {
          pulling = false
          sourceDone = true
          // A source error takes its place in the queue: items pulled before it are delivered first.
          queue.push({ settled: true, ok: false, error: err })
          changed()
        },
      )
    }
    let failed: Slot<O> | undefined
    for (;;) {
      throwIfAborted(signal)
      if (failed !== undefined) throw failed.error
      if (!sourceDone && !pulling && running < options.concurrency && queue.length < limit) pull()
      const at = options.ordered ? (queue[0]?.settled === true ? 0 : -1) : queue.findIndex((s) => s.settled)
      if (at >= 0) {
        const [slot] = queue.splice(at, 1) as [Slot<O>]
        if (!slot.ok) throw slot.error
        yield slot.value as O
        continue
      }
      if (sourceDone && queue.length === 0 && !pulling) { finished = true; return }
      await raceAbort(new Promise<void>((resolve) => { wake = resolve }), signal)
    }
  } finally {
    controller.abort(new DOMException('the stage stopped', 'AbortError'))
    dispose()
    if (!finished) closeQuietly(it)
  }
}
