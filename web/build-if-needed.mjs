#!/usr/bin/env node
// Builds the web UI (vite build → web/dist) when web/dist is missing or older
// than any of its sources; otherwise does nothing. Run before `npm start`:
//   node web/build-if-needed.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBuildLock } from '../bin/build-lock.mjs';

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

// One build at a time (../bin/build-lock.mjs): test files start in parallel and each asks for the UI;
// a second vite build would empty web/dist under the first (and its server).
const status = withBuildLock(join(web, '.build-lock'), () => {
  // Someone else may have built it while we waited.
  if (!process.argv.includes('--force') && fresh()) return 0;
  console.error(existsSync(built) ? 'web UI sources changed: rebuilding web/dist' : 'web UI not built yet: building web/dist');
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  return spawnSync(process.execPath, [vite, 'build', web, '--logLevel', 'warn'], { stdio: 'inherit' }).status ?? 1;
});
process.exit(status);
