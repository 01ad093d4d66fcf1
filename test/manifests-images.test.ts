/**
 * The container images and the Argo CD health check, without a container
 * engine or Argo CD: Dockerfile and Dockerfile.launcher pass BuildKit's own
 * Dockerfile checks (the rules of `docker build --check`, built from
 * test/tools/dockerfile-lint), run as non-root on Node 24+, copy only files
 * that exist and everything the launcher imports; and the AppInstance health
 * script gives the right Argo CD status for fixture AppInstances when run by
 * a real Lua 5.4 interpreter (apt package lua5.4).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { ensureGoTool, repoRoot } from './support/go-tool.ts';

const run = promisify(execFile);
const dockerfileLint = { module: 'test/tools/dockerfile-lint', pkg: '.', name: 'dockerfile-lint' };

/** Runs the BuildKit linter; never throws for findings (exit 1), only for a missing tool. */
async function lint(files: string[]): Promise<{ code: number; out: string }> {
  const bin = await ensureGoTool(dockerfileLint, (m) => console.log(m));
  try {
    const { stdout } = await run(bin, files, { cwd: repoRoot });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface Stage {
  from: string;
  lines: string[];
}

/** Splits a Dockerfile into stages (continuation lines joined, comments dropped) and resolves ARG defaults in FROM. */
function stages(file: string): Stage[] {
  const text = readFileSync(join(repoRoot, file), 'utf8').replace(/\\\n/g, ' ');
  const args: Record<string, string> = {};
  const out: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const arg = /^ARG\s+(\w+)=(\S+)/.exec(line);
    if (arg && out.length === 0) args[arg[1]!] = arg[2]!;
    const from = /^FROM\s+(\S+)/.exec(line);
    if (from) out.push({ from: from[1]!.replace(/\$\{(\w+)\}/g, (_, n: string) => args[n] ?? ''), lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

describe('Dockerfiles', () => {
  const files = ['Dockerfile', 'Dockerfile.launcher'];

  test('pass BuildKit\'s Dockerfile checks', { timeout: 600_000 }, async () => {
    const r = await lint(files);
    assert.equal(r.code, 0, r.out);
    for (const f of files) assert.match(r.out, new RegExp(`^${f.replace('.', '\\.')}: ok$`, 'm'));
  });

  test('the linter reports a Dockerfile that breaks its rules', { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dockerfile-lint-'));
    const bad = join(dir, 'Dockerfile');
    writeFileSync(bad, 'from node:22\nENV A 1\nCMD node server.js\n');
    const r = await lint([bad]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /ConsistentInstructionCasing|FromAsCasing/);
    assert.match(r.out, /LegacyKeyValueFormat/);
    assert.match(r.out, /JSONArgsRecommended/);
  });

  for (const f of files) {
    test(`${f}: final stage runs as a non-root user on Node 24 or newer`, () => {
      const all = stages(f);
      const last = all.at(-1)!;
      const m = /^node:(\d+)/.exec(last.from);
      assert.ok(m, `${f}: the final stage's base ${last.from} is not a node image`);
      assert.ok(Number(m[1]) >= 24, `${f}: Node ${m[1]} is older than the LTS the app store runs on (package.json engines); use 24 or newer`);
      const user = last.lines.filter((l) => l.startsWith('USER ')).at(-1);
      assert.ok(user, `${f}: the final stage sets no USER, so it runs as root`);
      assert.doesNotMatch(user, /^USER\s+(root|0)(:|$)/, `${f}: ${user}`);
    });

    test(`${f}: every file copied from the build context exists`, () => {
      for (const s of stages(f)) {
        for (const l of s.lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
          const parts = l.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
          for (const src of parts.slice(0, -1)) assert.ok(existsSync(join(repoRoot, src)), `${f}: ${l}: ${src} does not exist`);
        }
      }
    });
  }

  test('Dockerfile.launcher copies the compiled folder of every source folder the launcher imports, and no other', async () => {
    const r = await build({ entryPoints: [join(repoRoot, 'src/launcher/main.ts')], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, outfile: join(tmpdir(), 'launcher-closure.mjs'), logLevel: 'silent', absWorkingDir: repoRoot });
    const dirs = new Set(Object.keys(r.metafile.inputs).filter((i) => i.startsWith('src/')).map((i) => i.split('/')[1]!));
    const last = stages('Dockerfile.launcher').at(-1)!.lines.filter((l) => l.startsWith('COPY '));
    const compiled = last.filter((l) => l.includes('--from=build')).map((l) => /\/src\/dist\/([a-z-]+)\s/.exec(l)?.[1]).filter((d) => d !== undefined);
    assert.ok(dirs.size >= 2, `the launcher's import graph looks wrong: ${[...dirs].join(', ')}`);
    assert.deepEqual(new Set(compiled), dirs, 'the launcher image copies exactly the compiled folders src/launcher imports');
    const fromContext = last.filter((l) => !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    for (const bin of ['bin/launcher.mjs', 'bin/dist.mjs', 'bin/build-lock.mjs', 'bin/node-lts.mjs']) assert.ok(fromContext.includes(bin), `Dockerfile.launcher must copy ${bin}`);
    assert.ok(!fromContext.some((p) => p.startsWith('src')), 'the launcher image carries compiled code, not sources');
  });
});

type LuaValue = null | boolean | number | string | LuaValue[] | { [k: string]: LuaValue };

/** A Lua table constructor for a JSON-like value. */
function luaLiteral(v: LuaValue): string {
  if (v === null) return 'nil';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    assert.match(v, /^[\x20-\x7e]*$/, 'fixtures use printable ASCII, which JSON and Lua quote alike');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `{${v.map(luaLiteral).join(', ')}}`;
  return `{${Object.entries(v).map(([k, x]) => `[${JSON.stringify(k)}] = ${luaLiteral(x)}`).join(', ')}}`;
}

const healthScript = readFileSync(join(repoRoot, 'manifests/gitops/appinstance-health.lua'), 'utf8');
const lua = spawnSync('lua5.4', ['-v']).status === 0 ? 'lua5.4' : undefined;

/** Runs the health script the way Argo CD does (a global `obj`, the script's return value). */
function health(obj: LuaValue): { status: string; message: string } {
  const program = `obj = ${luaLiteral(obj)}\nlocal hs = (function()\n${healthScript}\nend)()\nio.write(hs.status, "\\n", hs.message or "")\n`;
  const r = spawnSync(lua!, ['-'], { input: program, encoding: 'utf8' });
  assert.equal(r.status, 0, `lua failed: ${r.stderr}`);
  const [status = '', ...rest] = r.stdout.split('\n');
  return { status, message: rest.join('\n') };
}

function instance(generation: number, status?: Record<string, LuaValue>, spec: Record<string, LuaValue> = {}): LuaValue {
  return {
    apiVersion: 'hac.h2o.ai/v1alpha1',
    kind: 'AppInstance',
    metadata: { name: 'tour', generation },
    spec: { app: { name: 'ai.h2o.wave.tour', version: '1.2.0' }, owner: { subject: 's', name: 'n' }, ...spec },
    ...(status ? { status } : {}),
  };
}
const cond = (type: string, status: string, reason: string, message = '', observedGeneration = 2): LuaValue => ({ type, status, reason, message, observedGeneration, lastTransitionTime: '2026-01-01T00:00:00Z' });

describe('Argo CD health check for AppInstance', { skip: lua ? false : 'lua5.4 is not installed (apt-get install lua5.4); the health script is not run' }, () => {
  const cases: Array<[string, LuaValue, string, RegExp]> = [
    ['no status yet', instance(1), 'Progressing', /generation 1/],
    ['status from an older generation', instance(3, { observedGeneration: 2, conditions: [cond('Ready', 'True', 'Running')] }), 'Progressing', /generation 3/],
    ['no Ready condition', instance(2, { observedGeneration: 2, conditions: [] }), 'Progressing', /Ready/],
    ['Ready condition older than the spec', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'True', 'Running', '', 1)] }), 'Progressing', /generation 1/],
    ['ready', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'True', 'Running', 'serving')] }), 'Healthy', /Running: serving/],
    ['starting', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'Starting', 'installing requirements'), cond('Progressing', 'True', 'Rollout', 'pod starting')] }), 'Progressing', /Rollout: pod starting/],
    ['ready unknown', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'Unknown', 'PodUnknown', 'node lost')] }), 'Progressing', /PodUnknown: node lost/],
    ['suspended', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'Suspended', 'scaled to zero'), cond('Progressing', 'False', 'Done')] }, { suspend: true }), 'Suspended', /Suspended: scaled to zero/],
    ['suspending still rolling out', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'Suspending'), cond('Progressing', 'True', 'ScalingDown', 'stopping')] }, { suspend: true }), 'Progressing', /ScalingDown: stopping/],
    ['app cannot be resolved', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'AppNotFound', 'no app ai.h2o.wave.tour 1.2.0 in the catalog'), cond('Resolved', 'False', 'AppNotFound')] }), 'Degraded', /AppNotFound: no app ai\.h2o\.wave\.tour 1\.2\.0/],
    ['crashing', instance(2, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'CrashLoopBackOff', 'the app exited with code 1'), cond('Progressing', 'False', 'Failed')] }), 'Degraded', /CrashLoopBackOff/],
  ];
  for (const [name, obj, status, message] of cases) {
    test(name, () => {
      const hs = health(obj);
      assert.equal(hs.status, status, `${name}: ${hs.message}`);
      assert.match(hs.message, message);
    });
  }

  test('argocd-cm-health.yaml carries the script verbatim', () => {
    const cm = parse(readFileSync(join(repoRoot, 'manifests/gitops/argocd-cm-health.yaml'), 'utf8')) as { data: Record<string, string> };
    assert.equal(cm.data['resource.customizations.health.hac.h2o.ai_AppInstance'], healthScript);
  });
});
