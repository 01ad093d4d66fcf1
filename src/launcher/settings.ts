/**
 * The launcher's settings, read from the environment the operator gives the
 * pod (src/operator/desired.ts) plus a few launcher-only variables for local
 * runs (`h2o exec`, the local pod runner). Bad values are typed errors that
 * name the variable.
 */
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidError, type FieldIssue } from '../lib/errors.ts';

/** A literal file the launcher writes after extraction (`h2o exec`; in a pod [[File]]s are mounted). */
export interface LiteralFile {
  /** Absolute, or relative to the app folder. */
  path: string;
  content: string;
}

export interface LauncherSettings {
  /** Where the bundle comes from: http(s) (with the launcher token) or file:// (local runs). */
  bundleURL: string;
  /** Expected digest, `sha256:<hex>` or bare hex; absent skips the check (local runs only). */
  bundleDigest?: string;
  /** Bearer credential for the bundle download. */
  launcherToken?: string;
  /** Python module of the app (app.toml Runtime.Module). */
  module: string;
  /** Folder the bundle is unpacked into; the app's working directory. */
  appDir: string;
  /** Scratch folder: the downloaded bundle, the venv without a resource volume, waved's data. */
  workDir: string;
  /** Persistent resource volume: the venv lives here and is reused while requirements are unchanged. */
  resourcePath?: string;
  /** Where the progress page and then waved listen. '' host = every interface. */
  listen: { host: string; port: number };
  /** Port of the readiness endpoint (GET /ready, on the listen host): 200 only while waved and the app answer. */
  readyPort?: number;
  /** How the app reaches waved (H2O_WAVE_ADDRESS). */
  waveAddress: string;
  /** URL path prefix waved serves under (BASE_URL routing), with a trailing slash. */
  baseURL: string;
  /** Python interpreter that creates the venv. */
  python: string;
  /** The `uv` executable; undefined = look on PATH; null = do not use uv (pip). */
  uv?: string | null;
  /** A waved shipped by the runtime image; else the one the h2o-wave wheel puts in the venv. */
  waved?: string;
  /** Seconds the failure page stays up before the launcher exits non-zero. */
  failureHoldSeconds: number;
  /** Environment the app and waved inherit (the pod's env, minus the launcher's own secrets). */
  childEnv: Record<string, string>;
  /** Literal files to write below the app folder after extraction. */
  files: LiteralFile[];
}

/** Variables the launcher reads but never passes on to the app. */
const PRIVATE_VARS = ['H2O_CLOUD_LAUNCHER_TOKEN'];

const MODULE_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Parses `host:port` / `:port` (Wave's H2O_WAVE_LISTEN form). */
export function parseListen(value: string, name = 'H2O_WAVE_LISTEN'): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    throw new InvalidError(`${name} is not a listen address`, [{ path: name, message: `${JSON.stringify(value)} must be host:port or :port, e.g. :10101 or 127.0.0.1:10101` }]);
  }
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Builds settings from an environment; throws InvalidError listing every bad or missing variable. */
export function launcherSettingsFromEnv(env: Record<string, string | undefined>): LauncherSettings {
  const issues: FieldIssue[] = [];
  const get = (k: string) => (env[k] ?? '').trim() || undefined;
  const bundleURL = get('H2O_CLOUD_BUNDLE_URL') ?? '';
  if (!bundleURL) issues.push({ path: 'H2O_CLOUD_BUNDLE_URL', message: 'is required: the URL of the app bundle (set by the operator)' });
  else if (!/^(https?|file):\/\//i.test(bundleURL)) issues.push({ path: 'H2O_CLOUD_BUNDLE_URL', message: `${JSON.stringify(bundleURL)} must be an http(s):// or file:// URL` });
  const digest = get('H2O_CLOUD_BUNDLE_DIGEST');
  if (digest && !/^(sha256:)?[0-9a-f]{64}$/i.test(digest)) issues.push({ path: 'H2O_CLOUD_BUNDLE_DIGEST', message: `${JSON.stringify(digest)} must be sha256:<64 hex digits>` });
  if (!digest && /^https?:/i.test(bundleURL)) issues.push({ path: 'H2O_CLOUD_BUNDLE_DIGEST', message: 'is required for a downloaded bundle: the sha256 digest it must have' });
  const module = get('H2O_CLOUD_APP_MODULE') ?? '';
  if (!MODULE_RE.test(module)) issues.push({ path: 'H2O_CLOUD_APP_MODULE', message: `${JSON.stringify(module)} must be a Python module name such as app.run (app.toml Runtime.Module)` });
  let listen = { host: '', port: 10101 };
  try {
    if (get('H2O_WAVE_LISTEN')) listen = parseListen(get('H2O_WAVE_LISTEN')!);
  } catch (err) {
    issues.push(...(err as InvalidError).issues);
  }
  const readyRaw = get('H2O_CLOUD_LAUNCHER_READY_PORT');
  const readyPort = readyRaw === undefined ? undefined : Number(readyRaw);
  if (readyPort !== undefined && !(Number.isInteger(readyPort) && readyPort > 0 && readyPort < 65536 && readyPort !== listen.port)) {
    issues.push({ path: 'H2O_CLOUD_LAUNCHER_READY_PORT', message: `${JSON.stringify(readyRaw)} must be a port number (1-65535) other than the H2O_WAVE_LISTEN port` });
  }
  const loopback = listen.host && listen.host !== '0.0.0.0' && listen.host !== '::' ? listen.host : '127.0.0.1';
  const waveAddress = get('H2O_WAVE_ADDRESS') ?? `http://${loopback}:${listen.port}`;
  let baseURL = get('H2O_WAVE_BASE_URL') ?? '/';
  if (!baseURL.startsWith('/')) issues.push({ path: 'H2O_WAVE_BASE_URL', message: `${JSON.stringify(baseURL)} must be a URL path starting with /` });
  if (!baseURL.endsWith('/')) baseURL += '/';
  const absDir = (k: string, def?: string): string | undefined => {
    const v = get(k) ?? def;
    if (v !== undefined && !isAbsolute(v)) issues.push({ path: k, message: `${JSON.stringify(v)} must be an absolute path` });
    return v === undefined ? undefined : resolve(v);
  };
  const appDir = absDir('H2O_CLOUD_APP_DIR', '/app')!;
  const workDir = absDir('H2O_CLOUD_LAUNCHER_WORK_DIR', join(tmpdir(), 'h2o-launcher'))!;
  const resourcePath = absDir('H2O_CLOUD_RESOURCE_PATH');
  const holdRaw = get('H2O_CLOUD_LAUNCHER_FAILURE_HOLD') ?? '30';
  const failureHoldSeconds = Number(holdRaw);
  if (!(failureHoldSeconds >= 0)) issues.push({ path: 'H2O_CLOUD_LAUNCHER_FAILURE_HOLD', message: `${JSON.stringify(holdRaw)} must be a number of seconds` });
  const uvRaw = get('H2O_CLOUD_LAUNCHER_UV');
  if (issues.length) throw new InvalidError('the launcher cannot start: its environment is incomplete', issues);

  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !PRIVATE_VARS.includes(k)) childEnv[k] = v;
  return {
    bundleURL,
    ...(digest ? { bundleDigest: digest } : {}),
    ...(get('H2O_CLOUD_LAUNCHER_TOKEN') ? { launcherToken: get('H2O_CLOUD_LAUNCHER_TOKEN')! } : {}),
    module,
    appDir,
    workDir,
    ...(resourcePath ? { resourcePath } : {}),
    listen,
    ...(readyPort !== undefined ? { readyPort } : {}),
    waveAddress,
    baseURL,
    python: get('H2O_CLOUD_LAUNCHER_PYTHON') ?? 'python3',
    ...(uvRaw === undefined ? {} : { uv: uvRaw === 'none' ? null : uvRaw }),
    ...(get('H2O_CLOUD_LAUNCHER_WAVED') ? { waved: get('H2O_CLOUD_LAUNCHER_WAVED')! } : {}),
    failureHoldSeconds,
    childEnv,
    files: [],
  };
}
