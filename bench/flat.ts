// bench/flat: is a fit's peak RSS flat in the data set's size? Issue #6 asks for the
// 20 000-image corpus within 10% of the 2 000-image one. Runs the bench's compiled fit
// (csv -> shuffle('all') -> map(imageSample) -> batch(32) -> prefetch(2) -> fit, 224x224,
// the tiny model) on both corpora in alternating pairs, the same number of epochs each, and
// the tfjs-data peer the same way, side by side in one run. For every run it also reads
// V8's own trace (--trace-gc-nvp): the bytes its scavenges moved to the old generation,
// per image, and the full collections. Objects that reach the old generation stay there,
// live or not, until a full collection, and V8 makes few of those in a fit: the longer run
// (20 000 images x 2 epochs = 20 epochs of 2 000) then peaks higher with nothing more held.
// --gc adds pairs with a full collection every second (node --expose-gc), a diagnostic
// only: what is left of the difference when that garbage does not pile up.
// Prints the table and writes bench/results/flat.json.
// usage: npm run bench:flat -- [--pairs 3] [--epochs 2] [--gc] [--no-peer]
//   (needs bench/corpus-2000 and bench/corpus-20000: npm run bench, npm run bench -- --count 20000)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compiledFit } from './compile.js'
import { median } from './measure.js'

const { values: o } = parseArgs({ options: {
  pairs: { type: 'string', default: '3' }, epochs: { type: 'string', default: '2' },
  gc: { type: 'boolean', default: false }, 'no-peer': { type: 'boolean', default: false },
} })
const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const small = join(root, 'bench', 'corpus-2000')
const large = join(root, 'bench', 'corpus-20000')
for (const [c, how] of [[small, 'npm run bench'], [large, 'npm run bench -- --count 20000']] as const) {
  if (!existsSync(join(c, 'labels.csv'))) throw new Error(`bench:flat: ${c} does not exist; \`${how}\` makes it`)
}
const peer = resolve(root, '..', 'shared', 'bench', 'peers', 'tfjs_data.mjs')
const withPeer = !o['no-peer'] && existsSync(peer)
if (!o['no-peer'] && !withPeer) process.stderr.write(`bench:flat: ${peer} not found; the tfjs-data peer is left out\n`)
const fitJs = await compiledFit(root)
const pairs = Number(o.pairs)
const epochs = o.epochs

interface Run { peakMb: number, imagesPerS: number, promotedMb: number, fullGcs: number }

function run(what: string, args: string[]): Run {
  process.stderr.write(`bench:flat: ${what} ...\n`)
  const r = spawnSync(process.execPath, ['--trace-gc-nvp', ...args, '--epochs', epochs], { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } })
  const out = r.stdout.split('\n')
  const line = out.slice().reverse().find((l) => l.startsWith('{'))
  if (r.status !== 0 || line === undefined) throw new Error(`bench:flat: ${what} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  const result = JSON.parse(line) as { peak_rss_mb: number, images_per_s: number }
  let promoted = 0
  let fullGcs = 0
  for (const l of out) {
    if (l.includes('gc=s ')) promoted += Number(/ promoted=(\d+)/.exec(l)?.[1] ?? 0)
    else if (l.includes('gc=mc ')) fullGcs++
  }
  return { peakMb: result.peak_rss_mb, imagesPerS: result.images_per_s, promotedMb: promoted / 2 ** 20, fullGcs }
}

const gcEverySecond = '--import=data:text/javascript,setInterval(() => globalThis.gc(), 1000).unref()'
type Variant = { name: string, args: (corpus: string) => string[] }
const variants: Variant[] = [{ name: 'tfpipe fit', args: (c) => [fitJs, c] }]
if (o.gc) variants.push({ name: 'tfpipe fit, full collection every second (diagnostic)', args: (c) => ['--expose-gc', gcEverySecond, fitJs, c] })
if (withPeer) variants.push({ name: 'tfjs-data + fitDataset', args: (c) => [peer, c] })

const results: Array<{ name: string, large: Run[], small: Run[] }> = variants.map((v) => ({ name: v.name, large: [], small: [] }))
for (let p = 0; p < pairs; p++) {
  // The pairs alternate which corpus goes first, and the variants take turns, so a slow or
  // memory-hungry spell of a shared machine falls on both sides.
  for (const [i, v] of variants.entries()) {
    const order = p % 2 === 0 ? [large, small] : [small, large]
    for (const c of order) {
      const r = run(`${v.name}, ${c === large ? '20 000' : '2 000'} images, pair ${p + 1}`, v.args(c))
      const into = results[i] as { large: Run[], small: Run[] }
      ;(c === large ? into.large : into.small).push(r)
    }
  }
}

const rows = results.map((r) => {
  const l = median(r.large.map((x) => x.peakMb))
  const s = median(r.small.map((x) => x.peakMb))
  const promotedLargeMb = median(r.large.map((x) => x.promotedMb))
  const promotedSmallMb = median(r.small.map((x) => x.promotedMb))
  return {
    name: r.name, largeMb: l, smallMb: s, growth: l / s - 1,
    largeRuns: r.large.map((x) => x.peakMb), smallRuns: r.small.map((x) => x.peakMb),
    // What the 18 000 more images (per epoch) moved to the old generation, start-up excluded.
    promotedLargeMb, promotedSmallMb,
    promotedPerImage: (promotedLargeMb - promotedSmallMb) * 2 ** 20 / (18000 * Number(epochs)),
    fullGcsLarge: median(r.large.map((x) => x.fullGcs)), fullGcsSmall: median(r.small.map((x) => x.fullGcs)),
  }
})
console.log(`\nPeak RSS, 20 000 against 2 000 images, ${epochs} epochs each, medians of ${pairs} alternating pairs (goal: within 10%)\n`)
console.log('| run | 20 000 images MB | 2 000 images MB | growth | every pair (20 000 / 2 000) | to the V8 old generation, MB (20 000 / 2 000) | the same per image more | full collections (20 000 / 2 000) |')
console.log('|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  const each = r.largeRuns.map((x, i) => `${x}/${r.smallRuns[i] ?? '?'}`).join(', ')
  console.log(`| ${r.name} | ${r.largeMb} | ${r.smallMb} | ${r.growth >= 0 ? '+' : ''}${(100 * r.growth).toFixed(1)}% | ${each} | ${r.promotedLargeMb.toFixed(1)} / ${r.promotedSmallMb.toFixed(1)} | ${Math.round(r.promotedPerImage)} B | ${r.fullGcsLarge} / ${r.fullGcsSmall} |`)
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
writeFileSync(join(root, 'bench', 'results', 'flat.json'), JSON.stringify({ date: new Date().toISOString(), epochs: Number(epochs), pairs, rows }, null, 2))
