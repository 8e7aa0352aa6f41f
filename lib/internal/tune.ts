import { assertInteger } from './validate.js'

/**
 * The tuner behind `map(fn, { concurrency: 'auto' })`, like tf.data's
 * AUTOTUNE for a parallel map: it raises the number of calls running while
 * the consumer is starved for items and raising it delivers more or starves
 * it less, and falls back when it does neither.
 *
 * Starved: the consumer waiting while every allowed call is running, and only
 * the part of that wait the event loop spends idle. A consumer behind
 * `prefetch` waits nearly all the time, and through a training step that
 * holds the main thread its wait goes on while the calls in flight have long
 * finished (their results cannot be taken until the step ends): that part
 * says nothing against the calls, and more of them would have been done in it.
 *
 * It works in windows of delivered items (at least `minWindowMs` long and
 * twice the current concurrency in items). At the end of a window:
 * - the first window of each pass (epoch) only warms up: it includes the
 *   pipeline filling, so it is neither a baseline nor a verdict;
 * - in a trial (the concurrency was just raised): if, in each of two windows
 *   (one alone is too often noise on a busy machine), the items per second
 *   rose by at least `rateGain` or the starved time per item fell by at
 *   least `gain`, both against their means over the windows since the last
 *   change, the raise is kept; otherwise the concurrency goes back, and the
 *   next try waits twice as many windows as the last (1, 2, 4 ... up to 64),
 *   since conditions change (another stage slows down, the model's steps
 *   change the CPU left over);
 * - otherwise, after at least two windows at this concurrency, if the
 *   consumer was starved for at least `starvedShare` of the window, a trial
 *   starts at twice the concurrency, or at what the consumer takes per step
 *   if that is more (below), at most `max`.
 *
 * Per step: a wait for which the event loop was mostly busy (at least 1 ms and
 * half the wait) is a step that held the main thread; the items delivered
 * between two of them, the median of the last 8 counts (one long pause, a
 * garbage collection, does not move it) rounded up to a power of two, is what
 * the consumer takes per step (a batch, or two with
 * `prefetch(2)` catching up). Only the calls in flight when a step starts get
 * done during it, so fewer than that leave the consumer waiting after every
 * step; and between 2 and 16, doubling cut that wait by too little to judge
 * (a small CNN at 96x96 climbed from 1 to 64 over 2-3 epochs; now within the
 * first).
 *
 * Why both measures: where the consumer only waits (I/O-like calls) they are
 * one. Where it trains between batches they part: a 100 ms window holds two
 * or three batches, and its rate moves by a batch either way. Measured (a
 * small CNN at 96x96 fed by `map(imageSample)`, batch 32, `prefetch(2)`,
 * `docs/performance-history.md`): at concurrency 16 the consumer waited 99% of each
 * window, idle 15% of it, and fit waited for data 20% of each epoch; at 32,
 * idle 0% and fit waited 6-9%; window rates varied by 11-18% at either, which
 * could not tell 16 from 32. Where raising does not starve the consumer less
 * (CPU-bound decodes feeding a tiny model at 224x224: idle 41% of each window
 * at 16 and at 32; 40% and 30% in a rerun) only the rate can keep a raise, and its noise sometimes
 * does: a few more calls than needed, within `max`.
 * It never lowers the concurrency below a value it has kept: fewer calls
 * than needed is what costs an epoch, a few more only hold memory, which
 * `max` bounds.
 */
export interface TunerOptions {
  /** Upper bound on the concurrency. */
  readonly max: number
  /** Where to start. Default 1. */
  readonly start?: number
  /** A window lasts at least this long. Default 100 ms. */
  readonly minWindowMs?: number
  /** A raise is kept when the starved time per item falls by this share. Default 0.2. */
  readonly gain?: number
  /** ... or when the items per second rise by this share. Default 0.05. */
  readonly rateGain?: number
  /** Share of a window spent starved (see above) that starts a trial. Default 0.05. */
  readonly starvedShare?: number
  /** Clock in ms (for tests). Default `performance.now`. */
  readonly now?: () => number
  /** Milliseconds the event loop has been idle so far (for tests). Default `performance.eventLoopUtilization().idle`. */
  readonly idleNow?: () => number
}

/** One change of concurrency, as recorded by the tuner. */
export interface TuneStep {
  /** Items delivered before the change (across epochs). */
  readonly atItem: number
  readonly from: number
  readonly to: number
  /** `trial`: raised to try; `kept`: the raise delivered more or starved the consumer less; `reverted`: it did neither. */
  readonly reason: 'trial' | 'kept' | 'reverted'
}

/** What the tuner measured over one window (the evidence behind its steps). */
export interface TuneWindow {
  /** Items delivered by the window's end (across epochs). */
  readonly atItem: number
  readonly concurrency: number
  readonly itemsPerSecond: number
  /** Share of the window the consumer waited while every allowed call ran. */
  readonly waitingShare: number
  /** The part of that with the event loop idle: what the tuner counts as starved. */
  readonly starvedShare: number
}

/** What `concurrency: 'auto'` (map, filter, flatMap) chose so far, exposed on the operator as `autotune`. */
export interface AutotuneState {
  /** Calls allowed to run at once now. */
  readonly concurrency: number
  /** The bound given by `maxConcurrency`. */
  readonly max: number
  /** Every change so far (kept to the last 100). */
  readonly steps: readonly TuneStep[]
  /** The measured windows, the first of each epoch included (kept to the last 100). */
  readonly windows: readonly TuneWindow[]
}

export class ConcurrencyTuner implements AutotuneState {
  concurrency: number
  readonly max: number
  readonly steps: TuneStep[] = []
  readonly windows: TuneWindow[] = []
  private readonly minWindowMs: number
  private readonly gain: number
  private readonly rateGain: number
  private readonly starvedShare: number
  private readonly now: () => number
  private readonly idleNow: () => number
  private delivered = 0
  private windowStart = -1
  private windowItems = 0
  private starvedMs = 0
  private waitingMs = 0
  private waitStart = -1
  private waitIdleStart = 0
  private trialFrom = 0
  private trialWins = 0
  private warmingUp = false
  /** Starved ms per item: summed over the windows since the last change, and their count. */
  private starvedPerItemSince = 0
  private rateSince = 0
  private windowsSince = 0
  private cooldown = 0
  /** Items delivered since the last held wait, and the counts between the last few of them. */
  private sinceHeld = 0
  private readonly bursts: number[] = []
  private failures = 0

  constructor(options: TunerOptions) {
    this.max = options.max
    this.concurrency = Math.min(options.start ?? 1, options.max)
    this.minWindowMs = options.minWindowMs ?? 100
    this.gain = options.gain ?? 0.2
    this.rateGain = options.rateGain ?? 0.05
    this.starvedShare = options.starvedShare ?? 0.05
    this.now = options.now ?? (() => performance.now())
    this.idleNow = options.idleNow ?? (() => performance.eventLoopUtilization().idle)
  }

  /** A pass (epoch) starts: the window restarts, the concurrency carries over. */
  begin(): void {
    this.windowStart = this.now()
    this.windowItems = 0
    this.starvedMs = 0
    this.waitingMs = 0
    this.waitStart = -1
    this.warmingUp = true
  }

  /** A pass ends (or stops): a trial it cut short is not judged across the gap, so it is undone. */
  end(): void {
    this.waitStart = -1
    if (this.trialFrom > 0) this.record(this.trialFrom, 'reverted')
  }

  /** The consumer starts waiting; `saturated`: every allowed call is running. */
  waiting(saturated: boolean): void {
    this.waitStart = saturated ? this.now() : -1
    if (saturated) this.waitIdleStart = this.idleNow()
  }

  /** The consumer stops waiting (an item is ready, or the pass ends). */
  waited(): void {
    if (this.waitStart >= 0) {
      const total = this.now() - this.waitStart
      const idle = Math.min(total, this.idleNow() - this.waitIdleStart)
      this.waitingMs += total
      this.starvedMs += idle
      // Held: the event loop was busy for most of the wait (a training step). The items taken
      // between two such waits are what the consumer takes per step.
      if (total - idle >= 1 && total - idle >= total / 2) {
        if (this.sinceHeld > 0) {
          this.bursts.push(this.sinceHeld)
          if (this.bursts.length > 8) this.bursts.shift()
        }
        this.sinceHeld = 0
      }
    }
    this.waitStart = -1
  }

  /** An item went to the consumer; may change `concurrency`. */
  deliver(): void {
    this.delivered++
    this.sinceHeld++
    this.windowItems++
    if (this.windowItems < 2 * this.concurrency) return
    const t = this.now()
    const elapsed = t - this.windowStart
    if (elapsed < this.minWindowMs) return
    const rate = this.windowItems / elapsed
    const starvedPerItem = this.starvedMs / this.windowItems
    const starvedShare = this.starvedMs / elapsed
    this.windows.push({ atItem: this.delivered, concurrency: this.concurrency, itemsPerSecond: 1000 * rate, waitingShare: this.waitingMs / elapsed, starvedShare })
    if (this.windows.length > 100) this.windows.shift()
    this.windowStart = t
    this.windowItems = 0
    this.starvedMs = 0
    this.waitingMs = 0
    if (this.warmingUp) { this.warmingUp = false; return }
    if (this.trialFrom > 0) {
      if (rate >= (1 + this.rateGain) * this.rateSince / this.windowsSince || starvedPerItem <= (1 - this.gain) * this.starvedPerItemSince / this.windowsSince) {
        if (++this.trialWins < 2) return
        this.record(this.concurrency, 'kept')
        this.failures = 0
      } else {
        this.record(this.trialFrom, 'reverted')
        this.cooldown = Math.min(64, 2 ** this.failures)
        this.failures++
      }
      return
    }
    this.rateSince += rate
    this.starvedPerItemSince += starvedPerItem
    this.windowsSince++
    if (this.cooldown > 0) { this.cooldown--; return }
    if (this.windowsSince >= 2 && starvedShare >= this.starvedShare && this.concurrency < this.max) {
      // Twice the concurrency, or straight to what the consumer takes per step (a power of two):
      // the calls in flight when a step starts are all that get done during it.
      const burst = median(this.bursts)
      const perStep = burst > 2 * this.concurrency ? 2 ** Math.ceil(Math.log2(burst)) : 0
      this.record(Math.min(this.max, Math.max(2 * this.concurrency, perStep)), 'trial')
    }
  }

  private record(to: number, reason: TuneStep['reason']): void {
    const from = reason === 'kept' ? this.trialFrom : this.concurrency
    this.steps.push({ atItem: this.delivered, from, to, reason })
    if (this.steps.length > 100) this.steps.shift()
    this.trialFrom = reason === 'trial' ? this.concurrency : 0
    this.trialWins = 0
    this.concurrency = to
    // A trial keeps the baseline it is judged against; any other change starts a new one.
    if (reason !== 'trial') { this.rateSince = 0; this.starvedPerItemSince = 0; this.windowsSince = 0 }
  }
}

/** The median of `xs` (the upper one of the middle two), 0 when empty. */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** A stage's `concurrency` and `maxConcurrency` options, checked: a fixed count, or `'auto'` with its tuner. */
export interface ConcurrencyChoice {
  /** The count to start with (1 with `'auto'`). */
  readonly concurrency: number
  readonly maxConcurrency: number
  readonly tuner: ConcurrencyTuner | undefined
}

/** Checks `concurrency` (an integer >= 1 or `'auto'`; default 1) and `maxConcurrency` (with `'auto'` only; default 64) for stage `where`. */
export function concurrencyChoice(where: string, options: { readonly concurrency?: number | 'auto', readonly maxConcurrency?: number }): ConcurrencyChoice {
  const auto = options.concurrency === 'auto'
  if (typeof options.concurrency === 'string' && !auto) throw new TypeError(`${where}: concurrency must be an integer >= 1 or 'auto', got ${JSON.stringify(options.concurrency)}`)
  const concurrency = auto ? 1 : options.concurrency ?? 1
  assertInteger(where, 'concurrency', concurrency, 1)
  const maxConcurrency = options.maxConcurrency ?? 64
  assertInteger(where, 'maxConcurrency', maxConcurrency, 1)
  if (!auto && options.maxConcurrency !== undefined) throw new TypeError(`${where}: maxConcurrency applies to concurrency: 'auto', got concurrency ${String(options.concurrency ?? 1)}`)
  return { concurrency, maxConcurrency, tuner: auto ? new ConcurrencyTuner({ max: maxConcurrency }) : undefined }
}

/**
 * With a tuner: `op` gains `autotune`, and its label (which `Dataset.summary()`
 * reads when called) says the concurrency chosen so far, `label(now)`.
 */
export function withAutotune<T extends object>(op: T, tuner: ConcurrencyTuner | undefined, label: (now: string) => string): T {
  if (tuner === undefined) return op
  Object.defineProperty(op, 'label', { get: () => label(`auto: ${tuner.concurrency} now, at most ${tuner.max}`), enumerable: true })
  return Object.assign(op, { autotune: tuner as AutotuneState })
}
