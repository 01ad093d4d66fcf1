#!/usr/bin/env node
// Builds the web UI (vite build → web/dist) when web/dist is missing or older
// than any of its sources; otherwise does nothing. Run before `npm start`:
//   node web/build-if-needed.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
const sourceTime = Math.max(...sources.map(newest));
const builtTime = existsSync(built) ? statSync(built).mtimeMs : 0;
if (!process.argv.includes('--force') && builtTime >= sourceTime) process.exit(0);

console.error(builtTime ? 'web UI sources changed: rebuilding web/dist' : 'web UI not built yet: building web/dist');
const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
const r = spawnSync(process.execPath, [vite, 'build', web, '--logLevel', 'warn'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
