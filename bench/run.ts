// npm run bench: tfpipe against the peers in ../shared/bench/peers, one after
// another on the same corpus and settings, in one run; prints images/s, peak RSS
// and the ratios of tfpipe to each peer, and writes bench/results/bench-<count>.json.
// tfpipe runs compiled (dist/ on plain node, see bench/compile.ts), as the peers run.
//
// usage: npm run bench -- [--count 2000] [--epochs 3] [--size 224] [--batch 32] [--rounds 2] [--no-python]
//   --count 20000 makes (once) and uses a 20 000-image corpus (about 1 GB on disk)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { compiledFit } from './compile.js'
import { bestOfRounds, pythonPeer, pythonPeerRows, runJson, type Result, type Row } from './runs.js'
import { cpuFloor, median } from './measure.js'

const { values: o } = parseArgs({ options: {
  count: { type: 'string', default: '2000' }, epochs: { type: 'string', default: '3' },
  size: { type: 'string', default: '224' }, batch: { type: 'string', default: '32' },
  'no-python': { type: 'boolean', default: false }, rounds: { type: 'string', default: '2' },
} })
const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const shared = resolve(root, '..', 'shared', 'bench')
if (!existsSync(shared)) throw new Error(`bench: ${shared} not found (the shared folder sits beside the project)`)
const corpus = join(root, 'bench', `corpus-${o.count}`)
const common = ['--size', o.size, '--batch', o.batch, '--epochs', o.epochs]

const run = (cmd: string, args: readonly string[], what: string, env: Readonly<Record<string, string>> = {}): Result => runJson('bench', root, cmd, args, what, env)

const python = o['no-python'] ? undefined : pythonPeer('bench', shared)
if (!existsSync(join(corpus, 'labels.csv'))) {
  if (python === undefined) throw new Error(`bench: ${corpus} does not exist and making it needs the Python environment (Pillow)`)
  const made = spawnSync(python, [join(shared, 'make_corpus.py'), corpus, '--count', o.count], { stdio: 'inherit' })
  if (made.status !== 0) throw new Error('bench: make_corpus.py failed')
}

const tsx = join(root, 'node_modules', '.bin', 'tsx')
const fitJs = await compiledFit(root)
const node = process.execPath
const rows: Row[] = [
  { name: 'tfpipe (input pipeline only)', what: 'tfpipe input pipeline', cmd: node, args: [fitJs, corpus, ...common, '--input-only'] },
  { name: 'tfpipe fit', what: 'tfpipe fit', cmd: node, args: [fitJs, corpus, ...common] },
  // The same with map's concurrency chosen as it goes (like tf.data's AUTOTUNE) instead of 16.
  { name: "tfpipe fit, map concurrency 'auto'", what: 'tfpipe fit, concurrency auto', cmd: node, args: [fitJs, corpus, ...common, '--concurrency', 'auto'] },
  // The same with libjpeg's fast integer IDCT, the one tf.data's decode_jpeg uses by default (less accurate).
  { name: "tfpipe fit, dctMethod 'fast' (tf.io.decode_jpeg's default IDCT)", what: 'tfpipe fit, fast IDCT', cmd: node, args: [fitJs, corpus, ...common, '--dct', 'fast'] },
  // The same with TensorFlow's intra-op pool at one thread (useBestBackend({ intraOpThreads: 1 })): on 2 cores
  // its threads and the decode threads share the cores (docs/performance-history.md, "TensorFlow's intra-op threads").
  { name: 'tfpipe fit, TensorFlow intra-op threads 1', what: 'tfpipe fit, intra-op threads 1', cmd: node, args: [fitJs, corpus, ...common, '--intra-op', '1'] },
  // The same with the JPEG fast path off (sharp decodes): what the fast path is worth, side by side.
  { name: 'tfpipe fit, JPEGs by sharp (TFPIPE_JPEG=sharp)', what: 'tfpipe fit with sharp', cmd: node, args: [fitJs, corpus, ...common], env: { TFPIPE_JPEG: 'sharp' } },
  // The same fit from the TypeScript source under tsx (how a .ts training script is often run): the loader's cost.
  { name: 'tfpipe fit under tsx (TypeScript loader)', what: 'tfpipe fit under tsx', cmd: tsx, args: [join(root, 'bench', 'tfpipe-fit.ts'), corpus, ...common] },
  { name: 'tfjs-data + fitDataset', what: 'tfjs-data peer', cmd: node, args: [join(shared, 'peers', 'tfjs_data.mjs'), corpus, ...common] },
]
if (python !== undefined) rows.push(...pythonPeerRows(python, shared, corpus, common))
// Every row runs `--rounds` times, the rows taking turns, and each keeps its best round (bench/runs.ts).
const rounds = Number(o.rounds)
const inTurn = (list: Row[]) => bestOfRounds(list, rounds, (row, label) => run(row.cmd, row.args, label, row.env))
const results = inTurn(rows)

const ours = results.find((x) => x.name === 'tfpipe fit')?.r
const ips = (r: Record<string, unknown> | undefined) => Number(r?.images_per_s ?? NaN)
const rss = (r: Record<string, unknown> | undefined) => Number(r?.peak_rss_mb ?? NaN)
console.log(`\n${o.count} JPEGs of 500x375 -> ${o.size}x${o.size}, batch ${o.batch}, best of epochs 2..${o.epochs} and of ${rounds} rounds taken in turn, tiny model (GAP + dense), one run, ${new Date().toISOString()}; tfpipe's JPEG decoder: ${String(ours?.jpeg_decoder ?? 'unknown')}`)
console.log(`| pipeline | images/s | peak RSS MB | tfpipe fit / this (speed) | tfpipe fit / this (RSS) |`)
console.log(`|---|---|---|---|---|`)
for (const { name, r } of results) {
  if (r === undefined) { console.log(`| ${name} | failed | | | |`); continue }
  console.log(`| ${name} | ${ips(r).toFixed(0)} | ${rss(r).toFixed(0)} | ${(ips(ours) / ips(r)).toFixed(2)}x | ${(rss(ours) / rss(r)).toFixed(2)}x |`)
}
// Against each peer, round by round as well: rows run minutes apart, and a peer's speed moves between
// rounds (the Keras peer by up to 1.5x in one run), so the best of each alone can pair unlike spells.
const ourRounds = results.find((x) => x.name === 'tfpipe fit')?.rounds ?? []
const sameRound: Record<string, number[]> = {}
for (const { name, rounds: theirs } of results.filter((x) => !x.name.startsWith('tfpipe'))) {
  const ratios = theirs.flatMap((t, k) => (t === undefined || ourRounds[k] === undefined ? [] : [ips(ourRounds[k]) / ips(t)]))
  if (ratios.length === 0) continue
  sameRound[name] = ratios.map((x) => +x.toFixed(2))
  console.log(`tfpipe fit / ${name}, round by round: ${ratios.map((x) => x.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)})`)
}
// Overlap: a real small CNN at 96x96 (the seed's size). An epoch of fit should take at most 1.1x the
// larger of the same steps on batches already in memory and the input pipeline alone.
const small = ['--size', '96', '--batch', o.batch, '--epochs', o.epochs, '--model', 'cnn']
const [fitRun, inMemoryRun, inputOnlyRun] = inTurn([
  { name: 'fit', what: 'overlap: fit, CNN at 96x96', cmd: node, args: [fitJs, corpus, ...small] },
  { name: 'inMemory', what: 'overlap: the same steps on batches in memory', cmd: node, args: [fitJs, corpus, ...small, '--in-memory'] },
  { name: 'inputOnly', what: 'overlap: the input pipeline alone at 96x96', cmd: node, args: [fitJs, corpus, ...small, '--input-only'] },
]).map((x) => x.r)
const overlap = { fit: fitRun, inMemory: inMemoryRun, inputOnly: inputOnlyRun }
const sec = (r: Record<string, unknown> | undefined) => Number(r?.epoch_s ?? NaN)
const ratio = sec(overlap.fit) / Math.max(sec(overlap.inMemory), sec(overlap.inputOnly))
const cpu = (r: Record<string, unknown> | undefined) => Number(r?.cpu_s ?? NaN)
const floor = cpuFloor(sec(overlap.inMemory), cpu(overlap.inMemory), sec(overlap.inputOnly), cpu(overlap.inputOnly))
console.log(`\noverlap (CNN, 96x96): fit epoch ${sec(overlap.fit).toFixed(2)} s; in memory ${sec(overlap.inMemory).toFixed(2)} s; pipeline alone ${sec(overlap.inputOnly).toFixed(2)} s; fit / max(the two) = ${ratio.toFixed(2)}x (goal <= 1.1x; CPU floor ${floor.toFixed(2)}x)`)

// The same three in one process, their epochs taken in turn (bench/tfpipe-fit.ts --overlap): adjacent
// epochs share the machine's slow and fast spells, which processes minutes apart do not, so the
// median of the rounds' ratios is the steadier figure (and a harder one than the best of each alone).
// With map's concurrency 16 as above, 64 (two batches' decodes in flight while a step holds the main
// thread), and 'auto' (chosen during the two warm-up epochs and carried on through the rounds); then at
// 64 with TensorFlow's intra-op pool at one thread, and at 64 with tfjs' own Step kernel (ReLU's
// gradient) and Mean and Sum gradients instead of tfpipe's, each against the same model's own in-memory epochs.
// cpuFloor: the ratio the CPU alone allows (both epochs' CPU time over every core, against the longer).
const oneProcess = [
  { label: 'concurrency 16', args: ['--concurrency', '16'] },
  { label: 'concurrency 64', args: ['--concurrency', '64'] },
  { label: 'concurrency auto', args: ['--concurrency', 'auto'] },
  { label: 'concurrency 64, intra-op threads 1', args: ['--concurrency', '64', '--intra-op', '1'] },
  { label: 'concurrency 64, tfjs\' own Step kernel and Mean and Sum gradients', args: ['--concurrency', '64', '--tfjs-kernels'] },
]
const alternating = oneProcess.map(({ label, args }) => ({ label, r: run(node, [fitJs, corpus, '--size', '96', '--batch', o.batch, '--model', 'cnn', '--overlap', '5', ...args], `overlap, one process, ${label}`) }))
for (const { label, r } of alternating) {
  const m = r?.median as Record<string, number> | undefined
  if (m === undefined) { console.log(`overlap in one process, ${label}: failed`); continue }
  const chosen = r?.concurrency_chosen === undefined ? '' : ` (chose ${String(r.concurrency_chosen)})`
  console.log(`overlap in one process (5 rounds of the three epochs in turn), ${label}${chosen}: medians fit ${m.fit?.toFixed(2)} s, in memory ${m.inMemory?.toFixed(2)} s, pipeline alone ${m.inputOnly?.toFixed(2)} s; median of the rounds' fit / max(the two) = ${m.ratio?.toFixed(2)}x (CPU floor ${m.cpuFloor?.toFixed(2)}x); wait share ${m.waitShare?.toFixed(2)}; V8's major collections per epoch: fit ${String(m.fitMajorGcs)}, in memory ${String(m.inMemoryMajorGcs)}, pipeline alone ${String(m.inputOnlyMajorGcs)}`)
}

mkdirSync(join(root, 'bench', 'results'), { recursive: true })
const out = join(root, 'bench', 'results', `bench-${o.count}.json`)
writeFileSync(out, JSON.stringify({ count: Number(o.count), settings: { size: o.size, batch: o.batch, epochs: o.epochs }, date: new Date().toISOString(), results, sameRound, overlap: { ...overlap, ratio, cpuFloor: floor, oneProcess: alternating } }, null, 2))
console.log(`\nwritten: ${out}`)
