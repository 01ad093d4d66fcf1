/**
 * The CLI's configuration file: named profiles (endpoint and token) and the
 * current one, as TOML. It holds tokens, so it is written with mode 0600 and
 * a file that group or others may read is refused rather than used.
 */
import { chmod, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { InvalidError, NotFoundError } from '../lib/errors.ts';
import type { SignIn } from './sign-in.ts';

/** One server the CLI can talk to. */
export interface Profile {
  endpoint: string;
  /** Platform or static bearer token; absent means anonymous. */
  token?: string;
  /** OpenID Connect sign-in of `h2o config setup` (used when there is no token). */
  signIn?: SignIn;
}

export interface CliConfig {
  /** Name of the profile used when --profile is not given. */
  current?: string;
  profiles: Record<string, Profile>;
}

export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Where the config file lives: --config, then $H2O_CONFIG, then $XDG_CONFIG_HOME/h2o or ~/.config/h2o. */
export function configPath(cwd: string, env: Record<string, string | undefined>, flag?: string): string {
  if (flag) return resolve(cwd, flag);
  if (env.H2O_CONFIG) return resolve(cwd, env.H2O_CONFIG);
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'h2o', 'config.toml');
}

/** Checks that an endpoint is an http(s) URL and returns it without a trailing slash. */
export function normalizeEndpoint(value: string, field = '--endpoint'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidError(`invalid endpoint`, [{ path: field, message: `"${value}" is not a URL; give the server's address, e.g. http://127.0.0.1:8080` }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidError(`invalid endpoint`, [{ path: field, message: `"${value}" is not an http:// or https:// URL` }]);
  }
  return url.href.replace(/\/+$/, '');
}

/** Reads the config file; a missing file is an empty config. Refuses files others may read. */
export async function readConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.mode & 0o077) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new InvalidError(`${path} holds tokens but group or others may access it (mode ${mode}); run \`chmod 600 ${path}\` and try again`);
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw err;
  }
  let raw: Record<string, unknown>;
  try {
    raw = parse(text);
  } catch (err) {
    throw new InvalidError(`${path} is not valid TOML: ${(err as Error).message.split('\n')[0]}; fix it or run \`h2o config setup\``);
  }
  const issues: Array<{ path: string; message: string }> = [];
  const profiles: Record<string, Profile> = {};
  const rawProfiles = raw.profiles ?? {};
  if (typeof rawProfiles !== 'object' || Array.isArray(rawProfiles)) issues.push({ path: 'profiles', message: 'must be a table of [profiles.NAME]' });
  else {
    for (const [name, p] of Object.entries(rawProfiles as Record<string, unknown>)) {
      const rec = p as Record<string, unknown>;
      if (typeof rec !== 'object' || rec === null || typeof rec.endpoint !== 'string') {
        issues.push({ path: `profiles.${name}.endpoint`, message: 'is missing; run `h2o config setup --profile ' + name + ' --endpoint URL`' });
        continue;
      }
      if (rec.token !== undefined && typeof rec.token !== 'string') issues.push({ path: `profiles.${name}.token`, message: 'must be a string' });
      const signIn = rec.signIn === undefined ? undefined : parseSignIn(rec.signIn);
      if (rec.signIn !== undefined && !signIn) issues.push({ path: `profiles.${name}.signIn`, message: 'is damaged; run `h2o config setup` to sign in again' });
      profiles[name] = { endpoint: rec.endpoint, ...(typeof rec.token === 'string' ? { token: rec.token } : {}), ...(signIn ? { signIn } : {}) };
    }
  }
  if (raw.current !== undefined && typeof raw.current !== 'string') issues.push({ path: 'current', message: 'must be a profile name' });
  if (issues.length) throw new InvalidError(`${path} is invalid`, issues);
  return { ...(typeof raw.current === 'string' ? { current: raw.current } : {}), profiles };
}

function parseSignIn(v: unknown): SignIn | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const str = (k: string) => typeof r[k] === 'string' && r[k] !== '';
  if (!str('issuer') || !str('clientID') || !str('idToken') || typeof r.expiresAt !== 'number' || !Array.isArray(r.scopes)) return undefined;
  if (r.refreshToken !== undefined && !str('refreshToken')) return undefined;
  return {
    issuer: r.issuer as string,
    clientID: r.clientID as string,
    scopes: r.scopes.filter((x): x is string => typeof x === 'string'),
    idToken: r.idToken as string,
    ...(typeof r.refreshToken === 'string' ? { refreshToken: r.refreshToken } : {}),
    expiresAt: r.expiresAt,
  };
}

/** Writes the config file atomically with mode 0600 (its folder 0700 when created). */
export async function writeConfig(path: string, config: CliConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const doc: Record<string, unknown> = {};
  if (config.current) doc.current = config.current;
  doc.profiles = config.profiles;
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`# h2o CLI configuration: holds tokens, keep it mode 0600.\n${stringify(doc)}\n`);
  } finally {
    await fh.close();
  }
  // The mode given to open() is masked by the umask; set it exactly.
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** The profile to use: --profile, then $H2O_PROFILE, then the current one. */
export function selectProfile(config: CliConfig, path: string, name?: string): { name: string; profile: Profile } {
  const chosen = name ?? config.current;
  if (!chosen) {
    throw new InvalidError(`no profile is configured in ${path}; run \`h2o config setup --endpoint URL --token TOKEN\` first`);
  }
  const profile = config.profiles[chosen];
  if (!profile) {
    const known = Object.keys(config.profiles);
    throw new NotFoundError(`profile "${chosen}" is not in ${path}${known.length ? ` (known: ${known.join(', ')})` : ''}; run \`h2o config setup --profile ${chosen} --endpoint URL\``);
  }
  return { name: chosen, profile };
}
