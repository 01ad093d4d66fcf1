/**
 * The app's Python environment: a venv with requirements.txt installed
 * (wheels shipped in the bundle included), by `uv` when it is available and
 * pip otherwise. On a resource volume the venv is kept and reused while the
 * requirements (text and bundled wheels) and the Python version are unchanged.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { wheelReferences } from '../bundle/requirements.ts';
import { LaunchError } from './download.ts';
import { prefixLines, type LineSink } from './output.ts';

export interface InstallOptions {
  appDir: string;
  venvDir: string;
  python: string;
  /** uv executable; undefined = search PATH; null = pip only. */
  uv?: string | null;
  /** Environment for the installers (PATH, UV_CACHE_DIR, PIP_INDEX_URL …). */
  env: Record<string, string>;
  out: LineSink;
  /** Keep and reuse the venv when its recorded hash matches (resource volume). */
  reuse: boolean;
  /** Aborting stops the installer (its whole process group) at once. */
  signal?: AbortSignal;
}

export interface InstallResult {
  installer: 'uv' | 'pip' | 'none';
  reused: boolean;
  /** Hash of what was installed (requirements, wheels, Python). */
  hash: string;
  seconds: number;
}

const MARKER = '.appstore-requirements';

/** Finds an executable on PATH (or checks an explicit path). */
export async function findExecutable(name: string, path: string | undefined): Promise<string | undefined> {
  const candidates = name.includes('/') ? [resolve(name)] : (path ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command, copying its output prefixed; throws LaunchError with the output's tail on failure, or when `signal` stops it. */
export async function run(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string>; out: LineSink; source: string; what: string; signal?: AbortSignal }): Promise<void> {
  if (opts.signal?.aborted) throw new LaunchError(`${opts.what} was not started: the launcher was asked to stop`);
  const tail: string[] = [];
  // Its own process group: stopping reaches what it spawns too (uv's builders, pip's subprocesses).
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // already gone
      }
    };
    if (child.pid === undefined) return;
    kill('SIGTERM');
    killTimer = setTimeout(() => kill('SIGKILL'), 5_000);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const done = Promise.all([prefixLines(child.stdout, opts.out, opts.source, tail), prefixLines(child.stderr, opts.out, opts.source, tail)]);
  const code = await new Promise<number | string>((res) => {
    child.once('error', (err) => res(err.message));
    child.once('close', (c, sig) => res(c ?? sig ?? 1));
  });
  opts.signal?.removeEventListener('abort', onAbort);
  clearTimeout(killTimer);
  await done;
  if (opts.signal?.aborted) throw new LaunchError(`${opts.what} was stopped: the launcher was asked to stop`);
  if (code !== 0) {
    throw new LaunchError(`${opts.what} failed (${typeof code === 'number' ? `exit code ${code}` : code}):\n${tail.slice(-25).join('\n')}`);
  }
}

async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function pythonVersion(python: string, env: Record<string, string>): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(python, ['-c', 'import sys; print(sys.version)'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    child.stdout.on('data', (d: Buffer) => (s += d.toString()));
    child.once('error', (err) => rej(new LaunchError(`the Python interpreter ${python} cannot run: ${err.message} (set H2O_CLOUD_LAUNCHER_PYTHON)`)));
    child.once('close', (c) => (c === 0 ? res(s.trim()) : rej(new LaunchError(`${python} failed with exit code ${c}`))));
  });
}

/** Hash of requirements.txt, every bundled wheel it references, and the Python version. */
export async function requirementsHash(appDir: string, requirements: string | undefined, python: string, env: Record<string, string>): Promise<string> {
  const h = createHash('sha256');
  h.update(`python ${await pythonVersion(python, env)}\n`);
  h.update(`requirements ${requirements ?? ''}\n`);
  for (const w of wheelReferences(requirements ?? '')) {
    const p = resolve(appDir, w.path);
    h.update(`wheel ${w.path} ${await fileHash(p).catch(() => 'missing')}\n`);
  }
  return h.digest('hex');
}

/** Creates (or reuses) the venv at opts.venvDir and installs the app's requirements.txt into it. */
export async function installRequirements(opts: InstallOptions): Promise<InstallResult> {
  const started = Date.now();
  const reqPath = join(opts.appDir, 'requirements.txt');
  const requirements = await readFile(reqPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  const hash = await requirementsHash(opts.appDir, requirements, opts.python, opts.env);
  const python = join(opts.venvDir, 'bin', 'python');
  if (opts.reuse) {
    const recorded = await readFile(join(opts.venvDir, MARKER), 'utf8').catch(() => '');
    if (recorded.trim() === hash && (await findExecutable(python, undefined))) {
      return { installer: 'none', reused: true, hash, seconds: (Date.now() - started) / 1000 };
    }
  }
  await rm(opts.venvDir, { recursive: true, force: true });
  const uv = opts.uv === null ? undefined : await findExecutable(opts.uv ?? 'uv', opts.env.PATH);
  if (opts.uv && !uv) throw new LaunchError(`uv was asked for at ${opts.uv} (H2O_CLOUD_LAUNCHER_UV) but is not an executable there`);
  const common = { cwd: opts.appDir, env: opts.env, out: opts.out, source: 'launcher', ...(opts.signal ? { signal: opts.signal } : {}) };
  if (uv) {
    await run(uv, ['venv', '--quiet', '--python', opts.python, opts.venvDir], { ...common, what: 'creating the Python environment (uv venv)' });
  } else {
    await run(opts.python, ['-m', 'venv', opts.venvDir], { ...common, what: 'creating the Python environment (python -m venv)' });
  }
  if (requirements !== undefined && requirements.trim()) {
    if (uv) {
      await run(uv, ['pip', 'install', '--python', python, '-r', reqPath], { ...common, env: { ...opts.env, VIRTUAL_ENV: opts.venvDir }, what: 'installing requirements.txt (uv pip install)' });
    } else {
      await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', reqPath], { ...common, what: 'installing requirements.txt (pip install)' });
    }
  }
  // Written last: a venv whose install was cut short is never taken for a finished one.
  await writeFile(join(opts.venvDir, MARKER), `${hash}\n`);
  return { installer: uv ? 'uv' : 'pip', reused: false, hash, seconds: (Date.now() - started) / 1000 };
}
