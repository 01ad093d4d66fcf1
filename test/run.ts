/**
 * The one test command (`npm test`): finds test files, starts the real
 * components they declare in a `// needs: postgres, s3, cluster` line once
 * for the whole run, runs them with node's test runner and prints
 * `N passed, N failed`.
 *
 *   npm test                      every test
 *   npm test -- src/bundle test/api.test.ts   only these files/folders
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { repoRoot } from './support/go-tool.ts';
import type { Service } from './support/service.ts';

type ServiceName = 'postgres' | 's3' | 'cluster' | 'oidc';
const starters: Record<ServiceName, (log: (m: string) => void) => Promise<Service>> = {
  postgres: async (log) => (await import('./support/postgres.ts')).startPostgres(log),
  s3: async (log) => (await import('./support/s3.ts')).startS3(log),
  cluster: async (log) => (await import('./support/cluster.ts')).startTestCluster(log),
  oidc: async (log) => (await import('./support/oidc.ts')).startOidc(log),
};

function log(m: string): void {
  process.stderr.write(`[test-setup] ${m}\n`);
}

function findTests(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    const base = relative(repoRoot, path).split('/')[0];
    if (['node_modules', '.git', 'web', 'dist'].includes(base ?? '') && path !== repoRoot) return;
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      findTests(join(path, name), out);
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
}

function needs(file: string): ServiceName[] {
  const m = /^\/\/ needs: (.+)$/m.exec(readFileSync(file, 'utf8'));
  if (!m?.[1]) return [];
  return m[1].split(',').map((s) => {
    const n = s.trim() as ServiceName;
    if (!(n in starters)) throw new Error(`${relative(repoRoot, file)}: unknown service "${n}" in // needs: line`);
    return n;
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const roots = args.length ? args.map((a) => resolve(a)) : [join(repoRoot, 'src'), join(repoRoot, 'test')];
  const files: string[] = [];
  for (const r of roots) findTests(r, files);
  if (!files.length) {
    log('no test files found');
    return 1;
  }
  // Tests start the real commands (bin/*.mjs), which run dist/: compile once here, not in parallel per file.
  const build = spawnSync(process.execPath, [join(repoRoot, 'bin', 'dist.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('compiling src/ to dist/ failed (node bin/dist.mjs)');
  const wanted = new Set(files.flatMap(needs));
  const started: Service[] = [];
  // Interrupted (Ctrl-C, CI timeout): stop what was started before exiting, so no server outlives the run.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping services`);
      void Promise.allSettled(started.map((s) => s.stop())).then(() => process.exit(130));
    });
  }
  const env: Record<string, string> = { ...process.env } as Record<string, string>;
  let result = { code: 1, pass: 0, fail: 0, skipped: 0 };
  try {
    // Order matters only for speed: the slow cluster first would block nothing else, so start in parallel.
    const services = await Promise.all([...wanted].map((n) => starters[n](log).then((s) => (started.push(s), s))));
    for (const s of services) Object.assign(env, s.env);
    result = await runNodeTests(files, env);
  } finally {
    await Promise.allSettled(started.map((s) => s.stop()));
  }
  // Last, after the services' own messages: CI reads this line.
  process.stdout.write(`\n${result.pass} passed, ${result.fail} failed, ${result.skipped} skipped\n`);
  return result.code;
}

function runNodeTests(files: string[], env: Record<string, string>): Promise<{ code: number; pass: number; fail: number; skipped: number }> {
  return new Promise((resolveCode) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${env.APPSTORE_TEST_CONCURRENCY ?? '2'}`, ...files.map((f) => relative(repoRoot, f))],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let tail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4096);
    });
    child.on('close', (code) => {
      // The spec reporter ends with "ℹ pass N", "ℹ fail N", "ℹ skipped N".
      const pass = Number(/ℹ pass (\d+)/.exec(tail)?.[1] ?? 0);
      // A test process that crashed before reporting counts as a failure too.
      const fail = Number(/ℹ fail (\d+)/.exec(tail)?.[1] ?? 0) || (code === 0 ? 0 : 1);
      const skipped = Number(/ℹ skipped (\d+)/.exec(tail)?.[1] ?? 0);
      resolveCode({ code: code === 0 && fail === 0 && pass > 0 ? 0 : 1, pass, fail, skipped });
    });
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`setup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.stdout.write('\n0 passed, 1 failed\n');
    process.exit(1);
  },
);
