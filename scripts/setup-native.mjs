#!/usr/bin/env node
// Makes @tensorflow/tfjs-node's native binding work without Google's servers.
//
// Runs as tfpipe's postinstall (and as `npm run setup:native`). Steps, each
// printing one line:
//   1. the binding already loads            -> nothing to do
//   2. tfjs-node's own installer (download)  -> works where its storage is reachable
//   3. build the addon from source against a local TensorFlow C library:
//        TFPIPE_LIBTENSORFLOW=<dir | .tar.gz | .whl>, or else the C library in
//        the TensorFlow pip wheel that `pip download tensorflow-cpu==2.21.0`
//        finds (TFPIPE_TF_WHEEL_SPEC overrides the requirement)
//   4. otherwise finish the install and say how to fix it; tfpipe then falls
//      back to the slow pure-JS cpu backend.
// Environment:
//   TFPIPE_SKIP_NATIVE=1       do nothing (pure-JS backend)
//   TFPIPE_SKIP_DOWNLOAD=1     skip step 2
//   TFPIPE_LIBTENSORFLOW=PATH  a libtensorflow directory (lib/ + include/), its
//                              .tar.gz archive, or a TensorFlow wheel (.whl)
//   TFPIPE_CACHE_DIR=DIR       where the wheel and extracted library are kept
// It never fails the install: the exit code is 0 unless TFPIPE_REQUIRE_NATIVE=1.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeDir, nodeGyp } from './node-gyp-env.mjs';

const say = (msg) => console.log(`tfpipe native backend: ${msg}`);
const env = process.env;
const require = createRequire(path.join(process.cwd(), 'package.json'));

function finish(ok) {
  if (!ok && env.TFPIPE_REQUIRE_NATIVE === '1') process.exit(1);
  process.exit(0);
}

if (env.TFPIPE_SKIP_NATIVE === '1') {
  say('skipped (TFPIPE_SKIP_NATIVE=1); training will use the pure-JS cpu backend');
  finish(false);
}

let tfjsNodeDir;
try {
  tfjsNodeDir = path.dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
} catch {
  say('@tensorflow/tfjs-node is not installed; nothing to set up (install it for native training)');
  finish(false);
}

/** Step 1 and the check after each step: load the binding in a child process. */
function bindingLoads() {
  const probe = spawnSync(process.execPath, ['-e',
    `const tf=require(${JSON.stringify(tfjsNodeDir)});` +
    `tf.tidy(()=>tf.conv2d(tf.ones([1,4,4,1]),tf.ones([2,2,1,1]),1,'valid').dataSync());` +
    `process.stdout.write(tf.getBackend())`], { encoding: 'utf8', timeout: 120_000 });
  if (probe.status === 0 && probe.stdout.trim() === 'tensorflow') return { ok: true, why: '' };
  const lines = `${probe.stderr ?? ''}${probe.error ? String(probe.error) : ''}`.split('\n').filter((l) => /error/i.test(l));
  return { ok: false, why: (lines[0] ?? `exit code ${probe.status}`).trim().slice(0, 300) };
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const cause = lines.find((l) => /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|Error:|ERR!.*(error|Error)/.test(l));
  const tail = cause ?? lines.slice(-2).join(' | ');
  return { ok: r.status === 0, tail: r.error ? String(r.error) : tail };
}

const first = bindingLoads();
if (first.ok) {
  say('the binding loads (tf.getBackend() is "tensorflow"); nothing to do');
  finish(true);
}

// Step 2: tfjs-node's own installer, unless told not to or a local library is named.
if (env.TFPIPE_SKIP_DOWNLOAD !== '1' && !env.TFPIPE_LIBTENSORFLOW) {
  const r = run(process.execPath, [path.join(tfjsNodeDir, 'scripts', 'install.js')], {
    cwd: tfjsNodeDir, timeout: 600_000, env: { ...env, npm_config_node_gyp: env.npm_config_node_gyp ?? nodeGyp() },
  });
  if (r.ok && bindingLoads().ok) {
    say('tfjs-node\'s own installer downloaded and installed the binding');
    finish(true);
  }
  say(`tfjs-node's own installer did not work here (${r.tail.slice(0, 200) || 'no output'}); building from a local TensorFlow`);
}

// Step 3: build from source against a local TensorFlow C library.
const cacheDir = env.TFPIPE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'tfpipe');
const depsDir = path.join(tfjsNodeDir, 'deps');
try {
  const lib = locateLibrary();
  stageDeps(lib);
  const gyp = nodeGyp();
  const preGyp = path.join(path.dirname(createRequire(path.join(tfjsNodeDir, 'package.json')).resolve('@mapbox/node-pre-gyp/package.json')), 'bin', 'node-pre-gyp');
  const r = run(process.execPath, [preGyp, 'install', '--build-from-source'], {
    cwd: tfjsNodeDir, env: { ...env, npm_config_node_gyp: gyp, ...nodeDir() },
  });
  if (!r.ok) throw new Error(`node-pre-gyp build failed: ${r.tail}`);
  const after = bindingLoads();
  if (!after.ok) throw new Error(`built, but the binding does not load: ${after.why}`);
  say(`built the binding from source against ${lib.from}; tf.getBackend() is "tensorflow"`);
  finish(true);
} catch (err) {
  say(`could not build it (${err instanceof Error ? err.message : String(err)})`);
  say('training will use the slow pure-JS cpu backend. To fix: set TFPIPE_LIBTENSORFLOW to a ' +
    'libtensorflow folder, .tar.gz or TensorFlow .whl and run `npm run setup:native` ' +
    '(see README, "Installing the native backend")');
  finish(false);
}


/** Returns { from, libDir, includeDir } where libDir holds the .so files. */
function locateLibrary() {
  const named = env.TFPIPE_LIBTENSORFLOW;
  if (named) {
    if (!fs.existsSync(named)) throw new Error(`TFPIPE_LIBTENSORFLOW=${named} does not exist`);
    if (fs.statSync(named).isDirectory()) return fromDir(named, named);
    if (named.endsWith('.whl')) return fromWheel(named);
    if (/\.(tar\.gz|tgz)$/.test(named)) {
      const out = path.join(cacheDir, `lib-${path.basename(named).replace(/\W+/g, '_')}`);
      if (!fs.existsSync(path.join(out, '.done'))) {
        fs.mkdirSync(out, { recursive: true });
        const r = run('tar', ['-xzf', named, '-C', out]);
        if (!r.ok) throw new Error(`could not unpack ${named}: ${r.tail}`);
        fs.writeFileSync(path.join(out, '.done'), '');
      }
      return fromDir(out, named);
    }
    throw new Error(`TFPIPE_LIBTENSORFLOW must be a directory, a .tar.gz or a .whl, got ${named}`);
  }
  const spec = env.TFPIPE_TF_WHEEL_SPEC ?? 'tensorflow-cpu==2.21.0';
  const wheelDir = path.join(cacheDir, 'wheels');
  fs.mkdirSync(wheelDir, { recursive: true });
  let wheel = findWheel(wheelDir);
  if (!wheel) {
    const python = ['python3', 'python'].find((p) => spawnSync(p, ['-m', 'pip', '--version']).status === 0);
    if (!python) throw new Error('no python3 with pip to fetch a TensorFlow wheel, and TFPIPE_LIBTENSORFLOW is not set');
    const r = run(python, ['-m', 'pip', 'download', spec, '--no-deps', '--only-binary=:all:', '-d', wheelDir,
      '--retries', '0', '--timeout', '15', '--disable-pip-version-check', '-q'], { timeout: 900_000 });
    wheel = findWheel(wheelDir);
    if (!wheel) throw new Error(`pip download ${spec} failed: ${r.tail.slice(-300)}`);
  }
  return fromWheel(wheel);
}

function findWheel(dir) {
  const f = fs.readdirSync(dir).filter((n) => /^tensorflow.*\.whl$/.test(n)).sort().pop();
  return f ? path.join(dir, f) : undefined;
}

/** A libtensorflow layout: lib/libtensorflow.so* and include/tensorflow/c/c_api.h. */
function fromDir(dir, from) {
  const libDir = path.join(dir, 'lib');
  const includeDir = path.join(dir, 'include');
  if (!fs.existsSync(path.join(includeDir, 'tensorflow', 'c', 'c_api.h'))) {
    throw new Error(`${dir} has no include/tensorflow/c/c_api.h`);
  }
  const tf = fs.readdirSync(libDir).find((n) => /^libtensorflow(_cc)?\.so/.test(n));
  const fw = fs.readdirSync(libDir).find((n) => /^libtensorflow_framework\.so/.test(n));
  if (!tf || !fw) throw new Error(`${libDir} lacks libtensorflow.so or libtensorflow_framework.so`);
  return { from, libDir, includeDir, tf, fw };
}

/** Extracts the C library and headers of a TensorFlow wheel (once; cached). */
function fromWheel(wheel) {
  const out = path.join(cacheDir, `extract-${path.basename(wheel, '.whl')}`);
  if (!fs.existsSync(path.join(out, '.done'))) {
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    const py = [
      'import sys, zipfile, os',
      'z = zipfile.ZipFile(sys.argv[1]); out = sys.argv[2]',
      'want = lambda n: n.startswith("tensorflow/include/") or n in ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2")',
      'names = [n for n in z.namelist() if want(n) and not n.endswith("/")]',
      'assert "tensorflow/libtensorflow_cc.so.2" in names, "the wheel has no tensorflow/libtensorflow_cc.so.2"',
      'for n in names: z.extract(n, out)',
    ].join('\n');
    const r = run('python3', ['-c', py, wheel, out]);
    if (!r.ok) throw new Error(`could not extract ${path.basename(wheel)}: ${r.tail}`);
    fs.writeFileSync(path.join(out, '.done'), '');
  }
  const root = path.join(out, 'tensorflow');
  return { from: path.basename(wheel), libDir: root, includeDir: path.join(root, 'include'),
    tf: 'libtensorflow_cc.so.2', fw: 'libtensorflow_framework.so.2' };
}

/**
 * deps/lib gets each library under its own soname (what the built binding
 * asks for at load time), plus a symlink under the name the binding links
 * against (libtensorflow.so, libtensorflow_framework.so).
 */
function stageDeps(lib) {
  fs.rmSync(depsDir, { recursive: true, force: true });
  const libOut = path.join(depsDir, 'lib');
  fs.mkdirSync(libOut, { recursive: true });
  for (const [file, linkName] of [[lib.tf, 'libtensorflow.so'], [lib.fw, 'libtensorflow_framework.so']]) {
    const src = fs.realpathSync(path.join(lib.libDir, file));
    const name = readSoname(src) ?? file;
    const dest = path.join(libOut, name);
    try { fs.linkSync(src, dest); } catch { fs.copyFileSync(src, dest); } // hard link where the cache shares the disk
    if (name !== linkName) fs.symlinkSync(name, path.join(libOut, linkName));
  }
  // Headers are needed only while building.
  fs.symlinkSync(path.resolve(lib.includeDir), path.join(depsDir, 'include'));
}

/** The DT_SONAME of an ELF64 little-endian shared library, or undefined. */
function readSoname(file) {
  try {
    const fd = fs.openSync(fs.realpathSync(file), 'r');
    try {
      const read = (pos, len) => { const b = Buffer.alloc(len); fs.readSync(fd, b, 0, len, pos); return b; };
      const eh = read(0, 64);
      if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2) return undefined;
      const phoff = Number(eh.readBigUInt64LE(32)); const phentsize = eh.readUInt16LE(54); const phnum = eh.readUInt16LE(56);
      const loads = []; let dyn;
      for (let i = 0; i < phnum; i++) {
        const ph = read(phoff + i * phentsize, phentsize);
        const type = ph.readUInt32LE(0);
        const seg = { off: Number(ph.readBigUInt64LE(8)), vaddr: Number(ph.readBigUInt64LE(16)), size: Number(ph.readBigUInt64LE(32)) };
        if (type === 1) loads.push(seg);
        if (type === 2) dyn = seg;
      }
      if (!dyn) return undefined;
      const d = read(dyn.off, dyn.size);
      let strtab; let soname;
      for (let o = 0; o + 16 <= d.length; o += 16) {
        const tag = Number(d.readBigInt64LE(o)); const val = Number(d.readBigUInt64LE(o + 8));
        if (tag === 0) break;
        if (tag === 5) strtab = val;
        if (tag === 14) soname = val;
      }
      if (strtab === undefined || soname === undefined) return undefined;
      const seg = loads.find((s) => strtab >= s.vaddr && strtab < s.vaddr + s.size);
      const at = seg ? strtab - seg.vaddr + seg.off : strtab;
      const s = read(at + soname, 256);
      return s.subarray(0, s.indexOf(0)).toString('utf8');
    } finally { fs.closeSync(fd); }
  } catch { return undefined; }
}
