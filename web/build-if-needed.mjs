#!/usr/bin/env node
// Builds the web UI (vite build → web/dist) when web/dist is missing or older
// than any of its sources; otherwise does nothing. Run before `npm start`:
//   node web/build-if-needed.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const built = join(web, 'dist', 'index.html');

/** Newest modification time under `path` (a file or a folder). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const sources = ['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((p) => join(web, p));
const fresh = () => existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest));
if (!process.argv.includes('--force') && fresh()) process.exit(0);

// One build at a time: test files start in parallel and each asks for the UI;
// a second vite build would empty web/dist under the first (and its server).
const lock = join(web, '.build-lock');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (;;) {
  try {
    mkdirSync(lock);
    break;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    // A lock older than 5 minutes is left over from a killed build.
    if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 300_000) rmSync(lock, { recursive: true, force: true });
    else sleep(250);
  }
}
let status = 0;
try {
  // Someone else may have built it while we waited.
  if (process.argv.includes('--force') || !fresh()) {
    console.error(existsSync(built) ? 'web UI sources changed: rebuilding web/dist' : 'web UI not built yet: building web/dist');
    const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
    status = spawnSync(process.execPath, [vite, 'build', web, '--logLevel', 'warn'], { stdio: 'inherit' }).status ?? 1;
  }
} finally {
  rmSync(lock, { recursive: true, force: true });
}
process.exit(status);
