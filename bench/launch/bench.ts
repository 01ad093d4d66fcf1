/**
 * bench-launch: time from "run" to the app's first page of a real Wave app
 * (h2o-wave from PyPI) through the launcher (`h2o exec`, the same
 * runLauncher the pods run), cold (fresh resource folder, empty uv cache:
 * everything downloaded) and warm (the same resource folder: the venv is
 * reused); and installing the same requirements with uv and with pip, each
 * into a fresh venv with an empty download cache, side by side.
 *
 *   node --import tsx bench/launch/bench.ts [--runs N]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/ports.ts';
import { ensureUv, waveClientMessages, WAVE_VERSION, writeWaveApp } from '../../test/support/python-app.ts';

const exec = promisify(execFile);
const H2O = fileURLToPath(new URL('../../bin/h2o.mjs', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const TEXT = 'bench launch page';

/** Status of a GET on a new connection each time (a pooled one could still be the launcher's progress server's). */
function status(url: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus(0));
  });
}

/** Seconds from spawning `h2o exec` until the app's own card arrives over the websocket. */
async function launchOnce(appDir: string, resourceDir: string, env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [H2O, 'exec', '--app-dir', appDir, '--listen', `127.0.0.1:${port}`, '--resource-dir', resourceDir], {
    env: { ...process.env, ...env, HOME: join(resourceDir, '..', 'home') },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (process.env.BENCH_DEBUG) process.stderr.write(d);
  });
  try {
    const deadline = Date.now() + 600_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`h2o exec exited ${child.exitCode}: ${stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`no first page within 600 s: ${stderr.slice(-2000)}`);
      const ok = (await status(`http://127.0.0.1:${port}/`)) === 200;
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // waved answers before the app registers; a page opened earlier gets no content, so open it again (as a user would reload).
    for (;;) {
      const got = await waveClientMessages(`http://127.0.0.1:${port}`, '/', TEXT, 2000).then(() => true, () => false);
      if (got) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the app's content never arrived: ${stderr.slice(-2000)}`);
    }
    return (performance.now() - started) / 1000;
  } finally {
    // Its own process group: the launcher, waved and the app go together.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    // `h2o exec` stops waved and the app on SIGTERM but may linger itself: SIGKILL after 3 s.
    const exited = new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 3000);
    await exited;
    clearTimeout(timer);
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const uv = await ensureUv();
const work = mkdtempSync(join(tmpdir(), 'bench-launch-'));
const path = `${join(uv, '..')}:${process.env.PATH ?? ''}`;
try {
  const appDir = writeWaveApp({ name: 'ai.bench.launch', text: TEXT });
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const res = join(work, `res-${i}`);
    // Cold: a fresh resource folder, so an empty uv cache (UV_CACHE_DIR defaults into it) and no venv.
    cold.push(await launchOnce(appDir, res, { PATH: path, UV_CACHE_DIR: join(res, 'uv-cache') }));
    warm.push(await launchOnce(appDir, res, { PATH: path, UV_CACHE_DIR: join(res, 'uv-cache') }));
    console.log(`run ${i + 1}: cold ${cold[i]!.toFixed(2)} s, warm ${warm[i]!.toFixed(2)} s`);
  }

  const reqs = join(work, 'requirements.txt');
  await import('node:fs/promises').then((fs) => fs.writeFile(reqs, `h2o-wave==${WAVE_VERSION}\n`));
  const uvTimes: number[] = [];
  const pipTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const uvVenv = join(work, `uv-venv-${i}`);
    const pipVenv = join(work, `pip-venv-${i}`);
    uvTimes.push(await timed(async () => {
      await exec(uv, ['venv', '-q', uvVenv]);
      await exec(uv, ['pip', 'install', '-q', '--python', join(uvVenv, 'bin', 'python'), '-r', reqs], { env: { ...process.env, UV_CACHE_DIR: join(work, `uv-cache-${i}`) } });
    }));
    pipTimes.push(await timed(async () => {
      await exec('python3', ['-m', 'venv', pipVenv]);
      await exec(join(pipVenv, 'bin', 'pip'), ['install', '-q', '--disable-pip-version-check', '--no-cache-dir', '-r', reqs]);
    }));
    console.log(`install ${i + 1}: uv ${uvTimes[i]!.toFixed(2)} s, pip ${pipTimes[i]!.toFixed(2)} s (venv + h2o-wave==${WAVE_VERSION}, empty caches)`);
  }
  const c = median(cold);
  const w = median(warm);
  const u = median(uvTimes);
  const p = median(pipTimes);
  console.log(`median of ${runs}: cold ${c.toFixed(2)} s, warm ${w.toFixed(2)} s; install uv ${u.toFixed(2)} s, pip ${p.toFixed(2)} s`);
  console.log(`BENCH launch cold_s=${c.toFixed(2)} warm_s=${w.toFixed(2)} uv_vs_pip=${(p / u).toFixed(2)}`);
  rmSync(appDir, { recursive: true, force: true });
} finally {
  rmSync(work, { recursive: true, force: true });
}
