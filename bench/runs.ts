// Running the benchmarks' programs side by side. Each prints one JSON line (the peers' contract:
// {"peer": ..., "images_per_s": ..., "peak_rss_mb": ...}); shared by bench/run.ts and bench/ceiling.ts.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

/**
 * glibc's malloc told to keep the memory it has (to map no block of its own below 64 MB, to hand
 * nothing back below 4 GB, and to grow 256 MB at a time). The Keras peer makes new arrays for every
 * image, and without this it faults in about 2.5 MB of fresh pages per image: where page faults are
 * slow (10 us on a Firecracker VM) that, not its decoding, is most of its time (npm run bench:faults).
 */
export const KEEP_MEMORY_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(64 << 20), MALLOC_TRIM_THRESHOLD_: String(4 << 30), MALLOC_TOP_PAD_: String(256 << 20),
}

/**
 * The Python peers' rows: tf.data, the Keras Sequence (workers=2) as the seed wrote it, and the same
 * with malloc keeping its memory (KEEP_MEMORY_ENV). `common` goes after the corpus (size, batch, epochs).
 */
export function pythonPeerRows(python: string, shared: string, corpus: string, common: readonly string[] = []): Row[] {
  const keras = [join(shared, 'peers', 'keras_sequence.py'), corpus, ...common, '--workers', '2']
  return [
    { name: 'tf.data AUTOTUNE', what: 'tf.data peer', cmd: python, args: [join(shared, 'peers', 'tf_data.py'), corpus, ...common] },
    { name: 'Keras Sequence, workers=2', what: 'Keras Sequence peer', cmd: python, args: keras },
    // How much of the Keras ratio is the machine's page faults (the goal is against the row above).
    { name: 'Keras Sequence, workers=2, malloc keeping its memory', what: 'Keras Sequence peer, malloc keeping its memory', cmd: python, args: keras, env: KEEP_MEMORY_ENV },
  ]
}

/** A program's JSON line, or undefined when it failed. */
export type Result = Record<string, unknown> | undefined

/**
 * Runs `cmd args` in `cwd` (TensorFlow's logging off) and returns the last JSON line it printed,
 * or undefined when it failed (why goes to stderr, each line prefixed by `tag`).
 */
export function runJson(tag: string, cwd: string, cmd: string, args: readonly string[], what: string, env: Readonly<Record<string, string>> = {}): Result {
  process.stderr.write(`${tag}: ${what} ...\n`)
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', ...env } })
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('{'))
  if (r.status !== 0 || line === undefined) {
    process.stderr.write(`${tag}: ${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}\n`)
    return undefined
  }
  return JSON.parse(line) as Record<string, unknown>
}

/** The Python that runs the peers (`setup_python_peer.sh` in `shared`), or undefined (why goes to stderr). */
export function pythonPeer(tag: string, shared: string): string | undefined {
  const setup = spawnSync('bash', [join(shared, 'setup_python_peer.sh')], { encoding: 'utf8' })
  const python = setup.status === 0 ? setup.stdout.trim().split('\n').pop() : undefined
  if (python === undefined) process.stderr.write(`${tag}: no Python peer environment (${setup.stderr.trim().split('\n').pop() ?? ''}); the Python peers are left out\n`)
  return python
}

/** One program to run: `what` names it in the log. */
export interface Row { readonly name: string, readonly what: string, readonly cmd: string, readonly args: readonly string[], readonly env?: Readonly<Record<string, string>> }

/**
 * Runs every row `rounds` times, the rows taking turns (so a slow spell on a shared machine hits
 * all of them), with `run(row, label)`; each row keeps every round and its best one (most images/s,
 * i.e. shortest epoch). One tf.data round measured 820 images/s where it usually does about 1 370,
 * which alone turned a 0.6x ratio into 1.1x.
 */
export function bestOfRounds(rows: readonly Row[], rounds: number, run: (row: Row, label: string) => Result): Array<{ name: string, r: Result, rounds: Result[] }> {
  const kept = rows.map((row) => ({ name: row.name, r: undefined as Result, rounds: [] as Result[] }))
  for (let k = 0; k < rounds; k++) {
    rows.forEach((row, i) => {
      const got = run(row, `${row.what} (round ${k + 1} of ${rounds})`)
      const entry = kept[i] as (typeof kept)[number]
      entry.rounds.push(got)
      if (got !== undefined && (entry.r === undefined || Number(got.images_per_s) > Number(entry.r.images_per_s))) entry.r = got
    })
  }
  return kept
}
