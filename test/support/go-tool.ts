/**
 * Builds a Go program pinned by one of the small modules under test/tools/
 * and caches the binary outside the work tree, keyed by a hash of the
 * module's go.mod/go.sum and the build flags, so a second run starts at once.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, '..', '..');

export interface GoTool {
  /** Folder of the Go module under the repository, e.g. `test/tools/versitygw`. */
  module: string;
  /** Package to build, e.g. `github.com/versity/versitygw/cmd/versitygw`. */
  pkg: string;
  /** Binary name in the cache. */
  name: string;
  ldflags?: string;
  tags?: string;
}

export function cacheRoot(): string {
  return process.env.APPSTORE_CACHE_DIR ?? join(homedir(), '.cache', 'appstore');
}

function cacheKey(tool: GoTool): string {
  const dir = join(repoRoot, tool.module);
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) {
    const p = join(dir, f);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  h.update(`${tool.pkg}\0${tool.ldflags ?? ''}\0${tool.tags ?? ''}`);
  return h.digest('hex').slice(0, 16);
}

/** Path the tool's binary has (or will have) in the cache. */
export function goToolPath(tool: GoTool): string {
  return join(cacheRoot(), 'bin', `${tool.name}-${cacheKey(tool)}`, tool.name);
}

/** Returns the cached binary, building it first if needed. */
export async function ensureGoTool(tool: GoTool, log: (m: string) => void = () => {}): Promise<string> {
  const out = goToolPath(tool);
  if (existsSync(out)) return out;
  mkdirSync(join(out, '..'), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const args = ['build', '-trimpath', '-o', tmp];
  if (tool.tags) args.push('-tags', tool.tags);
  if (tool.ldflags) args.push('-ldflags', tool.ldflags);
  args.push(tool.pkg);
  log(`building ${tool.name} (${tool.pkg}); first build takes a while, later runs use ${out}`);
  const started = Date.now();
  await run('go', args, {
    cwd: join(repoRoot, tool.module),
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    maxBuffer: 64 * 1024 * 1024,
  });
  renameSync(tmp, out);
  log(`built ${tool.name} in ${Math.round((Date.now() - started) / 1000)}s`);
  return out;
}

/** Several programs built from one module in a single `go build`, so shared packages compile once. */
export interface GoToolSet {
  /** Folder of the Go module under the repository, e.g. `test/tools/k8s`. */
  module: string;
  /** Name of the cache folder, e.g. `k8s`. */
  name: string;
  /** Binary name to package path, e.g. `{ kubectl: 'k8s.io/kubernetes/cmd/kubectl', etcd: 'go.etcd.io/etcd/server/v3' }`. */
  pkgs: Record<string, string>;
  ldflags?: string;
  tags?: string;
}

/** The file name `go build -o DIR/` gives a package's binary: its last path element, or the one before a major-version suffix (`.../server/v3` → `server`). */
function goBinaryName(pkg: string): string {
  const parts = pkg.split('/');
  const last = parts[parts.length - 1] ?? pkg;
  return /^v\d+$/.test(last) && parts.length > 1 ? parts[parts.length - 2]! : last;
}

function setCacheKey(set: GoToolSet): string {
  const dir = join(repoRoot, set.module);
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) {
    const p = join(dir, f);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  for (const [name, pkg] of Object.entries(set.pkgs).sort()) h.update(`${name}=${pkg}\0`);
  h.update(`${set.ldflags ?? ''}\0${set.tags ?? ''}`);
  return h.digest('hex').slice(0, 16);
}

/** Folder the set's binaries have (or will have) in the cache. */
export function goToolSetDir(set: GoToolSet): string {
  return join(cacheRoot(), 'bin', `${set.name}-${setCacheKey(set)}`);
}

/** Removes `DIR.tmp-PID` folders left by builds whose process is gone. */
function removeAbandonedBuilds(dir: string): void {
  if (!existsSync(dirname(dir))) return;
  for (const name of readdirSync(dirname(dir))) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m || !name.startsWith(`${basename(dir)}.tmp-`)) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(dirname(dir), name), { recursive: true, force: true });
    }
  }
}

/** Returns binary name to path for the set, building them all first (in one `go build`) if any is missing. */
export async function ensureGoTools(set: GoToolSet, log: (m: string) => void = () => {}): Promise<Record<string, string>> {
  const built = Object.values(set.pkgs).map(goBinaryName);
  if (new Set(built).size !== built.length) throw new Error(`GoToolSet ${set.name}: two packages end in the same path element; go build -o DIR/ would write one file for both`);
  const dir = goToolSetDir(set);
  const paths = Object.fromEntries(Object.keys(set.pkgs).map((n) => [n, join(dir, n)]));
  if (Object.values(paths).every((p) => existsSync(p))) return paths;
  const tmp = `${dir}.tmp-${process.pid}`;
  removeAbandonedBuilds(dir);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const args = ['build', '-trimpath', '-o', `${tmp}/`];
  if (set.tags) args.push('-tags', set.tags);
  if (set.ldflags) args.push('-ldflags', set.ldflags);
  args.push(...Object.values(set.pkgs));
  log(`building ${Object.keys(set.pkgs).join(', ')} from ${set.module}; the first build takes minutes, later runs use ${dir}`);
  const started = Date.now();
  try {
    await run('go', args, {
      cwd: join(repoRoot, set.module),
      // -mod=readonly: go.mod/go.sum are committed and tidy; a build must not rewrite them.
      env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`go build in ${set.module} failed: ${stderr.trim().slice(-4000) || String(err)}`);
  }
  for (const [name, pkg] of Object.entries(set.pkgs)) {
    const builtName = goBinaryName(pkg);
    if (builtName !== name) renameSync(join(tmp, builtName), join(tmp, name));
  }
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another process finished the same build first: keep its result.
    rmSync(tmp, { recursive: true, force: true });
    if (!Object.values(paths).every((p) => existsSync(p))) throw err;
  }
  log(`built ${set.name} in ${Math.round((Date.now() - started) / 1000)}s`);
  return paths;
}
