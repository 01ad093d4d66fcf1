/**
 * The launcher: the process inside each app pod (and behind `h2o exec`).
 * Steps, in order: fetch the bundle and verify its digest; unpack it safely
 * into the app folder; create the venv and install requirements.txt; start
 * waved on the instance port and the app beside it. Until waved takes the
 * port, the port serves the progress page. Every output line is marked with
 * its source. Resolves to the exit code: non-zero when preparation fails or
 * waved or the app exits. See docs/launcher.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { extractBundle } from '../bundle/extract.ts';
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from '../bundle/limits.ts';
import { fetchBundle, LaunchError } from './download.ts';
import { installRequirements } from './install.ts';
import { prefixLines, writeLines, type LineSink } from './output.ts';
import { ProgressServer, STEPS, type Step } from './progress-page.ts';
import { canConnect, ReadyServer, type ReadinessCheck } from './ready-server.ts';
import type { LauncherSettings } from './settings.ts';

export { LaunchError } from './download.ts';

export interface LauncherIO {
  /** Where every prefixed line goes (the container's stdout). */
  out: LineSink;
  /** Aborting stops the launcher: children get SIGTERM, the promise resolves to 0. */
  signal?: AbortSignal;
  limits?: BundleLimits;
  /** Called when a step begins and once the app runs ('running'). */
  onStep?: (step: Step | 'running') => void;
}

/** Top-level names the launcher put into the app folder, removed on the next start (the folder may hold mounts). */
const EXTRACTED_MARKER = '.appstore-extracted';
/** How long waved gets to open its port. */
const WAVED_START_MS = 30_000;
/** Grace between SIGTERM and SIGKILL when stopping children. */
const STOP_GRACE_MS = 5_000;

/** Runs the launcher to the end; resolves to its exit code. */
export async function runLauncher(s: LauncherSettings, io: LauncherIO): Promise<number> {
  let ready: ReadyServer | undefined;
  if (s.readyPort !== undefined) {
    try {
      ready = await listenWhenFree(() => ReadyServer.listen(s.listen.host, s.readyPort!), io.out, `${s.listen.host || '*'}:${s.readyPort}`);
    } catch (err) {
      writeLines(io.out, 'launcher', `cannot listen on ${s.listen.host || '*'}:${s.readyPort} for the readiness endpoint (H2O_CLOUD_LAUNCHER_READY_PORT): ${(err as Error).message}`);
      return 1;
    }
  }
  try {
    return await launch(s, io, ready);
  } finally {
    await ready?.close();
  }
}

async function launch(s: LauncherSettings, io: LauncherIO, ready: ReadyServer | undefined): Promise<number> {
  const log = (m: string) => writeLines(io.out, 'launcher', m);
  // Stopping: not ready from this moment, while the children are still being stopped.
  io.signal?.addEventListener('abort', () => ready?.setCheck(() => Promise.resolve('the launcher is stopping')), { once: true });
  const setCheck = (check: ReadinessCheck) => {
    if (!io.signal?.aborted) ready?.setCheck(check);
  };
  const title = s.childEnv.H2O_CLOUD_APP_TITLE || s.childEnv.H2O_CLOUD_APP_NAME || s.module;
  await mkdir(s.workDir, { recursive: true });
  let progress: ProgressServer;
  try {
    progress = await listenWhenFree(() => ProgressServer.listen(s.listen.host, s.listen.port, title), io.out, `${s.listen.host || '*'}:${s.listen.port}`);
  } catch (err) {
    log(`cannot listen on ${s.listen.host || '*'}:${s.listen.port}: ${(err as Error).message}`);
    return 1;
  }
  log(`progress page on ${s.listen.host || '*'}:${s.listen.port}; app ${s.module}, bundle ${s.bundleURL.replace(/\?.*$/, '')}`);
  let step: Step = STEPS[0];
  const begin = (next: Step, detail?: string) => {
    step = next;
    setCheck(() => Promise.resolve(`preparing the app (${next})`));
    progress.set({ step, ...(detail ? { detail } : {}) });
    io.onStep?.(step);
    log(`${step}${detail ? ` (${detail})` : ''}`);
  };
  const fail = async (err: unknown): Promise<number> => {
    const message = err instanceof Error ? err.message : String(err);
    log(`FAILED at "${step}": ${message}`);
    setCheck(() => Promise.resolve(`the launcher failed at "${step}"`));
    progress.set({ step, error: message });
    // Kept up a while so the user reads why; the pod's restart brings it back.
    if (s.failureHoldSeconds > 0 && !io.signal?.aborted) {
      await sleep(s.failureHoldSeconds * 1000, undefined, io.signal ? { signal: io.signal } : {}).catch(() => undefined);
    }
    await progress.close();
    return 1;
  };
  const venvDir = s.resourcePath ? join(s.resourcePath, 'venv') : join(s.workDir, 'venv');
  let waved: string;
  try {
    begin(STEPS[0]);
    const bundleFile = join(s.workDir, 'bundle.wave');
    const got = await fetchBundle({ url: s.bundleURL, ...(s.bundleDigest ? { digest: s.bundleDigest } : {}), ...(s.launcherToken ? { token: s.launcherToken } : {}), dest: bundleFile, maxBytes: (io.limits ?? DEFAULT_BUNDLE_LIMITS).maxBundleBytes, ...(io.signal ? { signal: io.signal } : {}) });
    log(`bundle fetched: ${got.size} bytes, sha256:${got.sha256}${s.bundleDigest ? ' (digest verified)' : ''}`);
    await unpack(bundleFile, s.appDir, join(s.workDir, 'extract'), io.limits ?? DEFAULT_BUNDLE_LIMITS);
    await rm(bundleFile, { force: true });
    await writeLiteralFiles(s);
    if (io.signal?.aborted) return stopEarly(progress);

    begin(STEPS[1], s.resourcePath ? `environment on the resource volume ${s.resourcePath}` : undefined);
    const env = { ...s.childEnv };
    // With a resource volume, downloads survive restarts too.
    if (s.resourcePath && !env.UV_CACHE_DIR) env.UV_CACHE_DIR = join(s.resourcePath, 'uv-cache');
    const inst = await installRequirements({ appDir: s.appDir, venvDir, python: s.python, ...(s.uv !== undefined ? { uv: s.uv } : {}), env, out: io.out, reuse: !!s.resourcePath, ...(io.signal ? { signal: io.signal } : {}) });
    log(inst.reused ? `reusing the Python environment in ${venvDir} (requirements unchanged)` : `requirements installed with ${inst.installer} in ${inst.seconds.toFixed(1)}s`);
    if (io.signal?.aborted) return stopEarly(progress);

    begin(STEPS[2]);
    waved = s.waved ?? join(venvDir, 'waved');
    try {
      await access(waved, constants.X_OK);
    } catch {
      throw new LaunchError(`waved was not found at ${waved}: add h2o-wave to requirements.txt (its wheel ships waved), or use a runtime image that provides it (H2O_CLOUD_LAUNCHER_WAVED)`);
    }
  } catch (err) {
    if (io.signal?.aborted) {
      log(`stopping: the launcher was asked to stop during "${step}"`);
      return stopEarly(progress);
    }
    return fail(err);
  }
  if (io.signal?.aborted) return stopEarly(progress);

  // Hand the port over: the progress page stops, waved listens where it was.
  const appHost = s.listen.host && s.listen.host !== '0.0.0.0' && s.listen.host !== '::' ? s.listen.host : '127.0.0.1';
  const appPort = await freePort(appHost);
  const appAddress = `http://${appHost}:${appPort}`;
  await progress.close();
  const wavedDataDir = join(s.workDir, 'wave-data');
  await mkdir(wavedDataDir, { recursive: true });
  const listen = `${s.listen.host.includes(':') ? `[${s.listen.host}]` : s.listen.host}:${s.listen.port}`;
  const wavedProc = startChild(waved, ['-listen', listen, '-base-url', s.baseURL, '-web-dir', join(dirname(waved), 'www'), '-data-dir', wavedDataDir], {
    cwd: s.workDir,
    env: { ...s.childEnv, H2O_WAVE_LISTEN: listen, H2O_WAVE_BASE_URL: s.baseURL },
    out: io.out,
    source: 'waved',
  });
  const connectHost = appHost;
  const up = await waitForPort(connectHost, s.listen.port, wavedProc, WAVED_START_MS, io.signal);
  if (io.signal?.aborted) {
    log('stopping: the launcher was asked to stop while waved started');
    await stopChild(wavedProc.child);
    return 0;
  }
  if (up !== true) {
    await stopChild(wavedProc.child);
    // The port is free again: show why on the page.
    try {
      progress = await ProgressServer.listen(s.listen.host, s.listen.port, title);
      progress.set({ step });
    } catch {
      // waved (or someone) still holds the port; the log says why
    }
    return fail(new LaunchError(`waved did not start: ${up}\n${wavedProc.tail.slice(-15).join('\n')}`));
  }
  log(`waved listening on ${listen} (base URL ${s.baseURL}); starting ${s.module} at ${appAddress}`);
  const venvBin = join(venvDir, 'bin');
  const appProc = startChild(join(venvBin, 'python'), ['-m', 'uvicorn', '--host', appHost, '--port', String(appPort), `${s.module}:main`], {
    cwd: s.appDir,
    env: {
      ...s.childEnv,
      VIRTUAL_ENV: venvDir,
      PATH: `${venvBin}${s.childEnv.PATH ? `:${s.childEnv.PATH}` : ''}`,
      PYTHONUNBUFFERED: '1',
      H2O_WAVE_ADDRESS: s.waveAddress,
      H2O_WAVE_APP_ADDRESS: appAddress,
      H2O_WAVE_BASE_URL: s.baseURL,
    },
    out: io.out,
    source: 'app',
  });
  io.onStep?.('running');
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  // Ready once both answer: the app's port opens only after it registered with waved (uvicorn starts the app first).
  setCheck(async () => {
    if (!alive(wavedProc.child) || !alive(appProc.child)) return 'waved or the app exited';
    if (!(await canConnect(connectHost, s.listen.port))) return `waved does not answer on port ${s.listen.port}`;
    if (!(await canConnect(appHost, appPort))) return `the app (${s.module}) is starting: it does not answer on ${appAddress} yet`;
    return true;
  });

  // An abort that came before this line counts too (a listener added later never hears it).
  const aborted = !io.signal ? new Promise<never>(() => undefined) : io.signal.aborted ? Promise.resolve('abort' as const) : once(io.signal, 'abort').then(() => 'abort' as const);
  const first = await Promise.race([wavedProc.exit.then((e) => ({ who: 'waved', ...e })), appProc.exit.then((e) => ({ who: 'app', ...e })), aborted]);
  if (first === 'abort') {
    log('stopping: the launcher was asked to stop');
    await Promise.all([stopChild(appProc.child), stopChild(wavedProc.child)]);
    return 0;
  }
  setCheck(() => Promise.resolve(`${first.who} exited`));
  log(`${first.who === 'app' ? `the app (${s.module})` : 'waved'} exited (${first.describe}); stopping ${first.who === 'app' ? 'waved' : 'the app'}`);
  await Promise.all([stopChild(appProc.child), stopChild(wavedProc.child)]);
  return first.code === 0 || first.code === null ? 1 : first.code;
}

function stopEarly(progress: ProgressServer): Promise<number> {
  return progress.close().then(() => 0);
}

/** Unpacks into a fresh staging folder, then moves the entries into appDir (which may hold mounted [[File]] folders). */
async function unpack(bundleFile: string, appDir: string, staging: string, limits: BundleLimits): Promise<void> {
  await rm(staging, { recursive: true, force: true });
  await mkdir(appDir, { recursive: true });
  // Leftovers of an earlier start in a folder that outlived it (local runs).
  const previous = await readFile(join(appDir, EXTRACTED_MARKER), 'utf8').catch(() => '');
  for (const name of previous.split('\n').filter(Boolean)) {
    if (!name.includes('/') && name !== '..' && name !== '.') await rm(join(appDir, name), { recursive: true, force: true });
  }
  try {
    await extractBundle(bundleFile, staging, limits);
  } catch (err) {
    throw new LaunchError(`the bundle cannot be unpacked: ${(err as Error).message}`, { cause: err });
  }
  const names = await readdir(staging);
  await writeFile(join(appDir, EXTRACTED_MARKER), names.join('\n') + '\n');
  for (const name of names) {
    const from = join(staging, name);
    const to = join(appDir, name);
    try {
      await rename(from, to);
    } catch {
      // Another filesystem, or a mounted folder of the same name: copy into it, never over a file.
      try {
        await cp(from, to, { recursive: true, force: false, errorOnExist: true });
      } catch (err) {
        throw new LaunchError(`the bundle's ${name} collides with a file mounted in the app folder (${(err as Error).message}): move the [[File]] path in app.toml or rename the bundle's file`);
      }
    }
  }
  await rm(staging, { recursive: true, force: true });
}

async function writeLiteralFiles(s: LauncherSettings): Promise<void> {
  for (const f of s.files) {
    const target = isAbsolute(f.path) ? f.path : resolve(s.appDir, f.path);
    const rel = relative(s.appDir, target);
    if (!isAbsolute(f.path) && (rel.startsWith(`..${sep}`) || rel === '..')) throw new LaunchError(`[[File]] path ${f.path} leaves the app folder`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, f.content, { mode: 0o600 });
  }
}

interface Child {
  child: ChildProcess;
  exit: Promise<{ code: number | null; describe: string }>;
  tail: string[];
}

function startChild(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string>; out: LineSink; source: string }): Child {
  const tail: string[] = [];
  // Its own process group, so stopping it reaches its children (uvicorn workers, reloaders).
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines = Promise.all([prefixLines(child.stdout!, opts.out, opts.source, tail), prefixLines(child.stderr!, opts.out, opts.source, tail)]);
  const exit = new Promise<{ code: number | null; describe: string }>((res) => {
    child.once('error', (err) => res({ code: 127, describe: `could not start ${cmd}: ${err.message}` }));
    child.once('exit', (code, sig) => {
      void lines.then(() => res({ code: code ?? (sig ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 }) as Record<string, number>)[sig]! || 1 : 1), describe: code !== null ? `exit code ${code}` : `signal ${sig}` }));
    });
  });
  return { child, exit, tail };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** How long a port in use is waited for: the previous container on this address may still be stopping. */
const PORT_IN_USE_WAIT_MS = 15_000;

/** Runs `listen`, trying again while the port is in use (EADDRINUSE), for up to PORT_IN_USE_WAIT_MS. */
async function listenWhenFree<T>(listen: () => Promise<T>, out: LineSink, where: string): Promise<T> {
  const deadline = Date.now() + PORT_IN_USE_WAIT_MS;
  for (let said = false; ; said = true) {
    try {
      return await listen();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw err;
      if (!said) writeLines(out, 'launcher', `${where} is in use; waiting up to ${PORT_IN_USE_WAIT_MS / 1000}s for it (a previous container on this address may still be stopping)`);
      await sleep(200);
    }
  }
}

/** A port free on `host` right now. */
function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => res(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Resolves true once host:port accepts a connection, or a reason string (the process exited, or time ran out). */
async function waitForPort(host: string, port: number, proc: Child, timeoutMs: number, signal?: AbortSignal): Promise<true | string> {
  let exited: string | undefined;
  void proc.exit.then((e) => (exited = e.describe));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) return 'the launcher was asked to stop';
    if (exited) return `it exited (${exited})`;
    const ok = await new Promise<boolean>((res) => {
      const sock = connect({ host, port });
      sock.once('connect', () => (sock.destroy(), res(true)));
      sock.once('error', () => res(false));
    });
    if (ok && !exited) return true;
    await sleep(100);
  }
  return `its port ${port} did not open within ${timeoutMs / 1000}s`;
}
