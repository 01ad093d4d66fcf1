// Production runs compiled JavaScript from dist/ (tsconfig.build.json: src/ without tests, .ts
// imports rewritten to .js). In a checkout (src/ beside dist/), ensureDist() compiles first when
// dist/ is missing or older than any source; an image ships dist/ alone and skips the check.
//   node bin/dist.mjs [--force]     build now (npm run build)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBuildLock } from './build-lock.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');

/** Newest modification time under `path`. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted file shows only as its folder's change
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const inputs = () => Math.max(newest(src), newest(join(root, 'tsconfig.json')), newest(join(root, 'tsconfig.build.json')));
/** The stamp holds the newest source time the build saw: a file saved during the build still counts as newer. */
const fresh = () => existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= inputs();

/** Builds dist/ when stale (a checkout) and returns; throws with the fix when it cannot. */
export function ensureDist({ force = false, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  if (!existsSync(src)) {
    if (existsSync(stamp)) return;
    throw new Error(`${dist} is missing and there are no sources to build it from`);
  }
  if (!force && fresh()) return;
  // One build at a time: parallel test files start servers at once; a second tsc would rewrite files under the first's server.
  withBuildLock(join(root, '.dist-build-lock'), () => {
    if (!force && fresh()) return; // built by someone else while we waited
    let tsc;
    try {
      tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
    } catch {
      throw new Error('dist/ is out of date and TypeScript is not installed to rebuild it: run `npm ci` (with dev dependencies), then `npm run build`');
    }
    const started = inputs();
    log(existsSync(stamp) ? 'sources changed: compiling src/ → dist/' : 'compiling src/ → dist/ (once per change, a few seconds)');
    rmSync(dist, { recursive: true, force: true });
    // --noCheck: make check type-checks; this only has to emit.
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`compiling src/ failed (tsc exit ${r.status})`);
    // The SQL migrations are read at run time beside the compiled repository code.
    cpSync(join(src, 'repository', 'migrations'), join(dist, 'repository', 'migrations'), { recursive: true });
    writeFileSync(stamp, `${started}\n`);
  }, 200);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureDist({ force: process.argv.includes('--force') });
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
