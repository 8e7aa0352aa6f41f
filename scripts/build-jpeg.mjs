#!/usr/bin/env node
// Builds tfpipe's JPEG fast path (native/jpeg.c, an N-API addon over the
// system's libjpeg-turbo) with node-gyp. Runs as part of tfpipe's postinstall
// (and as `npm run setup:jpeg`).
//
// Without it everything still works: JPEGs are decoded by sharp, about 3x
// slower on 500x375 photos to 224x224 (see docs/performance.md). It needs a C
// compiler and libjpeg-turbo's headers (Debian/Ubuntu: libjpeg62-turbo-dev or
// libjpeg-turbo8-dev; Fedora: libjpeg-turbo-devel; macOS: brew install jpeg-turbo).
// Environment:
//   TFPIPE_SKIP_NATIVE=1       do nothing
//   TFPIPE_REQUIRE_NATIVE=1    fail (exit 1) when it cannot be built
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { nodeDir, nodeGyp } from './node-gyp-env.mjs';
import { fileURLToPath } from 'node:url';

const say = (msg) => console.log(`tfpipe JPEG fast path: ${msg}`);
const env = process.env;
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'native');
const addon = path.join(dir, 'build', 'Release', 'tfpipe_jpeg.node');

if (env.TFPIPE_SKIP_NATIVE === '1') {
  say('skipped (TFPIPE_SKIP_NATIVE=1); JPEGs will be decoded by sharp');
  process.exit(0);
}

const gyp = nodeGyp();
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', dir], {
  encoding: 'utf8', maxBuffer: 64 << 20, env: { ...env, ...nodeDir() },
});
const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
const probe = r.status === 0
  ? spawnSync(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(addon)}).decode)`], { encoding: 'utf8' })
  : undefined;
if (probe?.stdout === 'function') {
  say('built (native/build/Release/tfpipe_jpeg.node)');
  process.exit(0);
}
const why = /jpeglib\.h/.test(out)
  ? 'libjpeg-turbo\'s headers are missing (Debian/Ubuntu: apt-get install libjpeg62-turbo-dev, or libjpeg-turbo8-dev on Ubuntu; Fedora: libjpeg-turbo-devel; macOS: brew install jpeg-turbo)'
  : r.status !== 0
    ? `node-gyp failed: ${(out.split('\n').find((l) => /error/i.test(l)) ?? out.trim().split('\n').pop() ?? '').trim().slice(0, 300)}`
    : `built, but it does not load: ${(probe?.stderr ?? '').split('\n').find((l) => /Error/.test(l)) ?? 'unknown reason'}`;
say(`not built: ${why}. JPEGs will be decoded by sharp instead (slower); run \`npm run setup:jpeg\` after fixing it.`);
process.exit(env.TFPIPE_REQUIRE_NATIVE === '1' ? 1 : 0);
