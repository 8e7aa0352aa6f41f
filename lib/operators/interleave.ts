import { defineOperator, unknownSize, type AnyIterable, type CommonOptions, type ItemContext, type Operator } from '../types.js'
import { assertFunction, assertInteger, assertSignal } from '../internal/validate.js'
import { asyncIteratorOf } from '../internal/iter.js'
import { closeQuietly, linkedController, raceAbort, throwIfAborted } from '../internal/abort.js'

export interface InterleaveOptions extends CommonOptions {
  /** Inner iterables read at once, round-robin (tf.data's cycle_length). Default 4. */
  readonly cycleLength?: number
  /** Items taken from one inner iterable before moving to the next. Default 1. */
  readonly blockLength?: number
}

/**
 * Maps each item to an iterable and reads `cycleLength` of them at once,
 * taking `blockLength` items from each in turn (like `tf.data`'s interleave).
 * Every open inner iterable has its next item requested ahead, so slow
 * inner sources (files, network) overlap. The order is deterministic.
 * @example pipe(shardFiles, interleave((f) => readRecords(f), { cycleLength: 4 }))
 * Errors: an error from `fn`, an inner iterable or the source is raised when reached; the rest are closed.
 * Cancellation: `break` or the signal closes every open inner iterable and the source.
 */
export function interleave<I, O>(fn: (item: I, context: ItemContext) => AnyIterable<O> | PromiseLike<AnyIterable<O>>, options: InterleaveOptions = {}): Operator<I, O> {
  assertFunction('interleave', 'fn', fn)
  const { cycleLength = 4, blockLength = 1, signal } = options
  assertInteger('interleave', 'cycleLength', cycleLength, 1)
  assertInteger('interleave', 'blockLength', blockLength, 1)
  assertSignal('interleave', signal)
  return defineOperator(`interleave(${fn.name || 'fn'}, cycle ${cycleLength})`, unknownSize, async function* interleaveOperator(source, context) {
    const { controller, dispose } = linkedController(signal, context.signal)
    const outer = asyncIteratorOf(source)
    interface Lane { it: AsyncIterator<O>, ahead: Promise<IteratorResult<O>> }
    const lanes: Lane[] = []
    let outerDone = false
    let index = 0
    const open = async (): Promise<Lane | undefined> => {
      const r = await raceAbort(outer.next(), controller.signal)
      if (r.done === true) { outerDone = true; return undefined }
      const inner = await fn(r.value, { index: index++, signal: controller.signal })
      const it = asyncIteratorOf(inner)
      return { it, ahead: handled(it.next()) }
    }
    try {
      while (lanes.length < cycleLength && !outerDone) {
        const lane = await open()
        if (lane) lanes.push(lane)
      }
      let at = 0
      while (lanes.length > 0) {
        throwIfAborted(controller.signal)
        const lane = lanes[at] as Lane
        let ended = false
        for (let b = 0; b < blockLength; b++) {
          const r = await raceAbort(lane.ahead, controller.signal)
          if (r.done === true) { ended = true; break }
          lane.ahead = handled(lane.it.next())
          yield r.value
        }
        if (!ended) { at = (at + 1) % lanes.length; continue }
        const next = outerDone ? undefined : await open()
        if (next) { lanes[at] = next; at = (at + 1) % lanes.length } else {
          lanes.splice(at, 1)
          if (at >= lanes.length) at = 0
        }
      }
    } finally {
      controller.abort()
      dispose()
      for (const lane of lanes) closeQuietly(lane.it)
      if (!outerDone) closeQuietly(outer)
    }
  })
}

/** Marks a read-ahead promise as handled (it is awaited later, or dropped on close), keeping its rejection for the await. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined)
  return p
}
