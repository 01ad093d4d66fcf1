/**
 * Builds a Go program pinned by one of the small modules under test/tools/
 * and caches the binary outside the work tree, keyed by a hash of the
 * module's go.mod/go.sum and the build flags, so a second run starts at once.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
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
