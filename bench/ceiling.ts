// npm run bench:ceiling: how many images/s could any pipeline feed this fit on this machine, and
// is 6x the Keras Sequence peer (issue #6's goal) below that? Measured side by side in one run:
//
// - the least CPU a JPEG decode costs: libjpeg-turbo reading each file at 1/8 scale (the entropy
//   decoding, which every decoder of these files pays in full, and almost nothing else), in C on
//   one thread (bench/jpeg-timing.c, thread CPU time, 400 corpus files);
// - the training side's CPU per image: fit's epochs on batches already in memory (tfjs' step, the
//   TensorFlow kernels on their threads, and the sink making each batch's floats), from
//   `tfpipe-fit --in-memory` (the whole process's CPU time over its best epoch);
// - the ceiling: cores / (the two per image), the rate at which the cores do nothing else;
// - tfpipe's fit and its input pipeline alone (their CPU per image the same way), and the Keras
//   Sequence and tf.data peers, their rounds taken in turn (best round).
//
// The ceiling assumes a decode that costs no more than its entropy decoding and a pipeline that
// costs nothing, so any real pipeline stays below it: where 6x Keras is above the ceiling, no
// pipeline feeding tfjs reaches the goal on this machine.
//
// Then the overlap goal's budget (issue #6: with the small CNN at 96x96, fit's epoch at most 1.1x the
// longer of the in-memory epoch and the pipeline alone): from `tfpipe-fit --overlap` (one process,
// concurrency 64, with one intra-op thread and with TensorFlow's default), the most CPU per image the
// goal leaves the pipeline (overlapBudgetMs), beside what tfpipe's pipeline alone takes and what its
// decode and resize to 96x96 take in C on one thread, with the entropy decoding's share.
//
// usage: npm run bench:ceiling -- [--count 2000] [--rounds 2] [--overlap-rounds 3] [--cpus LIST]
//   --cpus 0 runs everything under `taskset -c 0` (one core), to see how the ratios move with cores
//   --overlap-rounds 0 leaves out the overlap budget
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { compiledFit } from './compile.js'
import { overlapBudgetMs } from './measure.js'
import { bestOfRounds, pythonPeer, pythonPeerRows, runJson, type Result, type Row } from './runs.js'

const { values: o } = parseArgs({ options: {
  count: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '2' }, cpus: { type: 'string' },
  'overlap-rounds': { type: 'string', default: '3' },
} })
const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const shared = resolve(root, '..', 'shared', 'bench')
const corpus = join(root, 'bench', `corpus-${o.count}`)
if (!existsSync(join(corpus, 'labels.csv'))) throw new Error(`bench:ceiling: ${corpus} does not exist (npm run bench -- --count ${o.count} makes it)`)
const rounds = Number(o.rounds)
if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`bench:ceiling: --rounds must be a positive integer, got ${o.rounds}`)
const overlapRounds = Number(o['overlap-rounds'])
if (!(Number.isInteger(overlapRounds) && overlapRounds >= 0)) throw new Error(`bench:ceiling: --overlap-rounds must be a whole number, got ${o['overlap-rounds']}`)

// --cpus: every command runs under taskset; the cores are what `nproc` counts there (taskset also
// checks the list, and says what is wrong with it).
function pinnedCores(list: string): number {
  const r = spawnSync('taskset', ['-c', list, 'nproc'], { encoding: 'utf8' })
  if (r.error !== undefined) throw new Error('bench:ceiling: --cpus needs taskset (util-linux)')
  if (r.status !== 0) throw new Error(`bench:ceiling: --cpus ${list}: ${r.stderr.trim()}`)
  return Number(r.stdout.trim())
}
const cores = o.cpus === undefined ? availableParallelism() : pinnedCores(o.cpus)
const run = (cmd: string, args: readonly string[], what: string, env: Record<string, string> = {}): Result =>
  o.cpus === undefined ? runJson('bench:ceiling', root, cmd, args, what, env) : runJson('bench:ceiling', root, 'taskset', ['-c', o.cpus, cmd, ...args], what, env)
const num = (r: Result, key: string) => Number(r?.[key] ?? NaN)

// 1. The decode's floor, in C: the first 400 files of the corpus.
const timing = join(root, 'bench', 'results', 'jpeg-timing')
const cc = spawnSync('npm', ['run', '-s', 'bench:jpeg:build'], { cwd: root, encoding: 'utf8' })
if (cc.status !== 0) throw new Error(`bench:ceiling: npm run bench:jpeg:build failed (it needs cc and libjpeg-turbo's headers): ${cc.stderr.trim().split('\n').slice(0, 3).join(' | ')}`)
const files = readFileSync(join(corpus, 'labels.csv'), 'utf8').split('\n').filter((l) => l.trim() !== '').slice(0, 400).map((l) => join(corpus, l.split(',')[0] as string))
const floor = run(timing, files, 'the decode at 1/8 scale (the entropy decoding), 400 files', { TFPIPE_JPEG_MIN_LEFT: '0.1' })
const decode = run(timing, files, "tfpipe's decode and resize to 224x224, 400 files")

// 2. The training side, and 3. the fits and peers: every row's rounds in turn.
const fitJs = await compiledFit(root)
const node = process.execPath
const python = pythonPeer('bench:ceiling', shared)
const common = ['--size', '224', '--batch', '32', '--epochs', '3']
const fitRow = 'tfpipe fit'
const inputRow = 'tfpipe input pipeline alone'
const trainingRow = 'tfpipe fit on batches in memory (the training side)'
const rows: Row[] = [
  { name: fitRow, what: fitRow, cmd: node, args: [fitJs, corpus, ...common] },
  { name: inputRow, what: inputRow, cmd: node, args: [fitJs, corpus, ...common, '--input-only'] },
  { name: trainingRow, what: trainingRow, cmd: node, args: [fitJs, corpus, ...common, '--in-memory'] },
  // The peers as the seed wrote them (not the row with malloc keeping its memory).
  ...(python === undefined ? [] : pythonPeerRows(python, shared, corpus, common).filter((r) => r.env === undefined)),
]
const results = bestOfRounds(rows, rounds, (row, label) => run(row.cmd, row.args, label, row.env))
const best = new Map(results.map(({ name, r }) => [name, r]))

// CPU per image of a tfpipe row: its best round's CPU over its best epoch.
const cpuMs = (name: string) => { const r = best.get(name); return (num(r, 'cpu_s') / num(r, 'images')) * 1000 }
const ms = {
  decodeFloor: num(floor, 'decode_cpu_ms'),
  tfpipeDecode: num(decode, 'decode_and_resize_cpu_ms'),
  training: cpuMs(trainingRow),
  inputPipeline: cpuMs(inputRow),
  fit: cpuMs(fitRow),
}
const ceiling = (cores * 1000) / (ms.decodeFloor + ms.training)
const ips = (name: string) => num(best.get(name), 'images_per_s')
const keras = ips('Keras Sequence, workers=2')

console.log(`\n${o.count} JPEGs of 500x375 -> 224x224, batch 32, tiny model, ${cores} core${cores === 1 ? '' : 's'}${o.cpus === undefined ? '' : ` (taskset -c ${o.cpus})`}, one run, ${new Date().toISOString()}`)
console.log('| CPU per image | ms |')
console.log('|---|---|')
console.log(`| the least a decode costs (libjpeg at 1/8 scale: the entropy decoding) | ${ms.decodeFloor.toFixed(3)} |`)
console.log(`| tfpipe's decode and resize (C, one thread) | ${ms.tfpipeDecode.toFixed(3)} |`)
console.log(`| the training side (fit on batches in memory, every thread) | ${ms.training.toFixed(3)} |`)
console.log(`| tfpipe's input pipeline alone (every thread) | ${ms.inputPipeline.toFixed(3)} |`)
console.log(`| tfpipe's fit (every thread) | ${ms.fit.toFixed(3)} |`)
console.log(`\nceiling: ${cores} cores / (${ms.decodeFloor.toFixed(3)} + ${ms.training.toFixed(3)} ms) = ${ceiling.toFixed(0)} images/s`)
console.log('| pipeline | images/s (best round) | ceiling / this | tfpipe fit / this | every round |')
console.log('|---|---|---|---|---|')
for (const { name, rounds: each } of results) {
  const r = ips(name)
  // The ceiling is a bound on a fit's rate: against the pipeline alone or the training side alone it means nothing.
  const bounded = name !== inputRow && name !== trainingRow
  console.log(`| ${name} | ${r.toFixed(0)} | ${bounded ? `${(ceiling / r).toFixed(2)}x` : ''} | ${(ips(fitRow) / r).toFixed(2)}x | ${each.map((x) => num(x, 'images_per_s').toFixed(0)).join(', ')} |`)
}
if (Number.isFinite(keras)) {
  console.log(`\n6x the Keras Sequence peer: ${(6 * keras).toFixed(0)} images/s, ${(6 * keras / ceiling).toFixed(2)}x the ceiling (${6 * keras > ceiling ? 'above it: out of reach here for any pipeline whose decode costs at least the entropy decoding, feeding this training side' : 'below it'}); tfpipe's fit is at ${(ips(fitRow) / ceiling).toFixed(2)}x the ceiling`)
}

// 4. The overlap goal's budget, at 96x96 with the small CNN: per intra-op setting, the run's medians
// and, in CPU ms per image, what the goal leaves the pipeline and what tfpipe's pipeline alone takes.
// The budget rests on fit's CPU being the in-memory epoch's plus the pipeline's: the table prints both.
type Budget = { label: string, r: Result, m: Record<string, number>, budgetMs: number, pipelineMs: number, pipelineMainMs: number }
const budgets: Budget[] = []
const decode96 = overlapRounds > 0 ? run(timing, files, "tfpipe's decode and resize to 96x96, 400 files", { TFPIPE_JPEG_SIZE: '96' }) : undefined
if (overlapRounds > 0) {
  for (const { label, args } of [{ label: '1', args: ['--intra-op', '1'] }, { label: "TensorFlow's default", args: [] }]) {
    const r = run(node, [fitJs, corpus, '--size', '96', '--batch', '32', '--model', 'cnn', '--overlap', String(overlapRounds), '--concurrency', '64', ...args], `overlap, CNN at 96x96, intra-op threads ${label}`)
    const m = r?.median as Record<string, number> | undefined
    if (m === undefined) continue
    const images = num(r, 'images')
    const perImageMs = (seconds: number | undefined) => (seconds ?? NaN) / images * 1000
    budgets.push({
      label, r, m,
      budgetMs: overlapBudgetMs(m.inMemory ?? NaN, m.inMemoryCpu ?? NaN, m.inputOnly ?? NaN, images, cores),
      pipelineMs: perImageMs(m.inputOnlyCpu),
      pipelineMainMs: perImageMs(m.inputOnlyMainCpu),
    })
  }
  console.log(`
the overlap goal (CNN at 96x96: fit's epoch <= 1.1x the longer of the in-memory epoch and the pipeline alone), ${cores} core${cores === 1 ? '' : 's'}, medians of ${overlapRounds} rounds in one process, concurrency 64:`)
  console.log('| intra-op threads | in memory, s (CPU-s) | pipeline alone, s | most CPU the goal leaves the pipeline, ms per image | tfpipe\'s pipeline alone, ms per image (main thread) | fit / max(the two) (CPU floor) | fit\'s CPU-s (the two\'s sum: the budget\'s premise) |')
  console.log('|---|---|---|---|---|---|---|')
  for (const { label, m, budgetMs, pipelineMs, pipelineMainMs } of budgets) {
    console.log(`| ${label} | ${m.inMemory?.toFixed(2)} (${m.inMemoryCpu?.toFixed(2)}) | ${m.inputOnly?.toFixed(2)} | ${budgetMs.toFixed(3)} | ${pipelineMs.toFixed(3)} (${pipelineMainMs.toFixed(3)}) | ${m.ratio?.toFixed(2)}x (${m.cpuFloor?.toFixed(2)}x) | ${m.fitCpu?.toFixed(2)} (${((m.inMemoryCpu ?? NaN) + (m.inputOnlyCpu ?? NaN)).toFixed(2)}) |`)
  }
  console.log(`tfpipe's decode and resize to 96x96 in C, one thread: ${num(decode96, 'decode_and_resize_cpu_ms').toFixed(3)} ms per image, of which the entropy decoding ${ms.decodeFloor.toFixed(3)} ms (the budget assumes perfect overlap: a real fit needs the pipeline below it)`)
}

const out = join(root, 'bench', 'results', `ceiling-${o.count}${o.cpus === undefined ? '' : `-cpus${o.cpus.replace(/[^0-9]+/g, '_')}`}.json`)
mkdirSync(join(root, 'bench', 'results'), { recursive: true })
writeFileSync(out, JSON.stringify({ count: Number(o.count), cores, cpus: o.cpus ?? null, date: new Date().toISOString(), msPerImage: ms, ceiling, results, floor, decode, overlap: overlapRounds > 0 ? { decode96, budgets } : null }, null, 2))
console.log(`\nwritten: ${out}`)
