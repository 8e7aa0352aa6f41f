// Shared by the install scripts: how to run node-gyp on a machine that cannot download.
import fs from 'node:fs';
import path from 'node:path';

/** npm's own node-gyp (what npm would run), or whatever `npm_config_node_gyp` names. */
export function nodeGyp(env = process.env) {
  if (env.npm_config_node_gyp) return env.npm_config_node_gyp;
  const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return fs.existsSync(npmCli) ? npmCli : 'node-gyp';
}

/** node-gyp must build against the local Node headers: it cannot download them here. */
export function nodeDir(env = process.env) {
  if (env.npm_config_nodedir) return {};
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? { npm_config_nodedir: prefix } : {};
}
