import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { filter, flatMap, map, pipe, toArray } from '../../lib/index.js'
import { ConcurrencyTuner } from '../../lib/internal/tune.js'
import { Rng } from '../../lib/internal/rng.js'
import { collect, deferred, range, spy, ticks } from '../helpers.js'

/** A tuner on a fake clock (`clock.t`, in ms; `clock.idle`: the event loop's idle time so far). */
function fakeTuner(max: number, start = 1): { tuner: ConcurrencyTuner, clock: { t: number, idle: number } } {
  const clock = { t: 0, idle: 0 }
  return { tuner: new ConcurrencyTuner({ max, start, now: () => clock.t, idleNow: () => clock.idle }), clock }
}

/**
 * Runs `items` items through a tuner on a fake clock: for each, the consumer
 * waits `costMs(concurrency)` on busy calls, then the item is delivered.
 * Returns the concurrency after each item.
 */
function simulate(max: number, items: number, costMs: (concurrency: number) => number): { tuner: ConcurrencyTuner, seen: number[] } {
  const { tuner, clock } = fakeTuner(max)
  const seen: number[] = []
  tuner.begin()
  for (let i = 0; i < items; i++) {
    tuner.waiting(true)
    const ms = costMs(tuner.concurrency)
    clock.t += ms
    clock.idle += ms
    tuner.waited()
    tuner.deliver()
    seen.push(tuner.concurrency)
  }
  tuner.end()
  return { tuner, seen }
}

describe('ConcurrencyTuner (fake clock)', () => {
  it('raises the concurrency while throughput grows with it, up to max, keeping each raise', () => {
    // I/O-like calls: each takes 10 ms, so c calls at once deliver one item per 10/c ms.
    const { tuner } = simulate(12, 3000, (c) => 10 / c)
    assert.equal(tuner.concurrency, 12)
    assert.ok(tuner.steps.every((s) => s.reason !== 'reverted'), JSON.stringify(tuner.steps))
    assert.deepEqual(tuner.steps.filter((s) => s.reason === 'kept').map((s) => s.to), [2, 4, 8, 12])
  })

  it('goes back when a raise delivers no more, and waits longer before each new try', () => {
    // CPU-bound calls on one core: the rate does not depend on the concurrency.
    const { tuner, seen } = simulate(16, 5000, () => 2)
    assert.equal(tuner.concurrency, 1)
    assert.ok(seen.every((c) => c <= 2), 'only ever tried 2')
    const trials = tuner.steps.filter((s) => s.reason === 'trial')
    assert.ok(trials.length >= 3, `${trials.length} trials`)
    assert.equal(tuner.steps.filter((s) => s.reason === 'reverted').length, trials.length)
    // Windows of 100 ms are 50 items here: the gaps between trials double (1, 2, 4... windows of rest).
    const gaps = trials.slice(1).map((s, i) => s.atItem - (trials[i]?.atItem ?? 0))
    for (let i = 1; i < gaps.length; i++) assert.ok((gaps[i] ?? 0) > (gaps[i - 1] ?? 0), `gaps grow: ${gaps.join(', ')}`)
  })

  it('stops where the throughput levels off (a resource that serves 4 at once)', () => {
    const { tuner } = simulate(64, 6000, (c) => 10 / Math.min(c, 4))
    assert.ok(tuner.concurrency >= 4 && tuner.concurrency <= 6, `settled at ${tuner.concurrency}`)
  })

  it('undoes a trial an epoch cut short, and does not take the first window of an epoch as a baseline', () => {
    const { tuner, clock } = fakeTuner(16)
    const item = (ms: number) => { tuner.waiting(true); clock.t += ms; clock.idle += ms; tuner.waited(); tuner.deliver() }
    tuner.begin()
    while (tuner.steps.length === 0) item(2)
    assert.deepEqual(tuner.steps.map((s) => [s.from, s.to, s.reason]), [[1, 2, 'trial']])
    tuner.end()
    assert.deepEqual(tuner.steps.map((s) => [s.from, s.to, s.reason]), [[1, 2, 'trial'], [2, 1, 'reverted']])
    assert.equal(tuner.concurrency, 1)
    // The next epoch starts slowly (the pipeline filling: 10x the cost), then runs at a rate no concurrency changes.
    // Taken as a baseline, that slow start would make the next trial look like a gain.
    tuner.begin()
    for (let i = 0; i < 5; i++) item(20) // one window of 100 ms
    for (let i = 0; i < 2000; i++) item(2)
    tuner.end()
    assert.equal(tuner.concurrency, 1)
    assert.ok(!tuner.steps.some((s) => s.reason === 'kept'), JSON.stringify(tuner.steps))
  })

  /**
   * A consumer that trains on batches of 32, as fit behind prefetch does: it waits through each
   * step of 35 ms (+-40%, seeded) holding the main thread (the event loop busy, not idle), while
   * the calls in flight finish on 2 workers; after the step it takes the `min(c, 32)` items done
   * and waits, idle, for each of the rest: 0.325 ms (the workers' rate), or `latencyMs / c` when
   * fewer calls run than keep the workers busy. `wholeWaits`: the tuner is told the whole of every
   * wait was idle (what it counted before). Returns the tuner after `batches`.
   */
  function trainingConsumer(seed: number, o: { start: number, batches: number, latencyMs?: number, wholeWaits?: boolean }): ConcurrencyTuner {
    const clock = { t: 0, idle: 0 }
    const tuner = new ConcurrencyTuner({ max: 64, start: o.start, now: () => clock.t, idleNow: () => o.wholeWaits === true ? clock.t : clock.idle })
    const rng = new Rng(seed)
    tuner.begin()
    for (let b = 0; b < o.batches; b++) {
      tuner.waiting(true)
      clock.t += 35 * (0.6 + 0.8 * rng.float()) // the step: the loop is busy
      tuner.waited()
      const ready = Math.min(tuner.concurrency, 32)
      for (let i = 0; i < 32; i++) {
        const per = Math.max(0.325, (o.latencyMs ?? 0) / tuner.concurrency)
        if (i >= ready) { tuner.waiting(true); clock.t += per; clock.idle += per; tuner.waited() }
        tuner.deliver()
      }
    }
    tuner.end()
    return tuner
  }

  it('raises for a consumer that trains between batches, judging by the idle part of its waits', () => {
    // At 16 the consumer waits, idle, 5.2 ms a batch (13% of the time); at 32 not at all. A 100 ms
    // window holds 2 or 3 batches, and its rate moves by a batch either way: the rate alone
    // cannot tell 16 from 32 on this scale of noise; the idle time can.
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = trainingConsumer(seed, { start: 16, batches: 2 * 2000 / 32 })
      assert.ok(t.concurrency >= 32, `seed ${seed}: settled at ${t.concurrency}: ${JSON.stringify(t.steps)}`)
    }
    // Counting the whole wait, through the steps (as before: every window starved, so only the rate judges):
    const whole = [1, 2, 3, 4, 5].map((seed) => trainingConsumer(seed, { start: 16, batches: 2 * 2000 / 32, wholeWaits: true }).concurrency)
    assert.ok(whole.some((c) => c < 32), `the rate alone kept 32 in every run: ${whole.join(', ')}`)
  })

  it('goes straight to what the consumer takes per step, within the first epoch', () => {
    // From 1, with 2 ms per call: doubling, each step from 2 to 16 cuts the idle wait by less
    // than a fifth and moves the rate by less than the noise. The waits through steps (the loop
    // busy) mark the batches: 32 items between them, so the first trial is 32.
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = trainingConsumer(seed, { start: 1, batches: 2000 / 32, latencyMs: 2 })
      assert.ok(t.concurrency >= 32, `seed ${seed}: ${JSON.stringify(t.steps)}`)
      assert.deepEqual(t.steps[0], { atItem: t.steps[0]?.atItem, from: 1, to: 32, reason: 'trial' })
    }
  })

  it('does not try more calls when the consumer only waits through its steps (the event loop busy)', () => {
    // At 32 the calls in flight cover a batch: every wait is a step, none of it idle.
    const t = trainingConsumer(1, { start: 32, batches: 2 * 2000 / 32 })
    assert.deepEqual(t.steps, [])
    // Its windows show why: the consumer waited through most of each, none of it idle.
    assert.ok(t.windows.length >= 20, `${t.windows.length} windows`)
    for (const w of t.windows) {
      assert.equal(w.concurrency, 32)
      assert.equal(w.starvedShare, 0)
      assert.ok(w.waitingShare > 0.9 && w.itemsPerSecond > 0, JSON.stringify(w))
    }
    // Counted whole, the same waits look like starvation, and it tries (and undoes) raises all along.
    const whole = trainingConsumer(1, { start: 32, batches: 2 * 2000 / 32, wholeWaits: true })
    assert.ok(whole.steps.filter((s) => s.reason === 'trial').length >= 3, JSON.stringify(whole.steps))
  })

  it('does not raise when the consumer does not wait on busy calls', () => {
    const { tuner, clock } = fakeTuner(16)
    tuner.begin()
    for (let i = 0; i < 2000; i++) {
      tuner.waiting(false) // waiting on the source, not on the calls
      clock.t += 5
      clock.idle += 5
      tuner.waited()
      tuner.deliver()
    }
    assert.equal(tuner.concurrency, 1)
    assert.deepEqual(tuner.steps, [])
  })
})

describe("map(fn, { concurrency: 'auto' })", () => {
  it('raises the calls in flight for slow I/O-like calls, within maxConcurrency, keeping order', async () => {
    let running = 0
    let peak = 0
    const op = map(async (x: number) => { running++; peak = Math.max(peak, running); await sleep(4); running--; return x }, { concurrency: 'auto', maxConcurrency: 8 })
    assert.deepEqual(await collect(op(range(1500))), range(1500))
    assert.ok(op.autotune.concurrency >= 4, `chose ${op.autotune.concurrency}: ${JSON.stringify(op.autotune.steps)}`)
    assert.ok(peak >= 4 && peak <= 8, `peak ${peak}`)
    assert.equal(op.autotune.max, 8)
  })

  it('stays low when a rate limit, not the calls in flight, sets the pace', async () => {
    // A resource that serves one call per 2 ms slot (a rate-limited API): more calls at once deliver nothing more.
    const t0 = performance.now()
    let slots = 0
    const limited = async (x: number): Promise<number> => {
      const at = t0 + 2 * ++slots
      await sleep(Math.max(0, at - performance.now()))
      return x
    }
    const op = map(limited, { concurrency: 'auto' })
    assert.deepEqual(await collect(op(range(600))), range(600))
    assert.ok(op.autotune.concurrency <= 2, `chose ${op.autotune.concurrency}: ${JSON.stringify(op.autotune.steps)}`)
    assert.ok(op.autotune.steps.some((s) => s.reason === 'reverted'), 'tried a raise and went back')
  })

  it('carries the chosen concurrency into the next epoch', async () => {
    let running = 0
    let peak = 0
    const op = map(async (x: number) => { running++; peak = Math.max(peak, running); await sleep(3); running--; return x }, { concurrency: 'auto', maxConcurrency: 6 })
    const ds = pipe(range(1000), op)
    await toArray(ds)
    const chosen = op.autotune.concurrency
    assert.ok(chosen >= 3, `chose ${chosen}`)
    // Starting again from 1, the first 12 items (36 ms at 1, under one 100 ms window) would run one at a time.
    peak = 0
    const it = ds[Symbol.asyncIterator]()
    for (let i = 0; i < 12; i++) await it.next()
    await it.return?.()
    assert.ok(peak >= chosen, `peak ${peak} in the second epoch's first items, chosen ${chosen}`)
  })

  it('never pulls more than twice maxConcurrency ahead of the consumer', async () => {
    const source = spy<number>()
    const gate = deferred()
    const it = map(async (x: number) => { await gate.promise; return x }, { concurrency: 'auto', maxConcurrency: 3 })(source)
    const first = it.next()
    await ticks(30)
    assert.ok(source.pulls <= 3)
    gate.resolve()
    await first
    for (let consumed = 1; consumed < 50; consumed++) {
      await ticks(3)
      assert.ok(source.pulls - consumed <= 6, `ahead ${source.pulls - consumed}`)
      await it.next()
    }
    await it.return()
  })

  it('rejects bad arguments at call time', () => {
    assert.throws(() => map((x) => x, { concurrency: 'fast' as never }), /map: concurrency must be an integer >= 1 or 'auto', got "fast"/)
    assert.throws(() => map((x) => x, { concurrency: 'auto', maxConcurrency: 0 }), /map: maxConcurrency must be an integer >= 1, got 0/)
    assert.throws(() => map((x) => x, { concurrency: 4, maxConcurrency: 8 }), /maxConcurrency applies to concurrency: 'auto', got concurrency 4/)
  })

  it('works with onError skip: skipped items are listed, the tuner still climbs', async () => {
    const op = map(async (x: number) => { await sleep(3); if (x % 100 === 7) throw new Error(`bad ${x}`); return x }, { concurrency: 'auto', onError: 'skip', maxConcurrency: 4 })
    const ds = pipe(range(800), op)
    const out = await toArray(ds)
    assert.equal(out.length, 792)
    assert.equal(ds.skipLogs[0]?.count, 8)
    assert.ok(op.autotune.concurrency >= 2, `chose ${op.autotune.concurrency}`)
  })

  it('names the choice so far in the label and in the dataset\'s summary', async () => {
    const op = map(async function wait(x: number) { await sleep(3); return x }, { concurrency: 'auto', maxConcurrency: 4 })
    assert.equal(op.label, 'map(wait, concurrency auto: 1 now, at most 4)')
    const ds = pipe(range(600), op)
    assert.match(ds.summary(), /map\(wait, concurrency auto: 1 now, at most 4\)/)
    await toArray(ds)
    assert.ok(op.autotune.concurrency > 1)
    assert.match(ds.summary(), new RegExp(`map\\(wait, concurrency auto: ${op.autotune.concurrency} now, at most 4\\)`))
  })
})

describe("filter and flatMap with concurrency: 'auto'", () => {
  it('filter raises the predicate calls in flight for slow I/O-like predicates, within maxConcurrency, keeping order', async () => {
    let running = 0
    let peak = 0
    const op = filter(async (x: number) => { running++; peak = Math.max(peak, running); await sleep(4); running--; return x % 3 === 0 }, { concurrency: 'auto', maxConcurrency: 8 })
    assert.deepEqual(await collect(op(range(1500))), range(1500).filter((x) => x % 3 === 0))
    assert.ok(op.autotune.concurrency >= 4, `chose ${op.autotune.concurrency}: ${JSON.stringify(op.autotune.steps)}`)
    assert.ok(peak >= 4 && peak <= 8, `peak ${peak}`)
    assert.equal(op.autotune.max, 8)
  })

  it('flatMap raises the calls in flight for slow I/O-like calls, within maxConcurrency, keeping order', async () => {
    let running = 0
    let peak = 0
    const op = flatMap(async (x: number) => { running++; peak = Math.max(peak, running); await sleep(4); running--; return [x, -x] }, { concurrency: 'auto', maxConcurrency: 8 })
    assert.deepEqual(await collect(op(range(1500))), range(1500).flatMap((x) => [x, -x]))
    assert.ok(op.autotune.concurrency >= 4, `chose ${op.autotune.concurrency}: ${JSON.stringify(op.autotune.steps)}`)
    assert.ok(peak >= 4 && peak <= 8, `peak ${peak}`)
  })

  it('stays at 1 for a synchronous predicate, which more calls cannot speed up', async () => {
    const op = filter((x: number) => x % 2 === 0, { concurrency: 'auto' })
    assert.equal((await collect(op(range(20000)))).length, 10000)
    assert.ok(op.autotune.concurrency <= 2, `chose ${op.autotune.concurrency}: ${JSON.stringify(op.autotune.steps)}`)
  })

  it('names the choice so far in the label', async () => {
    const op = filter(async function even(x: number) { await sleep(3); return x % 2 === 0 }, { concurrency: 'auto', maxConcurrency: 4 })
    assert.equal(op.label, 'filter(even, concurrency auto: 1 now, at most 4)')
    const inner = flatMap(async function twice(x: number) { await sleep(3); return [x, x] }, { concurrency: 'auto', maxConcurrency: 4 })
    assert.equal(inner.label, 'flatMap(twice, concurrency auto: 1 now, at most 4)')
    const ds = pipe(range(600), op)
    await toArray(ds)
    assert.ok(op.autotune.concurrency > 1)
    assert.match(ds.summary(), new RegExp(`filter\\(even, concurrency auto: ${op.autotune.concurrency} now, at most 4\\)`))
    assert.equal(filter((x: number) => x > 0, { concurrency: 4 }).label, 'filter(fn)')
  })

  it('rejects bad arguments at call time', () => {
    assert.throws(() => filter((x) => x, { concurrency: 'fast' as never }), /filter: concurrency must be an integer >= 1 or 'auto', got "fast"/)
    assert.throws(() => filter((x) => x, { concurrency: 2, maxConcurrency: 8 }), /filter: maxConcurrency applies to concurrency: 'auto', got concurrency 2/)
    assert.throws(() => flatMap((x: number) => [x], { concurrency: 'auto', maxConcurrency: 0 }), /flatMap: maxConcurrency must be an integer >= 1, got 0/)
    assert.throws(() => flatMap((x: number) => [x], { concurrency: 0 }), /flatMap: concurrency must be an integer >= 1, got 0/)
  })
})
