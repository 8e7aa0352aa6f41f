/**
 * The tuner behind `map(fn, { concurrency: 'auto' })`, like tf.data's
 * AUTOTUNE for a parallel map: it raises the number of calls running while
 * the consumer waits on busy calls and raising it delivers more items per
 * second, and falls back when it does not.
 *
 * It works in windows of delivered items (at least `minWindowMs` long and
 * twice the current concurrency in items). At the end of a window:
 * - the first window of each pass (epoch) only warms up: its rate includes
 *   the pipeline filling, so it is neither a baseline nor a verdict;
 * - in a trial (the concurrency was just raised): if throughput rose by at
 *   least `gain` against the window before the raise, in each of two windows
 *   (one alone is too often noise on a busy machine), the raise is kept; otherwise the
 *   concurrency goes back, and the next try waits twice as many windows as
 *   the last (1, 2, 4 ... up to 64), since conditions change (another stage
 *   slows down, the model's steps change the CPU left over);
 * - otherwise, if the consumer spent at least `starvedShare` of the window
 *   waiting while every allowed call was running, a trial starts at twice
 *   the concurrency (at most `max`): a doubling moves throughput by more than
 *   the noise between windows where it helps at all.
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
  /** A raise is kept when throughput grows by this share. Default 0.05. */
  readonly gain?: number
  /** Share of a window spent waiting on busy calls that starts a trial. Default 0.05. */
  readonly starvedShare?: number
  /** Clock in ms (for tests). Default `performance.now`. */
  readonly now?: () => number
}

/** One change of concurrency, as recorded by the tuner. */
export interface TuneStep {
  /** Items delivered before the change (across epochs). */
  readonly atItem: number
  readonly from: number
  readonly to: number
  /** `trial`: raised to try; `kept`: the raise delivered more; `reverted`: it did not. */
  readonly reason: 'trial' | 'kept' | 'reverted'
}

/** What `map(fn, { concurrency: 'auto' })` chose so far, exposed on the operator as `autotune`. */
export interface AutotuneState {
  /** Calls allowed to run at once now. */
  readonly concurrency: number
  /** The bound given by `maxConcurrency`. */
  readonly max: number
  /** Every change so far (kept to the last 100). */
  readonly steps: readonly TuneStep[]
}

export class ConcurrencyTuner implements AutotuneState {
  concurrency: number
  readonly max: number
  readonly steps: TuneStep[] = []
  private readonly minWindowMs: number
  private readonly gain: number
  private readonly starvedShare: number
  private readonly now: () => number
  private delivered = 0
  private windowStart = -1
  private windowItems = 0
  private starvedMs = 0
  private waitStart = -1
  private trialFrom = 0
  private trialWins = 0
  private warmingUp = false
  private baseline = 0
  private cooldown = 0
  private failures = 0

  constructor(options: TunerOptions) {
    this.max = options.max
    this.concurrency = Math.min(options.start ?? 1, options.max)
    this.minWindowMs = options.minWindowMs ?? 100
    this.gain = options.gain ?? 0.05
    this.starvedShare = options.starvedShare ?? 0.05
    this.now = options.now ?? (() => performance.now())
  }

  /** A pass (epoch) starts: the window restarts, the concurrency carries over. */
  begin(): void {
    this.windowStart = this.now()
    this.windowItems = 0
    this.starvedMs = 0
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
  }

  /** The consumer stops waiting (an item is ready, or the pass ends). */
  waited(): void {
    if (this.waitStart >= 0) this.starvedMs += this.now() - this.waitStart
    this.waitStart = -1
  }

  /** An item went to the consumer; may change `concurrency`. */
  deliver(): void {
    this.delivered++
    this.windowItems++
    if (this.windowItems < 2 * this.concurrency) return
    const t = this.now()
    const elapsed = t - this.windowStart
    if (elapsed < this.minWindowMs) return
    const rate = this.windowItems / elapsed
    const starved = this.starvedMs / elapsed
    this.windowStart = t
    this.windowItems = 0
    this.starvedMs = 0
    if (this.warmingUp) { this.warmingUp = false; return }
    if (this.trialFrom > 0) {
      if (rate >= this.baseline * (1 + this.gain)) {
        if (++this.trialWins < 2) return
        this.record(this.concurrency, 'kept')
        this.failures = 0
        this.baseline = rate
      } else {
        this.record(this.trialFrom, 'reverted')
        this.cooldown = Math.min(64, 2 ** this.failures)
        this.failures++
      }
      return
    }
    this.baseline = rate
    if (this.cooldown > 0) { this.cooldown--; return }
    if (starved >= this.starvedShare && this.concurrency < this.max) {
      this.record(Math.min(this.max, 2 * this.concurrency), 'trial')
    }
  }

  private record(to: number, reason: TuneStep['reason']): void {
    const from = reason === 'kept' ? this.trialFrom : this.concurrency
    this.steps.push({ atItem: this.delivered, from, to, reason })
    if (this.steps.length > 100) this.steps.shift()
    this.trialFrom = reason === 'trial' ? this.concurrency : 0
    this.trialWins = 0
    this.concurrency = to
  }
}
