/**
 * Real Wave apps for launcher tests: `uv` installed from PyPI into a cached
 * venv, a shared download cache (the first run needs PyPI, later ones do
 * not), and Wave app folders bundled by the same writer `h2o bundle` uses.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { writeBundle } from '../../src/bundle/write.ts';
import { cacheRoot } from './go-tool.ts';

const exec = promisify(execFile);

/** Pinned versions: the launcher tests install these from PyPI. */
export const UV_VERSION = '0.9.5';
export const WAVE_VERSION = '1.8.16';

/** Download caches shared by every run (uv's and pip's). */
export function pythonCacheEnv(): Record<string, string> {
  return { UV_CACHE_DIR: join(cacheRoot(), 'uv-cache'), PIP_CACHE_DIR: join(cacheRoot(), 'pip-cache') };
}

let uvPromise: Promise<string> | undefined;

/** Path of a `uv` executable (pip-installed once into ~/.cache/appstore/uv-<version>). */
export function ensureUv(): Promise<string> {
  uvPromise ??= (async () => {
    const dir = join(cacheRoot(), `uv-${UV_VERSION}`);
    const uv = join(dir, 'bin', 'uv');
    const done = join(dir, '.installed');
    if (existsSync(done)) return uv;
    // venvs hold absolute paths, so it is built in place; the marker is written only when it is complete.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    await exec('python3', ['-m', 'venv', dir]);
    await exec(join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `uv==${UV_VERSION}`], { env: { ...process.env, ...pythonCacheEnv() } });
    writeFileSync(done, `${UV_VERSION}\n`);
    return uv;
  })();
  return uvPromise;
}

export interface WaveAppSpec {
  name: string;
  version?: string;
  /** Python source of app/run.py (default: a page with `text`). */
  source?: string;
  /** Text the default page shows. */
  text?: string;
  requirements?: string;
  extraToml?: string;
  /** More files, path → content. */
  files?: Record<string, string | Buffer>;
}

/** Source of a Wave app serving `text` on a markdown card at '/'. */
export function helloSource(text: string): string {
  return [
    'from h2o_wave import main, app, Q, ui  # noqa: F401 (main is the ASGI app uvicorn serves)',
    '',
    "@app('/')",
    'async def serve(q: Q):',
    `    q.page['hello'] = ui.markdown_card(box='1 1 3 3', title='Hello', content=${JSON.stringify(text)})`,
    '    await q.page.save()',
    '',
  ].join('\n');
}

/** Writes the app folder; returns its path (caller removes it). */
export function writeWaveApp(spec: WaveAppSpec): string {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-wave-app-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app', '__init__.py'), '');
  writeFileSync(join(dir, 'app', 'run.py'), spec.source ?? helloSource(spec.text ?? 'Hello from a launcher test'));
  writeFileSync(join(dir, 'requirements.txt'), spec.requirements ?? `h2o-wave==${WAVE_VERSION}\n`);
  for (const [p, c] of Object.entries(spec.files ?? {})) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  writeFileSync(
    join(dir, 'app.toml'),
    ['[App]', `Name = ${JSON.stringify(spec.name)}`, `Version = ${JSON.stringify(spec.version ?? '0.1.0')}`, `Title = ${JSON.stringify(spec.name)}`, 'Description = "A launcher test app"', '[Runtime]', 'Module = "app.run"', spec.extraToml ?? ''].join('\n'),
  );
  return dir;
}

/** Builds a .wave bundle of a Wave app; returns its bytes. */
export async function makeWaveBundle(spec: WaveAppSpec): Promise<Buffer> {
  const dir = writeWaveApp(spec);
  try {
    const out = await writeBundle(dir, { outDir: join(dir, 'out') });
    return readFileSync(out.path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Opens the page at `route` as Wave's browser client does (websocket
 * `<base>_s/`, then `+ <route> `, route being the browser's full path, base URL included) and resolves with the messages waved sends
 * once one contains `expect` — the app's own content, not just waved's shell.
 */
export async function waveClientMessages(baseURL: string, route: string, expect: string, timeoutMs = 30_000): Promise<string> {
  const { default: WebSocket } = await import('ws');
  const wsURL = `${baseURL.replace(/^http/, 'ws').replace(/\/?$/, '/')}_s/`;
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(wsURL);
    let got = '';
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no "${expect}" from ${wsURL} within ${timeoutMs} ms; got: ${got || '(nothing)'}`));
    }, timeoutMs);
    ws.on('open', () => ws.send(`+ ${route} `));
    ws.on('message', (data: Buffer) => {
      got += `${data.toString()}\n`;
      if (got.includes(expect)) {
        clearTimeout(timer);
        ws.close();
        resolvePromise(got);
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A minimal pure-Python wheel (`<name>-<version>-py3-none-any.whl`) whose module defines MESSAGE. */
export async function makeWheel(name: string, version: string, message: string): Promise<{ fileName: string; bytes: Buffer }> {
  const { ZipFile } = await import('yazl');
  const { createHash } = await import('node:crypto');
  const distInfo = `${name}-${version}.dist-info`;
  const files: Record<string, string> = {
    [`${name}/__init__.py`]: `MESSAGE = ${JSON.stringify(message)}\n`,
    [`${distInfo}/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    [`${distInfo}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: appstore-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  const hash = (s: string) => `sha256=${createHash('sha256').update(s).digest('base64url')}`;
  files[`${distInfo}/RECORD`] = Object.entries(files).map(([p, c]) => `${p},${hash(c)},${Buffer.byteLength(c)}`).join('\n') + `\n${distInfo}/RECORD,,\n`;
  const zip = new ZipFile();
  for (const [p, c] of Object.entries(files)) zip.addBuffer(Buffer.from(c), p);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return { fileName: `${name}-${version}-py3-none-any.whl`, bytes: Buffer.concat(chunks) };
}
