/** What a stage skipped under `onError: 'skip'`: counted and listed, never silent. */
export interface SkippedItem {
  /** The stage that skipped it. */
  readonly stage: string
  /** The item's position in its pass. */
  readonly index: number
  /** The item's path when it has one, else a short description. */
  readonly item: string
  readonly reason: string
}

/** Decides what a failed item does: skip it, or stop (rethrow). */
export type ErrorPolicy = 'stop' | 'skip' | ((error: unknown, item: unknown, index: number) => 'skip' | 'stop')

/** The record of one stage's skipped items (the first `keep` listed in full, all counted). */
export class SkipLog {
  readonly stage: string
  count = 0
  readonly items: SkippedItem[] = []
  readonly #keep: number

  constructor(stage: string, keep = 1000) {
    this.stage = stage
    this.#keep = keep
  }

  record(index: number, item: unknown, error: unknown): SkippedItem {
    const entry: SkippedItem = { stage: this.stage, index, item: describeItem(item, index), reason: error instanceof Error ? error.message : String(error) }
    this.count++
    if (this.items.length < this.#keep) this.items.push(entry)
    return entry
  }
}

export function describeItem(item: unknown, index: number): string {
  if (typeof item === 'string') return item
  if (typeof item === 'object' && item !== null && typeof (item as { path?: unknown }).path === 'string') return (item as { path: string }).path
  return `item ${index}`
}
