// The benchmarks run tfpipe as users run it: compiled JavaScript on plain `node`, as
// the tfjs-data peer runs. Under tsx (a TypeScript loader) the V8 heap is about twice
// the size (60 against 35 MB used after loading tfjs and training a few steps) and the
// peak RSS of a fit was 4-130 MB higher (median about 60) (docs/performance-history.md), which is the loader's, not
// tfpipe's: `npm run bench` shows both, side by side, in its "under tsx" row.
//
// compiledFit(root) builds lib/ into dist/ (`npm run build`) and bundles
// bench/tfpipe-fit.ts alone with esbuild, its import of ../lib/index.js pointed at
// dist/index.js, into bench/build/tfpipe-fit.mjs; returns that file's path.
// `npm run bench:build` runs it alone (for `node bench/build/tfpipe-fit.mjs CORPUS ...`).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

export async function compiledFit(root: string): Promise<string> {
  const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`bench: npm run build failed: ${(built.stdout + built.stderr).trim().split('\n').slice(0, 5).join(' | ')}`)
  const outfile = join(root, 'bench', 'build', 'tfpipe-fit.mjs')
  await build({
    entryPoints: [join(root, 'bench', 'tfpipe-fit.ts')], outfile, bundle: true, packages: 'external',
    platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
    plugins: [{
      name: 'tfpipe-from-dist',
      setup(b) { b.onResolve({ filter: /^\.\.\/lib\/index\.js$/ }, () => ({ path: '../../dist/index.js', external: true })) },
    }],
  })
  return outfile
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await compiledFit(process.cwd()))
