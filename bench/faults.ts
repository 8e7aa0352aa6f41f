// npm run bench:faults: what fresh memory costs on this machine, and how much of it each pipeline
// pays per image. The Keras Sequence peer ran at 268-459 images/s on one 2-core machine and at
// 163-193 on another where everything else ran faster; this shows why. Side by side in one run:
//
// - one page fault: the time to touch each 4 KiB page of a fresh 256 MB buffer, never written
//   before (median of 5 buffers);
// - each pipeline run twice, for 1 epoch and for --epochs: the difference between
//   the two runs, over the images of the extra epochs, is what an epoch past the first costs per
//   image (start-up and the first epoch cancel out): minor page faults, kernel CPU and user CPU;
// - rows: tfpipe's fit (the bench's), the tf.data and Keras Sequence peers, and the Keras peer
//   again with glibc's malloc kept from handing memory back to the kernel (MALLOC_MMAP_THRESHOLD_,
//   MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_): the peer where fresh memory is not what holds it back.
//
// Each child's page faults and CPU are what this process's /proc/self/stat counts for the children
// it has waited for (cminflt, cutime, cstime), read before and after it: Linux only, no other tool.
//
// usage: npm run bench:faults -- [--count 2000] [--epochs 3]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { compiledFit } from './compile.js'
import { median, procStat, TICKS_PER_S } from './measure.js'
import { pythonPeer, pythonPeerRows, runJson, type Row } from './runs.js'

const { values: o } = parseArgs({ options: {
  count: { type: 'string', default: '2000' }, epochs: { type: 'string', default: '3' },
} })
const epochs = Number(o.epochs)
if (!(Number.isInteger(epochs) && epochs >= 2)) throw new Error(`bench:faults: --epochs must be an integer of at least 2, got ${o.epochs}`)
const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const shared = resolve(root, '..', 'shared', 'bench')
const corpus = join(root, 'bench', `corpus-${o.count}`)
if (!existsSync(join(corpus, 'labels.csv'))) throw new Error(`bench:faults: ${corpus} does not exist (npm run bench -- --count ${o.count} makes it)`)
if (!existsSync('/proc/self/stat')) throw new Error('bench:faults: reads /proc/self/stat, which this system does not have (Linux only)')

/** What this process's waited-for children have used so far: minor page faults (cminflt), user and kernel CPU seconds (cutime, cstime). */
function children(): { faults: number, userS: number, sysS: number } {
  const at = procStat('/proc/self/stat')
  return { faults: at(11), userS: at(16) / TICKS_PER_S, sysS: at(17) / TICKS_PER_S }
}

/**
 * One page fault: microseconds to touch one 4 KiB page of memory never written before, and how
 * much of that this process's CPU time counts as kernel and as user time (medians of 5 buffers).
 */
function pageFault(): { us: number, kernelUs: number, userUs: number } {
  const size = 256 << 20
  const pages = size / 4096
  const wall: number[] = []
  const kernel: number[] = []
  const user: number[] = []
  for (let k = 0; k < 5; k++) {
    const b = Buffer.allocUnsafeSlow(size) // not zero-filled: the first write to each page faults it in
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < size; i += 4096) b[i] = 1
    wall.push(Number(process.hrtime.bigint() - t0) / 1e3 / pages)
    const c = process.cpuUsage(c0)
    kernel.push(c.system / pages)
    user.push(c.user / pages)
  }
  return { us: median(wall), kernelUs: median(kernel), userUs: median(user) }
}

interface Usage { faults: number, sysS: number, userS: number, images: number, imagesPerS: number }

/** Runs the program for `n` epochs; undefined when it failed (runJson says why on stderr). */
function usage(row: Row, n: number): Usage | undefined {
  const before = children()
  const r = runJson('bench:faults', root, row.cmd, [...row.args, '--epochs', String(n)], `${row.what}, ${n} epoch${n === 1 ? '' : 's'}`, row.env)
  const after = children()
  if (r === undefined) return undefined
  return {
    faults: after.faults - before.faults, sysS: after.sysS - before.sysS, userS: after.userS - before.userS,
    images: Number(r.images), imagesPerS: Number(r.images_per_s),
  }
}

const python = pythonPeer('bench:faults', shared)
const rows: Row[] = [{ name: 'tfpipe fit', what: 'tfpipe fit', cmd: process.execPath, args: [await compiledFit(root), corpus] }]
if (python !== undefined) rows.push(...pythonPeerRows(python, shared, corpus))

const fault = pageFault()
const faultUs = fault.us
interface PerImage { name: string, imagesPerS: number, faultsPerImage: number, sysMsPerImage: number, userMsPerImage: number }
const results = rows.map((row): PerImage | { name: string } => {
  const one = usage(row, 1)
  const many = usage(row, epochs)
  if (one === undefined || many === undefined) return { name: row.name }
  const extra = many.images * (epochs - 1)
  return {
    name: row.name,
    imagesPerS: many.imagesPerS,
    faultsPerImage: (many.faults - one.faults) / extra,
    sysMsPerImage: ((many.sysS - one.sysS) / extra) * 1e3,
    userMsPerImage: ((many.userS - one.userS) / extra) * 1e3,
  }
})

console.log(`\none page fault (a 4 KiB page of a fresh 256 MB buffer, median of 5): ${faultUs.toFixed(2)} us, of which this process's CPU time counts ${fault.kernelUs.toFixed(2)} us as kernel and ${fault.userUs.toFixed(2)} us as user time\n`)
console.log('per image, in the epochs past the first (the runs of 1 and of ' + `${epochs} epochs, their difference):\n`)
console.log('| pipeline | images/s | page faults | kernel CPU ms | user CPU ms | kernel share | faults x one fault, ms |')
console.log('|---|---|---|---|---|---|---|')
for (const r of results) {
  if (!('imagesPerS' in r)) { console.log(`| ${r.name} | failed | | | | | |`); continue }
  const share = r.sysMsPerImage / (r.sysMsPerImage + r.userMsPerImage)
  console.log(`| ${r.name} | ${r.imagesPerS.toFixed(0)} | ${r.faultsPerImage.toFixed(1)} | ${r.sysMsPerImage.toFixed(2)} | ${r.userMsPerImage.toFixed(2)} | ${(share * 100).toFixed(0)}% | ${(r.faultsPerImage * faultUs / 1e3).toFixed(2)} |`)
}
console.log('\n(Start-ups differ by a few hundred faults from run to run, so a figure near 0 can come out just below it.)')
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
const file = join(root, 'bench', 'results', `faults-${o.count}.json`)
writeFileSync(file, JSON.stringify({ count: Number(o.count), epochs, date: new Date().toISOString(), pageFaultMicros: faultUs, pageFaultKernelMicros: fault.kernelUs, pageFaultUserMicros: fault.userUs, results }, null, 2))
console.log(`\nwritten: ${file}`)
