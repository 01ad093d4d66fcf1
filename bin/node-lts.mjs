#!/usr/bin/env node
// The app store runs on Node 24 LTS or newer (package.json "engines"). On an older Node the
// commands re-run themselves under Node NODE_LTS from the npm registry's own binary package
// (node-linux-<arch>; no other download), cached in ~/.cache/appstore/node-v<version>.
//   import { onNodeLts } from './node-lts.mjs'; await onNodeLts();   (in a bin/ command)
//   node bin/node-lts.mjs ARGS…                                       (runs `node ARGS…` on it)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE_LTS = '24.22.3';
const MIN_MAJOR = 24;

/** True when this process already runs on a supported Node. */
export function supported(version = process.versions.node) {
  return Number(version.split('.')[0]) >= MIN_MAJOR;
}

/** The cached Node binary, installed from the npm registry on first use. */
export function ltsNode(log = (m) => process.stderr.write(`${m}\n`)) {
  const dir = join(process.env.APPSTORE_CACHE_DIR ?? join(homedir(), '.cache', 'appstore'), `node-v${NODE_LTS}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (process.platform !== 'linux' || !arch) throw new Error(`Node ${process.versions.node} is too old (the app store needs ${MIN_MAJOR}+), and no Node ${NODE_LTS} package exists for ${process.platform}-${process.arch}: install Node ${MIN_MAJOR} or newer`);
  log(`Node ${process.versions.node} is older than ${MIN_MAJOR}: installing Node ${NODE_LTS} from the npm registry (node-linux-${arch}) into ${dir}, once`);
  mkdirSync(join(dir, '..'), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const pack = spawnSync(npm, ['pack', `node-linux-${arch}@${NODE_LTS}`, '--pack-destination', tmp, '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const file = pack.stdout?.trim().split('\n').pop();
    if (pack.status !== 0 || !file) throw new Error(`npm pack node-linux-${arch}@${NODE_LTS} failed (exit ${pack.status}); install Node ${MIN_MAJOR}+ yourself`);
    const untar = spawnSync('tar', ['-xzf', join(tmp, file), '-C', tmp, '--strip-components=1'], { stdio: 'inherit' });
    if (untar.status !== 0) throw new Error(`unpacking ${file} failed`);
    rmSync(join(tmp, file));
    // Renamed whole: a half-unpacked folder is never taken for an install.
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(bin)) return bin; // another process won the race
    throw err;
  }
  return bin;
}

/** Runs `node ARGS…` on the supported Node and exits as it does (signals passed on). */
function runOn(node, args) {
  const child = spawn(node, args, { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
  // Never resolves: this process only waits for the child.
  return new Promise(() => {});
}

/** In a command: returns at once on a supported Node, else re-runs this very command on Node NODE_LTS. */
export async function onNodeLts() {
  if (supported()) return;
  await runOn(ltsNode(), [...process.execArgv, ...process.argv.slice(1)]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runOn(supported() ? process.execPath : ltsNode(), process.argv.slice(2));
}
