/**
 * Loads the configuration: defaults, then the TOML file, then `H2O_CLOUD_…`
 * environment variables. Every problem is collected and reported at once in
 * one InvalidError naming the keys, so start-up stops with one clear message.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parse as parseToml, type TomlError } from 'smol-toml';
import { InvalidError, type FieldIssue } from '../lib/errors.ts';
import { isQuantity, parseQuantity } from '../lib/quantity.ts';
import type { Config } from './config.ts';
import { isHostPort } from './instance-url.ts';
import { OPTIONS, type Option } from './options.ts';
import { isRuntimeVersionName, runtimeVersionObjectName } from './runtime-version-name.ts';

export interface LoadedConfig {
  config: Config;
  /** Non-fatal notes for the log (deprecated options). */
  warnings: string[];
}

export interface LoadInput {
  /** Path of the TOML file, if any. */
  file?: string;
  /** Environment to read overrides from (pass process.env from main.ts). */
  env?: Record<string, string | undefined>;
  /** Values given on the command line, keyed `Section.Key`; they win over everything. */
  flags?: Record<string, string>;
}

/** `CPULimit` → `cpuLimit`, `URL` → `url`, `S3AccessKeyID` → `s3AccessKeyID`. */
export function camel(key: string): string {
  const run = /^[A-Z0-9]+/.exec(key)?.[0] ?? '';
  if (run.length === key.length) return key.toLowerCase();
  if (run.length <= 1) return key.charAt(0).toLowerCase() + key.slice(1);
  return run.slice(0, -1).toLowerCase() + key.slice(run.length - 1);
}

const TABLES = new Set(['Server', 'Database', 'Storage', 'Bundle', 'Auth', 'Scheduler', 'Scheduler.DefaultRuntimeLimit', 'Router']);
const ARRAYS = new Set(['RuntimeVersion', 'Auth.StaticToken']);

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function suggest(word: string, candidates: string[]): string {
  const best = candidates.map((c) => ({ c, d: levenshtein(word.toLowerCase(), c.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, word.length / 3) ? `; did you mean ${best.c}?` : '';
}

/** Converts a raw TOML or environment value to the option's type, or returns an error message. */
function convert(opt: Option, raw: unknown, fromEnv: boolean): { value?: unknown; error?: string } {
  const t = opt.type;
  switch (t.kind) {
    case 'string':
    case 'url':
    case 'listen':
    case 'quantity':
    case 'enum': {
      if (typeof raw !== 'string') return { error: `must be a string (got ${typeof raw})` };
      if (t.kind === 'enum' && !t.values.includes(raw)) return { error: `must be one of ${t.values.join(', ')} (got "${raw}")` };
      if (t.kind === 'quantity' && raw !== '' && !isQuantity(raw)) return { error: `"${raw}" is not a Kubernetes quantity; use a value such as 512Mi, 2Gi or 500m` };
      if (t.kind === 'url' && raw !== '' && !/^https?:\/\/[^\s/]+/.test(raw)) return { error: `"${raw}" is not an http(s) URL; use e.g. https://appstore.example.com` };
      if (t.kind === 'listen' && !parseListen(raw)) return { error: `"${raw}" is not host:port; use e.g. 127.0.0.1:8080 or 0.0.0.0:8080` };
      return { value: raw };
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : fromEnv && typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(n)) return { error: `must be a whole number (got ${JSON.stringify(raw)})` };
      if (t.min !== undefined && n < t.min) return { error: `must be at least ${t.min} (got ${n})` };
      if (t.max !== undefined && n > t.max) return { error: `must be at most ${t.max} (got ${n})` };
      return { value: n };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      if (fromEnv && typeof raw === 'string' && /^(true|false|1|0|yes|no)$/i.test(raw.trim())) return { value: /^(true|1|yes)$/i.test(raw.trim()) };
      return { error: `must be true or false (got ${JSON.stringify(raw)})` };
    }
    case 'bytes': {
      const s = typeof raw === 'number' ? String(raw) : raw;
      if (typeof s !== 'string' || !isQuantity(s)) return { error: `must be a size such as 512Mi or 1Gi (got ${JSON.stringify(raw)})` };
      const n = parseQuantity(s);
      if (n <= 0) return { error: `must be larger than zero (got ${s})` };
      return { value: Math.floor(n) };
    }
    case 'duration': {
      const secs = typeof raw === 'string' ? parseDuration(raw) : undefined;
      if (secs === undefined || secs <= 0) return { error: `must be a duration such as 90s, 30m, 12h or 7d (got ${JSON.stringify(raw)})` };
      return { value: secs };
    }
    case 'list': {
      if (fromEnv && typeof raw === 'string') return { value: raw.split(',').map((x) => x.trim()).filter(Boolean) };
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')) return { error: 'must be a list of strings, e.g. ["a", "b"]' };
      return { value: raw };
    }
  }
}

/** Parses `90s`, `30m`, `12h`, `7d`, `1h30m` to whole seconds; undefined when it is not a duration. */
export function parseDuration(s: string): number | undefined {
  const t = s.trim();
  if (!/^(\d+[smhd])+$/.test(t)) return undefined;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const m of t.matchAll(/(\d+)([smhd])/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

/** Parses `host:port` / `[::1]:port`. */
export function parseListen(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? '';
  if (host === '' || (m[1] && isIP(m[1]) !== 6)) return undefined;
  return { host, port };
}

function getPath(obj: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
  cur[path.at(-1)!] = value;
}

function propPath(opt: Option): string[] {
  return [...opt.section.split('.').map(camel), camel(opt.key)];
}

/** Checks the TOML document for sections and keys that do not exist. */
function unknownKeys(doc: Record<string, unknown>, issues: FieldIssue[]): void {
  const known = new Map<string, Set<string>>();
  for (const o of OPTIONS) (known.get(o.section) ?? known.set(o.section, new Set()).get(o.section)!).add(o.key);
  const walk = (table: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(table)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (ARRAYS.has(path)) continue;
      if (TABLES.has(path)) {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) issues.push({ path, message: `must be a table ([${path}])` });
        else walk(v as Record<string, unknown>, path);
        continue;
      }
      const keys = known.get(prefix);
      if (keys?.has(k)) continue;
      const candidates = prefix ? [...(keys ?? []), ...[...TABLES].filter((t) => t.startsWith(`${prefix}.`)).map((t) => t.slice(prefix.length + 1))] : [...TABLES, ...ARRAYS].filter((t) => !t.includes('.'));
      issues.push({ path, message: `is not a configuration option${suggest(k, candidates)}` });
    }
  };
  walk(doc, '');
}

function runtimeVersions(doc: Record<string, unknown>, issues: FieldIssue[]): Config['runtimeVersions'] {
  const raw = doc.RuntimeVersion;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.push({ path: 'RuntimeVersion', message: 'must be an array of tables: write [[RuntimeVersion]] sections' });
    return [];
  }
  const out: Config['runtimeVersions'] = [];
  const names = new Set<string>();
  raw.forEach((rv: unknown, i) => {
    const p = `RuntimeVersion[${i}]`;
    if (rv === null || typeof rv !== 'object') return void issues.push({ path: p, message: 'must be a table' });
    const r = rv as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!['Name', 'Image', 'Default', 'Deprecated'].includes(k)) issues.push({ path: `${p}.${k}`, message: `is not a RuntimeVersion attribute (Name, Image, Default, Deprecated)${suggest(k, ['Name', 'Image', 'Default', 'Deprecated'])}` });
    // Seed-style names (deb11_py310_wlatest) are accepted: the RuntimeVersion object is named with '_' → '-' and lowercase.
    if (typeof r.Name !== 'string' || !isRuntimeVersionName(r.Name)) issues.push({ path: `${p}.Name`, message: 'is required and must be a DNS name once "_" becomes "-" and letters lowercase (letters, digits, -, _ and .), e.g. "deb12-py311" or "deb11_py310_wlatest"' });
    else if (names.has(runtimeVersionObjectName(r.Name))) {
      const obj = runtimeVersionObjectName(r.Name);
      issues.push({ path: `${p}.Name`, message: obj === r.Name ? `"${r.Name}" is used by an earlier RuntimeVersion; names must be unique` : `"${r.Name}" names the same RuntimeVersion object (${obj}) as an earlier entry; names must be unique` });
    }
    else names.add(runtimeVersionObjectName(r.Name));
    if (typeof r.Image !== 'string' || !r.Image.trim()) issues.push({ path: `${p}.Image`, message: 'is required: the container image of the launcher runtime, e.g. "registry.example.com/wave-launcher:1.0"' });
    for (const b of ['Default', 'Deprecated'] as const) if (r[b] !== undefined && typeof r[b] !== 'boolean') issues.push({ path: `${p}.${b}`, message: 'must be true or false' });
    out.push({ name: String(r.Name ?? ''), image: String(r.Image ?? ''), default: r.Default === true, deprecated: r.Deprecated === true });
  });
  const defaults = out.filter((r) => r.default);
  if (defaults.length > 1) issues.push({ path: 'RuntimeVersion', message: `only one RuntimeVersion may have Default = true (found ${defaults.map((d) => d.name).join(', ')})` });
  for (const d of defaults) if (d.deprecated) issues.push({ path: 'RuntimeVersion', message: `the default RuntimeVersion "${d.name}" cannot also be Deprecated` });
  return out;
}

function staticTokens(doc: Record<string, unknown>, issues: FieldIssue[]): Config['auth']['staticTokens'] {
  const raw = getPath(doc, ['Auth', 'StaticToken']);
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.push({ path: 'Auth.StaticToken', message: 'must be an array of tables: write [[Auth.StaticToken]] sections' });
    return [];
  }
  return raw.map((t: unknown, i) => {
    const p = `Auth.StaticToken[${i}]`;
    const r = (t ?? {}) as Record<string, unknown>;
    if (typeof r.Token !== 'string' || r.Token.length < 16) issues.push({ path: `${p}.Token`, message: 'is required and must be at least 16 characters' });
    if (typeof r.Subject !== 'string' || !r.Subject) issues.push({ path: `${p}.Subject`, message: 'is required (the user id)' });
    if (r.Roles !== undefined && (!Array.isArray(r.Roles) || r.Roles.some((x) => typeof x !== 'string'))) issues.push({ path: `${p}.Roles`, message: 'must be a list of strings' });
    return { token: String(r.Token ?? ''), subject: String(r.Subject ?? ''), name: String(r.Name ?? r.Subject ?? ''), roles: (Array.isArray(r.Roles) ? r.Roles : []) as string[] };
  });
}

/** Loads and validates the configuration; throws InvalidError listing every problem. */
export function loadConfig(input: LoadInput = {}): LoadedConfig {
  const issues: FieldIssue[] = [];
  const warnings: string[] = [];
  let doc: Record<string, unknown> = {};
  if (input.file) {
    let text: string;
    try {
      text = readFileSync(input.file, 'utf8');
    } catch (err) {
      throw new InvalidError(`cannot read configuration file ${input.file}: ${(err as Error).message}`);
    }
    try {
      doc = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      const e = err as TomlError;
      throw new InvalidError(`configuration file ${input.file} is not valid TOML (line ${e.line}, column ${e.column}): ${e.message.split('\n')[0]}`);
    }
    unknownKeys(doc, issues);
  }

  const env = input.env ?? {};
  const out: Record<string, unknown> = {};
  for (const opt of OPTIONS) {
    const name = `${opt.section}.${opt.key}`;
    let value: unknown = opt.type.kind === 'bytes' || opt.type.kind === 'listen' || opt.type.kind === 'duration' ? convert(opt, opt.default, false).value : opt.default;
    const sources: Array<[unknown, string, boolean]> = [];
    const fromFile = getPath(doc, [...opt.section.split('.'), opt.key]);
    if (fromFile !== undefined) sources.push([fromFile, name, false]);
    if (env[opt.env] !== undefined) sources.push([env[opt.env], `${opt.env} (environment)`, true]);
    if (input.flags?.[name] !== undefined) sources.push([input.flags[name], `${name} (command line)`, true]);
    for (const [raw, where, fromEnv] of sources) {
      const r = convert(opt, raw, fromEnv);
      if (r.error) issues.push({ path: where, message: r.error });
      else value = r.value;
      if (opt.deprecated) warnings.push(`${where}: ${opt.deprecated}`);
    }
    if (opt.type.kind === 'listen' && typeof value === 'string') value = parseListen(value);
    setPath(out, propPath(opt), value);
  }
  const config = out as unknown as Config;
  config.runtimeVersions = runtimeVersions(doc, issues);
  config.auth.staticTokens = staticTokens(doc, issues);

  // Cross-field rules.
  for (const r of config.server.roles) if (!['api', 'web', 'router', 'operator'].includes(r)) issues.push({ path: 'Server.Roles', message: `unknown role "${r}"; use any of api, web, router, operator` });
  if (config.storage.kind === 's3' && !config.storage.s3Bucket) issues.push({ path: 'Storage.S3Bucket', message: 'is required when Storage.Kind is "s3"' });
  for (const [key, v] of [['MainHost', config.router.mainHost], ['AppsDomain', config.router.appsDomain]] as const)
    if (v && !isHostPort(v)) issues.push({ path: `Router.${key}`, message: `"${v}" is not a host name with an optional port; write it without scheme or path, e.g. ${key === 'MainHost' ? 'appstore.example.com' : 'apps.example.com or apps.localhost:8080'}` });
  const lim = config.scheduler.defaultRuntimeLimit;
  for (const [res, limit, reservation] of [['Memory', lim.memoryLimit, lim.memoryReservation], ['CPU', lim.cpuLimit, lim.cpuReservation]] as const) {
    if (limit && reservation && isQuantity(limit) && isQuantity(reservation) && parseQuantity(reservation) > parseQuantity(limit))
      issues.push({ path: `Scheduler.DefaultRuntimeLimit.${res}Reservation`, message: `${reservation} exceeds ${res}Limit ${limit}; the reservation must not exceed the limit` });
  }
  if (config.auth.mode === 'oidc') {
    if (!config.auth.issuerURL) issues.push({ path: 'Auth.IssuerURL', message: 'is required when Auth.Mode is "oidc": the URL of your OpenID Connect provider, e.g. https://keycloak.example.com/realms/appstore' });
    if (!config.auth.clientID) issues.push({ path: 'Auth.ClientID', message: 'is required when Auth.Mode is "oidc": the client id registered for the app store at the provider' });
  }
  if (config.auth.mode === 'static' && config.auth.staticTokens.length === 0) issues.push({ path: 'Auth.StaticToken', message: 'Auth.Mode "static" needs at least one [[Auth.StaticToken]]' });

  if (issues.length) throw new InvalidError('invalid configuration', issues);
  config.server.dataDir = resolve(config.server.dataDir);
  if (!config.storage.path) config.storage.path = resolve(config.server.dataDir, 'blobs');
  if (!config.server.publicURL) {
    const { host, port } = config.server.listen;
    const h = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(host) ? 'localhost' : host;
    config.server.publicURL = `http://${h}:${port}`;
  }
  config.server.publicURL = config.server.publicURL.replace(/\/+$/, '');
  return { config, warnings };
}

/** True when the host only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
