/**
 * app.toml (and the legacy q-app.toml): parsing and validation. Every problem
 * is collected and reported at once, each with its path (`App.Version`,
 * `Env[2].SecretKey`) and what to do; unknown sections and keys are kept and
 * reported as warnings.
 */
import { posix } from 'node:path';
import semver from 'semver';
import { parse, TomlDate, TomlError } from 'smol-toml';
import type { TomlTable } from 'smol-toml';
import { InvalidError } from '../lib/errors.ts';
import type { FieldIssue } from '../lib/errors.ts';
import { isQuantity, parseQuantity } from '../lib/quantity.ts';
import { parseDuration } from './duration.ts';

/** `wave`: app.toml in a .wave bundle; `qz`: the legacy q8s q-app.toml in a .qz bundle. */
export type BundleFormat = 'wave' | 'qz';

/** Categories the UI groups apps by; any other value is accepted with a warning. */
export const CATEGORIES = ['All', 'Data Science', 'Financial Services', 'Healthcare', 'Insurance', 'Manufacturing', 'Marketing', 'Retail', 'Sales', 'Telecommunications', 'Other'] as const;
export const INSTANCE_LIFECYCLES = ['ON_DEMAND', 'MANAGED', 'LINK'] as const;
export const ROUTING_MODES = ['DOMAIN', 'BASE_URL'] as const;
export type InstanceLifecycle = (typeof INSTANCE_LIFECYCLES)[number];
export type RoutingMode = (typeof ROUTING_MODES)[number];

/** A value injected from a literal or from a key of a platform secret. */
export type ValueSource = { value: string } | { secret: string; secretKey: string; optional?: true };
export type EnvSpec = { name: string } & ValueSource;
export type FileSpec = { path: string } & ValueSource;

export interface AppSection {
  name: string;
  version: string;
  title?: string;
  description?: string;
  /** Path (inside the bundle) of a markdown file shown on the app's page. */
  longDescription?: string;
  category?: string;
  keywords: string[];
  instanceLifecycle?: InstanceLifecycle;
}

/** Runtime requests; quantities are kept as written (Kubernetes accepts them as they are). */
export interface RuntimeSection {
  module: string;
  volumeMount?: string;
  volumeSize?: string;
  resourceVolumeSize?: string;
  memoryLimit?: string;
  memoryReservation?: string;
  cpuLimit?: string;
  cpuReservation?: string;
  gpuCount?: number;
  gpuType?: string;
  enableOIDC?: boolean;
  enableSHM?: boolean;
  routingMode?: RoutingMode;
  runtimeVersion?: string;
  /** Go-style duration as written (`30m`); see instanceTimeoutMs. */
  instanceTimeout?: string;
  instanceTimeoutMs?: number;
}

export interface AppManifest {
  format: BundleFormat;
  app: AppSection;
  runtime: RuntimeSection;
  env: EnvSpec[];
  files: FileSpec[];
  /** Unknown sections and keys, kept as parsed, by path: `Brand`, `App.Foo`, `Env[1].Bar`. */
  extra: Record<string, unknown>;
  /** The whole parsed TOML document. */
  raw: TomlTable;
  /** The TOML text as given. */
  source: string;
}

export interface ParseManifestOptions {
  format: BundleFormat;
  /** File names in the bundle; when given, LongDescription must name one of them. */
  archiveFiles?: Set<string>;
  /** Name used in messages; defaults to app.toml / q-app.toml by format. */
  fileName?: string;
}

export interface ParsedManifest {
  manifest: AppManifest;
  warnings: FieldIssue[];
}

const KNOWN_APP_KEYS = ['Name', 'Version', 'Title', 'Description', 'LongDescription', 'Category', 'Keywords', 'InstanceLifecycle'];
const KNOWN_RUNTIME_KEYS = [
  'Module', 'VolumeMount', 'VolumeSize', 'ResourceVolumeSize', 'MemoryLimit', 'MemoryReservation', 'CPULimit', 'CPUReservation',
  'GPUCount', 'GPUType', 'EnableOIDC', 'EnableSHM', 'RoutingMode', 'RuntimeVersion', 'InstanceTimeout',
];
const KNOWN_ENV_KEYS = ['Name', 'Secret', 'SecretKey', 'Optional', 'Value'];
const KNOWN_FILE_KEYS = ['Path', 'Secret', 'SecretKey', 'Optional', 'Value'];
const KNOWN_SECTIONS = ['App', 'Runtime', 'Env', 'File'];

const APP_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const PYTHON_MODULE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const SECRET_KEY = /^[-._A-Za-z0-9]+$/;
const RUNTIME_VERSION = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

const MAX = { name: 253, version: 128, title: 200, description: 10_000, category: 64, keyword: 64, keywords: 50, secret: 253, path: 4096, gpuType: 253 };

type TomlValue = TomlTable[string];

function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof TomlDate) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v instanceof TomlDate || v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `the ${typeof v} ${String(v)}`;
}

/** Collects issues, warnings and unknown keys while one document is checked. */
class Checker {
  readonly issues: FieldIssue[] = [];
  readonly warnings: FieldIssue[] = [];
  readonly extra: Record<string, unknown> = {};

  error(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  /** Records keys of `table` not in `known` as extra + warning, with a did-you-mean for case slips. */
  unknownKeys(table: TomlTable, known: string[], prefix: string): void {
    for (const key of Object.keys(table)) {
      if (known.includes(key)) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      this.extra[path] = table[key];
      const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
      this.warn(path, near ? `unknown key (keys are case-sensitive: did you mean ${near}?); it is kept but not used by the platform` : 'unknown key; it is kept but not used by the platform');
    }
  }

  /** A string field: undefined when absent; an issue when of another type or too long. */
  string(table: TomlTable, key: string, path: string, opts: { required?: string; max?: number } = {}): string | undefined {
    const v: TomlValue | undefined = table[key];
    if (v === undefined) {
      if (opts.required) this.error(path, `is required: ${opts.required}`);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.error(path, `must be a string (in quotes), not ${describe(v)}`);
      return undefined;
    }
    if (opts.max !== undefined && v.length > opts.max) {
      this.error(path, `is ${v.length} characters long; shorten it to at most ${opts.max}`);
      return undefined;
    }
    return v;
  }

  boolean(table: TomlTable, key: string, path: string): boolean | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.error(path, `must be true or false (without quotes), not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(table: TomlTable, key: string, path: string, values: readonly T[]): T | undefined {
    const v = this.string(table, key, path);
    if (v === undefined) return undefined;
    if ((values as readonly string[]).includes(v)) return v as T;
    const near = values.find((x) => x.toLowerCase() === v.toLowerCase());
    this.error(path, `${JSON.stringify(v)} is not one of ${values.join(', ')}${near ? ` (did you mean ${near}?)` : ''}`);
    return undefined;
  }

  /** A Kubernetes quantity string; `bytes` also requires a whole, positive number of bytes. */
  quantity(table: TomlTable, key: string, path: string, kind: 'bytes' | 'cpu'): { text: string; value: number } | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    const example = kind === 'bytes' ? '"500Mi" or "2Gi"' : '"500m" or "2"';
    if (typeof v !== 'string') {
      this.error(path, `must be a quantity string such as ${key} = ${example}, not ${describe(v)}`);
      return undefined;
    }
    if (!isQuantity(v)) {
      const hint = /^\d+(\.\d+)?\s*(kb|mb|gb|tb|k|m|g|t)i?b?$/i.test(v) && kind === 'bytes' ? ' (binary units are Ki, Mi, Gi, Ti; decimal are k, M, G, T)' : '';
      this.error(path, `${JSON.stringify(v)} is not a Kubernetes quantity${hint}; use e.g. ${example}`);
      return undefined;
    }
    const value = parseQuantity(v);
    if (!Number.isFinite(value) || value <= 0) {
      this.error(path, `${JSON.stringify(v)} must be a positive quantity such as ${example}`);
      return undefined;
    }
    if (kind === 'bytes' && !Number.isInteger(value)) {
      const hint = /m$/.test(v) ? ` ("m" means thousandths; did you mean ${v.slice(0, -1)}Mi?)` : '';
      this.error(path, `${JSON.stringify(v)} is not a whole number of bytes${hint}; use e.g. ${example}`);
      return undefined;
    }
    return { text: v, value };
  }
}

/** `some/dir/` → problem text, or undefined when `p` is a usable file path. */
function filePathProblem(p: string): string | undefined {
  if (p === '') return 'must not be empty; give the path of the file to create, e.g. "config/settings.json"';
  if (p.includes('\0')) return 'must not contain a NUL character';
  if (p.includes('\\')) return "must use '/' as the separator";
  if (p.endsWith('/')) return 'must name a file, not a directory (remove the trailing /)';
  if (p.split('/').includes('..')) return "must not contain '..'; use an absolute path or one below the app folder";
  return undefined;
}

function checkValueSource(c: Checker, t: TomlTable, path: string): ValueSource | undefined {
  const secret = c.string(t, 'Secret', `${path}.Secret`, { max: MAX.secret });
  const secretKey = c.string(t, 'SecretKey', `${path}.SecretKey`, { max: MAX.secret });
  const value = c.string(t, 'Value', `${path}.Value`);
  const optional = c.boolean(t, 'Optional', `${path}.Optional`);
  if (optional !== undefined && t.Value !== undefined) c.error(`${path}.Optional`, 'cannot be used together with Value: Optional says a secret may be missing; remove it, or use Secret with SecretKey');
  const hasSecret = t.Secret !== undefined;
  const hasKey = t.SecretKey !== undefined;
  const hasValue = t.Value !== undefined;
  if (hasValue && (hasSecret || hasKey)) {
    if (hasSecret) c.error(`${path}.Secret`, 'cannot be used together with Value: use either Value, or Secret with SecretKey');
    if (hasKey) c.error(`${path}.SecretKey`, 'cannot be used together with Value: use either Value, or Secret with SecretKey');
    return undefined;
  }
  if (!hasValue && !hasSecret && !hasKey) {
    c.error(path, 'needs a value: set Value = "…", or Secret and SecretKey to take it from a platform secret');
    return undefined;
  }
  if (hasSecret && !hasKey) c.error(`${path}.SecretKey`, 'is required with Secret: name the key within the secret to use');
  if (hasKey && !hasSecret) c.error(`${path}.Secret`, 'is required with SecretKey: name the platform secret that holds the key');
  if (secret !== undefined && !SECRET_NAME.test(secret)) c.error(`${path}.Secret`, `${JSON.stringify(secret)} is not a secret name: use letters, digits, '.', '-' and '_'`);
  if (secretKey !== undefined && !SECRET_KEY.test(secretKey)) c.error(`${path}.SecretKey`, `${JSON.stringify(secretKey)} is not a secret key: use letters, digits, '.', '-' and '_'`);
  if (value !== undefined) return { value };
  if (secret !== undefined && secretKey !== undefined && SECRET_NAME.test(secret) && SECRET_KEY.test(secretKey)) return { secret, secretKey, ...(optional ? { optional: true as const } : {}) };
  return undefined;
}

/** Items of an array-of-tables section (`[[Env]]`); an issue when the section has another shape. */
function arrayOfTables(c: Checker, doc: TomlTable, key: 'Env' | 'File'): Array<TomlTable | undefined> {
  const v = doc[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    c.error(key, `must be written as repeated [[${key}]] tables, not ${describe(v)}`);
    return [];
  }
  return v.map((item, i) => {
    if (isTable(item)) return item;
    c.error(`${key}[${i}]`, `must be a table ([[${key}]] with keys), not ${describe(item)}`);
    return undefined;
  });
}

/** Exactly a semver version as written: no leading `v`, `=` or spaces (which semver.parse tolerates). */
function isStrictSemver(v: string): boolean {
  const p = semver.parse(v);
  return p !== null && v === p.version + (p.build.length ? `+${p.build.join('.')}` : '');
}

function checkApp(c: Checker, doc: TomlTable, opts: ParseManifestOptions): AppSection | undefined {
  const raw = doc.App;
  let t: TomlTable = {};
  if (raw !== undefined && !isTable(raw)) c.error('App', `must be a table ([App] section), not ${describe(raw)}`);
  else if (raw !== undefined) t = raw;
  c.unknownKeys(t, KNOWN_APP_KEYS, 'App');

  const name = c.string(t, 'Name', 'App.Name', { required: 'add Name = "ai.example.my-app" under [App]', max: MAX.name });
  if (name !== undefined && !APP_NAME.test(name)) {
    c.error('App.Name', `${JSON.stringify(name)} is not a valid app name: use letters, digits, '.', '-' and '_', starting and ending with a letter or digit (e.g. "ai.h2o.wave.my-app")`);
  }
  const version = c.string(t, 'Version', 'App.Version', { required: 'add Version = "0.1.0" under [App] (a https://semver.org version)', max: MAX.version });
  if (version !== undefined && !isStrictSemver(version)) {
    const cleaned = semver.valid(semver.coerce(version));
    c.error('App.Version', `${JSON.stringify(version)} is not a semantic version (https://semver.org): use MAJOR.MINOR.PATCH${cleaned ? `, e.g. "${cleaned}"` : ', e.g. "1.0.0"'}`);
  }
  const title = c.string(t, 'Title', 'App.Title', { max: MAX.title });
  const description = c.string(t, 'Description', 'App.Description', { max: MAX.description });
  const category = c.string(t, 'Category', 'App.Category', { max: MAX.category });
  if (category !== undefined && !(CATEGORIES as readonly string[]).includes(category)) {
    c.warn('App.Category', `${JSON.stringify(category)} is not a category the UI knows (${CATEGORIES.join(', ')}); the app is listed under it anyway`);
  }
  const keywords: string[] = [];
  const kw = t.Keywords;
  if (kw !== undefined) {
    if (!Array.isArray(kw)) c.error('App.Keywords', `must be a list of strings, e.g. Keywords = ["finance", "forecast"], not ${describe(kw)}`);
    else {
      if (kw.length > MAX.keywords) c.error('App.Keywords', `has ${kw.length} keywords; keep at most ${MAX.keywords}`);
      kw.forEach((k, i) => {
        if (typeof k !== 'string') c.error(`App.Keywords[${i}]`, `must be a string, not ${describe(k)}`);
        else if (k.length > MAX.keyword) c.error(`App.Keywords[${i}]`, `is ${k.length} characters long; shorten it to at most ${MAX.keyword}`);
        else if (k.trim() === '') c.error(`App.Keywords[${i}]`, 'must not be empty');
        else keywords.push(k);
      });
    }
  }
  let longDescription = c.string(t, 'LongDescription', 'App.LongDescription', { max: MAX.path });
  if (longDescription !== undefined) {
    const p = longDescription;
    const normalized = posix.normalize(p);
    if (p === '' || p.startsWith('/') || p.includes('\\') || normalized.startsWith('../') || normalized === '..' || p.endsWith('/')) {
      c.error('App.LongDescription', `${JSON.stringify(p)} must be the path of a markdown file inside the bundle, relative to its root (e.g. "README.md")`);
      longDescription = undefined;
    } else {
      longDescription = normalized;
      if (opts.archiveFiles && !opts.archiveFiles.has(normalized)) {
        c.error('App.LongDescription', `${JSON.stringify(p)} is not in the bundle: add the file (check .appignore) or fix the path`);
      }
      if (!/\.(md|markdown)$/i.test(normalized)) c.warn('App.LongDescription', `${JSON.stringify(p)} is shown as markdown; name it *.md`);
    }
  }
  const instanceLifecycle = c.oneOf(t, 'InstanceLifecycle', 'App.InstanceLifecycle', INSTANCE_LIFECYCLES);
  if (name === undefined || version === undefined) return undefined;
  return { name, version, title, description, longDescription, category, keywords, instanceLifecycle };
}

function checkRuntime(c: Checker, doc: TomlTable): RuntimeSection | undefined {
  const raw = doc.Runtime;
  let t: TomlTable = {};
  if (raw !== undefined && !isTable(raw)) c.error('Runtime', `must be a table ([Runtime] section), not ${describe(raw)}`);
  else if (raw !== undefined) t = raw;
  c.unknownKeys(t, KNOWN_RUNTIME_KEYS, 'Runtime');

  const module = c.string(t, 'Module', 'Runtime.Module', { required: 'add Module = "app" under [Runtime] (the app starts as python3 -m <Module>)', max: MAX.name });
  // "app.py" parses as a dotted name, but it is always the file name given by mistake.
  if (module !== undefined && (!PYTHON_MODULE.test(module) || module.endsWith('.py'))) {
    const hint = module.endsWith('.py') ? `; drop the .py: Module = ${JSON.stringify(module.slice(0, -3).replaceAll('/', '.'))}` : module.includes('/') ? `; use dots, not slashes: Module = ${JSON.stringify(module.replaceAll('/', '.'))}` : '';
    c.error('Runtime.Module', `${JSON.stringify(module)} is not a Python module name (dotted identifiers such as "app.run")${hint}`);
  }

  let volumeMount: string | undefined;
  const vm = c.string(t, 'VolumeMount', 'Runtime.VolumeMount', { max: MAX.path });
  if (vm !== undefined) {
    if (!vm.startsWith('/')) c.error('Runtime.VolumeMount', `${JSON.stringify(vm)} must be an absolute path, e.g. "/data"`);
    else if (vm === '/') c.error('Runtime.VolumeMount', 'cannot be the root directory /; use a directory such as "/data"');
    else if (posix.normalize(vm) !== vm || vm.endsWith('/')) c.error('Runtime.VolumeMount', `${JSON.stringify(vm)} must be a normalized absolute path without '..', '//' or a trailing '/', e.g. "/data"`);
    else if (vm === '/resources' || vm.startsWith('/resources/')) c.error('Runtime.VolumeMount', "/resources holds the app's Python environment; mount the volume elsewhere, e.g. \"/data\"");
    else volumeMount = vm;
  }
  const volumeSize = c.quantity(t, 'VolumeSize', 'Runtime.VolumeSize', 'bytes');
  if (t.VolumeMount !== undefined && t.VolumeSize === undefined) c.error('Runtime.VolumeSize', 'is required with VolumeMount: set the size of the volume, e.g. VolumeSize = "1Gi"');
  if (t.VolumeSize !== undefined && t.VolumeMount === undefined) c.error('Runtime.VolumeMount', 'is required with VolumeSize: set where the volume is mounted, e.g. VolumeMount = "/data"');
  const resourceVolumeSize = c.quantity(t, 'ResourceVolumeSize', 'Runtime.ResourceVolumeSize', 'bytes');
  const memoryLimit = c.quantity(t, 'MemoryLimit', 'Runtime.MemoryLimit', 'bytes');
  const memoryReservation = c.quantity(t, 'MemoryReservation', 'Runtime.MemoryReservation', 'bytes');
  if (memoryLimit && memoryReservation && memoryReservation.value > memoryLimit.value) {
    c.error('Runtime.MemoryReservation', `${memoryReservation.text} is more than MemoryLimit ${memoryLimit.text}: a reservation cannot exceed the limit; lower MemoryReservation or raise MemoryLimit`);
  }
  const cpuLimit = c.quantity(t, 'CPULimit', 'Runtime.CPULimit', 'cpu');
  const cpuReservation = c.quantity(t, 'CPUReservation', 'Runtime.CPUReservation', 'cpu');
  if (cpuLimit && cpuReservation && cpuReservation.value > cpuLimit.value) {
    c.error('Runtime.CPUReservation', `${cpuReservation.text} is more than CPULimit ${cpuLimit.text}: a reservation cannot exceed the limit; lower CPUReservation or raise CPULimit`);
  }
  let gpuCount: number | undefined;
  if (t.GPUCount !== undefined) {
    const v = t.GPUCount;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) c.error('Runtime.GPUCount', `must be a whole number of GPUs, 0 or more, without quotes (e.g. GPUCount = 1), not ${describe(v)}`);
    else gpuCount = v;
  }
  const gpuType = c.string(t, 'GPUType', 'Runtime.GPUType', { max: MAX.gpuType });
  if (gpuType !== undefined && gpuType.trim() === '') c.error('Runtime.GPUType', 'must not be empty; remove it or name the GPU type');
  const enableOIDC = c.boolean(t, 'EnableOIDC', 'Runtime.EnableOIDC');
  const enableSHM = c.boolean(t, 'EnableSHM', 'Runtime.EnableSHM');
  const routingMode = c.oneOf(t, 'RoutingMode', 'Runtime.RoutingMode', ROUTING_MODES);
  const runtimeVersion = c.string(t, 'RuntimeVersion', 'Runtime.RuntimeVersion', { max: MAX.name });
  if (runtimeVersion !== undefined && !RUNTIME_VERSION.test(runtimeVersion)) {
    c.error('Runtime.RuntimeVersion', `${JSON.stringify(runtimeVersion)} is not a runtime version name: use letters, digits, '.', '-' and '_' (ask an admin for the available ones)`);
  }
  const instanceTimeout = c.string(t, 'InstanceTimeout', 'Runtime.InstanceTimeout', { max: 64 });
  let instanceTimeoutMs: number | undefined;
  if (instanceTimeout !== undefined) {
    instanceTimeoutMs = parseDuration(instanceTimeout);
    if (instanceTimeoutMs === undefined || instanceTimeoutMs <= 0) {
      c.error('Runtime.InstanceTimeout', `${JSON.stringify(instanceTimeout)} is not a positive duration: use a number with a unit (h, m, s, ms), e.g. "30m", "2h" or "1h30m"`);
      instanceTimeoutMs = undefined;
    }
  }
  if (module === undefined || !PYTHON_MODULE.test(module) || module.endsWith('.py')) return undefined;
  return {
    module,
    volumeMount,
    volumeSize: volumeSize?.text,
    resourceVolumeSize: resourceVolumeSize?.text,
    memoryLimit: memoryLimit?.text,
    memoryReservation: memoryReservation?.text,
    cpuLimit: cpuLimit?.text,
    cpuReservation: cpuReservation?.text,
    gpuCount,
    gpuType,
    enableOIDC,
    enableSHM,
    routingMode,
    runtimeVersion,
    instanceTimeout: instanceTimeoutMs === undefined ? undefined : instanceTimeout,
    instanceTimeoutMs,
  };
}

function checkEnv(c: Checker, doc: TomlTable, format: BundleFormat): EnvSpec[] {
  const out: EnvSpec[] = [];
  const firstIndex = new Map<string, number>();
  const forbidden = format === 'qz' ? ['H2O_CLOUD', 'Q8S'] : ['H2O_CLOUD'];
  arrayOfTables(c, doc, 'Env').forEach((t, i) => {
    if (!t) return;
    const path = `Env[${i}]`;
    c.unknownKeys(t, KNOWN_ENV_KEYS, path);
    const name = c.string(t, 'Name', `${path}.Name`, { required: 'name the environment variable, e.g. Name = "MY_SETTING"', max: MAX.name });
    let nameOk = false;
    if (name !== undefined) {
      const prefix = forbidden.find((p) => name.toUpperCase().startsWith(p));
      if (!ENV_NAME.test(name)) c.error(`${path}.Name`, `${JSON.stringify(name)} is not a valid environment variable name: use letters, digits and '_', not starting with a digit`);
      else if (prefix) c.error(`${path}.Name`, `${JSON.stringify(name)} starts with ${prefix}, which is reserved for the platform; choose another name`);
      else if (firstIndex.has(name)) c.error(`${path}.Name`, `${JSON.stringify(name)} is already set by Env[${firstIndex.get(name)}]; each variable may be set once`);
      else nameOk = true;
      if (!firstIndex.has(name)) firstIndex.set(name, i);
    }
    const source = checkValueSource(c, t, path);
    if (nameOk && name !== undefined && source) out.push({ name, ...source });
  });
  return out;
}

function checkFiles(c: Checker, doc: TomlTable): FileSpec[] {
  const out: FileSpec[] = [];
  const dirOwner = new Map<string, number>();
  arrayOfTables(c, doc, 'File').forEach((t, i) => {
    if (!t) return;
    const path = `File[${i}]`;
    c.unknownKeys(t, KNOWN_FILE_KEYS, path);
    const p = c.string(t, 'Path', `${path}.Path`, { required: 'give the path of the file to create, e.g. Path = "config/settings.json"', max: MAX.path });
    let pathOk = false;
    let normalized = '';
    if (p !== undefined) {
      const problem = filePathProblem(p);
      normalized = posix.normalize(p);
      const dir = posix.dirname(normalized);
      if (problem) c.error(`${path}.Path`, `${JSON.stringify(p)} ${problem}`);
      else if (dir === '/' || dir === '.') {
        c.error(`${path}.Path`, `${JSON.stringify(p)} is directly in ${dir === '/' ? 'the root directory /' : 'the app directory'}; files must be placed in a subdirectory (e.g. "${dir === '/' ? '/config/' : 'config/'}${posix.basename(normalized)}"), because the directory is mounted as a whole`);
      } else if (dir === '/resources' || dir.startsWith('/resources/')) {
        c.error(`${path}.Path`, `${JSON.stringify(p)} is in /resources, which holds the app's Python environment; choose another directory`);
      } else if (dirOwner.has(dir)) {
        c.error(`${path}.Path`, `directory ${dir} is already used by File[${dirOwner.get(dir)}]; each File needs its own directory, because the directory is mounted as a whole`);
      } else pathOk = true;
      if (!problem && !dirOwner.has(dir)) dirOwner.set(dir, i);
    }
    const source = checkValueSource(c, t, path);
    if (pathOk && source) out.push({ path: normalized, ...source });
  });
  return out;
}

/**
 * Parses and validates an app.toml (`format: 'wave'`) or q-app.toml
 * (`format: 'qz'`). Throws InvalidError listing every problem; returns the
 * manifest and warnings (unknown sections, keys and categories).
 */
export function parseManifest(text: string, opts: ParseManifestOptions): ParsedManifest {
  const fileName = opts.fileName ?? (opts.format === 'qz' ? 'q-app.toml' : 'app.toml');
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let doc: TomlTable;
  try {
    // Keys such as __proto__ are refused rather than merged into objects.
    doc = parse(source, { unsafeKeyBehaviour: 'throw', maxDepth: 32 });
  } catch (err) {
    if (err instanceof TomlError) {
      const what = err.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      throw new InvalidError(`${fileName} is not valid TOML`, [{ path: `${fileName}:${err.line}:${err.column}`, message: `line ${err.line}, column ${err.column}: ${what}; fix the TOML syntax (https://toml.io)` }], { cause: err });
    }
    throw err;
  }
  const c = new Checker();
  for (const key of Object.keys(doc)) {
    if (KNOWN_SECTIONS.includes(key)) continue;
    c.extra[key] = doc[key];
    const near = KNOWN_SECTIONS.find((k) => k.toLowerCase() === key.toLowerCase());
    c.warn(key, isTable(doc[key]) || Array.isArray(doc[key])
      ? `unknown section [${key}]${near ? ` (section names are case-sensitive: did you mean [${near}]?)` : ''}; it is kept but not used by the platform`
      : `unknown top-level key${near ? ` (did you mean [${near}]?)` : ''}; it is kept but not used by the platform`);
  }
  const app = checkApp(c, doc, opts);
  const runtime = checkRuntime(c, doc);
  const env = checkEnv(c, doc, opts.format);
  const files = checkFiles(c, doc);
  if (c.issues.length || !app || !runtime) {
    throw new InvalidError(`${fileName} is invalid (${c.issues.length} problem${c.issues.length === 1 ? '' : 's'})`, c.issues);
  }
  return { manifest: { format: opts.format, app, runtime, env, files, extra: c.extra, raw: doc, source }, warnings: c.warnings };
}
