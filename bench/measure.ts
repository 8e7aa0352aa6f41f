// Small measuring helpers the benchmarks share.
import { readFileSync } from 'node:fs'

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/**
 * One thread's CPU time in seconds (Linux: /proc/self/task/TID/stat's utime + stime,
 * in clock ticks of 10 ms); throws where there is no such file (another OS, a thread that ended).
 */
export function threadCpuSeconds(tid: string | number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
