/** The Keras-style progress display, written to any stream (a terminal, or a fake one in specs). */

export interface ProgressOutput {
  write(chunk: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

export type Logs = Readonly<Record<string, number>>

export interface EpochEnd {
  readonly epoch: number
  readonly epochs: number
  readonly steps: number
  readonly seconds: number
  readonly waitShare: number
  readonly logs: Logs
  readonly skipped?: number
}

const now = (): number => performance.now()

/**
 * verbose 1 on a terminal: a bar redrawn in place with steps, ETA, metrics and
 * the share of time spent waiting for data; off a terminal, and with verbose 2,
 * one line per epoch.
 */
export class Progress {
  readonly #out: ProgressOutput
  readonly #verbose: 0 | 1 | 2
  readonly #live: boolean
  #total: number | undefined
  #epoch = 0
  #epochs = 1
  #start = 0
  #lastDraw = 0

  constructor(out: ProgressOutput, verbose: 0 | 1 | 2) {
    this.#out = out
    this.#verbose = verbose
    this.#live = verbose === 1 && out.isTTY === true
  }

  line(text: string): void {
    if (this.#verbose !== 0) this.#out.write(`${text}\n`)
  }

  epochBegin(epoch: number, epochs: number, total: number | undefined): void {
    this.#epoch = epoch
    this.#epochs = epochs
    this.#total = total
    this.#start = now()
    this.#lastDraw = 0
    if (this.#live) this.#out.write(`Epoch ${epoch + 1}/${epochs}\n`)
  }

  batchEnd(step: number, logs: Logs, waitShare: number): void {
    if (!this.#live) return
    const t = now()
    if (t - this.#lastDraw < 100 && step !== this.#total) return // at most 10 redraws a second
    this.#lastDraw = t
    const elapsed = (t - this.#start) / 1000
    const total = this.#total
    const width = Math.max(10, Math.min(30, (this.#out.columns ?? 80) - 80))
    let head: string
    if (total !== undefined && total > 0) {
      const done = Math.min(1, step / total)
      const filled = Math.floor(done * width)
      const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done >= 1 ? '=' : '>') : '') + '.'.repeat(width - filled)
      const eta = done > 0 ? elapsed / done - elapsed : 0
      head = `${String(step).padStart(String(total).length)}/${total} [${bar}] - ETA: ${formatSeconds(eta)}`
    } else {
      head = `${step}/unknown - ${formatSeconds(elapsed)}`
    }
    this.#out.write(`\r${head}${formatLogs(logs)} - wait: ${formatShare(waitShare)}\x1b[K`)
  }

  epochEnd(e: EpochEnd): void {
    if (this.#verbose === 0) return
    const skipped = e.skipped !== undefined && e.skipped > 0 ? ` - skipped: ${e.skipped}` : ''
    const summary = `${e.steps}/${e.steps} - ${formatSeconds(e.seconds)} ${Math.round((e.seconds * 1000) / Math.max(1, e.steps))}ms/step${formatLogs(e.logs)} - wait: ${formatShare(e.waitShare)}${skipped}`
    if (this.#live) this.#out.write(`\r${summary}\x1b[K\n`)
    else this.#out.write(`Epoch ${e.epoch + 1}/${e.epochs} - ${summary}\n`)
  }
}

function formatLogs(logs: Logs): string {
  const entries = Object.entries(logs)
  const ordered = [...entries.filter(([k]) => !k.startsWith('val_')), ...entries.filter(([k]) => k.startsWith('val_'))]
  return ordered.map(([k, v]) => ` - ${k}: ${formatNumber(v)}`).join('')
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3)
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?'
  if (s < 60) return `${Math.round(s)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${String(Math.round(s % 60)).padStart(2, '0')}`
}

function formatShare(x: number): string {
  return `${Math.round(x * 100)}%`
}
