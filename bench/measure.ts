// Small measuring helpers the benchmarks share.
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { constants, PerformanceObserver } from 'node:perf_hooks'

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** The whole process's CPU time (every thread's, user and system) since `from`, in seconds. */
export function cpuSince(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from)
  return (u.user + u.system) / 1e6
}

/** The standard deviation of `xs` over their median (NaN when empty). */
export function spread(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length) / median(xs)
}

/** One thread's name (Linux: /proc/self/task/TID/comm); undefined where there is no such file (another OS, a thread that ended). */
export function threadName(tid: string | number): string | undefined {
  try { return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() } catch { return undefined }
}

/** The ids of this process's threads (Linux: /proc/self/task); throws where there is no such folder. */
export function threadIds(): string[] {
  return readdirSync('/proc/self/task')
}

/**
 * The overlap ratio the CPU alone allows: the in-memory and pipeline-alone epochs' CPU seconds
 * spread over every core, against the longer of the two epochs (at least 1).
 */
export function cpuFloor(inMemoryS: number, inMemoryCpuS: number, inputOnlyS: number, inputOnlyCpuS: number): number {
  return Math.max(1, (inMemoryCpuS + inputOnlyCpuS) / availableParallelism() / Math.max(inMemoryS, inputOnlyS))
}

/**
 * What an overlap goal leaves the input pipeline, in CPU milliseconds per image (at least 0): on
 * busy cores fit's epoch takes about the in-memory epoch's CPU and the pipeline's spread over the
 * cores, so for it to take at most `goal` times the longer of the two epochs, the pipeline may cost
 * at most goal x cores x that epoch, less the in-memory epoch's CPU. It assumes perfect overlap, so
 * a real fit needs the pipeline below it.
 */
export function overlapBudgetMs(inMemoryS: number, inMemoryCpuS: number, inputOnlyS: number, images: number, cores: number, goal = 1.1): number {
  return Math.max(0, goal * cores * Math.max(inMemoryS, inputOnlyS) - inMemoryCpuS) / images * 1000
}

/** Linux's USER_HZ: the unit of the CPU times in /proc/.../stat (100 on every architecture Node runs on). */
export const TICKS_PER_S = 100

/**
 * A /proc stat file's fields as numbers, by the numbers proc(5) gives them (14 is utime); throws
 * where there is no such file (another OS, a thread that ended).
 */
export function procStat(path: string): (field: number) => number {
  const stat = readFileSync(path, 'utf8')
  // After the command name, in parentheses (which may hold spaces): field 3 (state) on.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (field) => Number(f[field - 3])
}

/** One thread's CPU time in seconds (Linux: /proc/self/task/TID/stat's utime + stime). */
export function threadCpuSeconds(tid: string | number): number {
  const at = procStat(`/proc/self/task/${tid}/stat`)
  return (at(14) + at(15)) / TICKS_PER_S
}

/**
 * Records V8's major collections (mark-compact) from now on, as Node's `gc` performance entries:
 * `count(from, to)` gives how many started between two `performance.now()` readings. Entries
 * arrive after the collection, so `stop()` waits 100 ms for the last ones before it ends the
 * recording; count the last window after it.
 */
export function majorGcs(): { count(from: number, to: number): number, stop(): Promise<void> } {
  const starts: number[] = []
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) starts.push(e.startTime)
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  return {
    count: (from, to) => starts.filter((t) => t >= from && t < to).length,
    stop: async () => {
      await new Promise((resolve) => setTimeout(resolve, 100))
      observer.disconnect()
    },
  }
}
