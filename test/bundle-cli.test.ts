// Runs the real `h2o` executable (bin/h2o.mjs through node) against app folders on disk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectBundle } from '../src/bundle/inspect.ts';
import { DEFAULT_BUNDLE_LIMITS } from '../src/bundle/limits.ts';
import { runNode, type ProcessResult } from './support/process.ts';

const H2O = fileURLToPath(new URL('../bin/h2o.mjs', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/bundles/wave-app/', import.meta.url));
let dir: string;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function h2o(args: string[], cwd: string, env: Record<string, string> = {}): Promise<ProcessResult> {
  return runNode(H2O, args, { cwd, env });
}

async function appCopy(): Promise<string> {
  const to = join(dir, `app${n++}`);
  await cp(FIXTURE, to, { recursive: true });
  return to;
}

describe('h2o bundle', () => {
  test('in an app folder, writes <Name>.<Version>.wave there and prints its path', async () => {
    const app = await appCopy();
    const r = await h2o(['bundle'], app);
    assert.equal(r.code, 0, r.stderr);
    const path = join(app, 'ai.h2o.wave.fixture-peak.0.1.2.wave');
    assert.equal(r.stdout, `${path}\n`);
    const b = await inspectBundle(path, DEFAULT_BUNDLE_LIMITS);
    assert.equal(b.manifest.app.name, 'ai.h2o.wave.fixture-peak');
    assert.equal(b.icon?.contentType, 'image/png');
    assert.equal(b.screenshots.length, 1);
  });

  test('--app-dir and --output-dir are resolved against the working directory', async () => {
    const app = await appCopy();
    await mkdir(join(dir, 'dist'));
    const r = await h2o(['bundle', '--app-dir', app.slice(dir.length + 1), '--output-dir', 'dist'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(dir, 'dist', 'ai.h2o.wave.fixture-peak.0.1.2.wave'));
    assert.deepEqual(await readdir(join(dir, 'dist')), ['ai.h2o.wave.fixture-peak.0.1.2.wave']);
  });

  test('the same folder gives the same bytes in any time zone', async () => {
    const app = await appCopy();
    const a = await h2o(['bundle', '--output-dir', join(dir, `tz-a${n}`)], app, { TZ: 'UTC' });
    const b = await h2o(['bundle', '--output-dir', join(dir, `tz-b${n}`)], app, { TZ: 'Pacific/Kiritimati' });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await readFile(a.stdout.trim()), await readFile(b.stdout.trim()));
  });

  test('an invalid app.toml exits 2 and lists each field problem on its own line', async () => {
    const app = await appCopy();
    const text = await readFile(join(app, 'app.toml'), 'utf8');
    await writeFile(join(app, 'app.toml'), text.replace('Version = "0.1.2"', 'Version = "latest"').replace('Name = "PEAK_REGION"', 'Name = "H2O_CLOUD_REGION"'));
    const r = await h2o(['bundle'], app);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0]!, /^error: app\.toml is invalid \(2 problems\)/);
    assert.match(lines[1]!, /^ {2}App\.Version: "latest" is not a semantic version/);
    assert.match(lines[2]!, /^ {2}Env\[1\]\.Name: "H2O_CLOUD_REGION" starts with H2O_CLOUD/);
    assert.deepEqual((await readdir(app)).filter((f) => f.endsWith('.wave')), []);
  });

  test('a TOML syntax error exits 2 naming the line and column', async () => {
    const app = await appCopy();
    await writeFile(join(app, 'app.toml'), '[App]\nName = "x"\nVersion = 0.1.2\n');
    const r = await h2o(['bundle'], app);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /app\.toml:3:\d+: line 3, column \d+/);
  });

  test('warnings go to stderr and do not fail the command', async () => {
    const app = await appCopy();
    await writeFile(join(app, 'app.toml'), `${await readFile(join(app, 'app.toml'), 'utf8')}\n[Brand]\nColor = "red"\n`);
    const r = await h2o(['bundle'], app);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: Brand: unknown section \[Brand\]/m);
  });

  test('a missing app folder exits 3; an unknown option exits 2', async () => {
    assert.equal((await h2o(['bundle', '--app-dir', 'nope'], dir)).code, 3);
    const r = await h2o(['bundle', '--bogus'], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
  });

  test('--help shows usage with an example', async () => {
    const r = await h2o(['bundle', '--help'], dir);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: h2o bundle \[options\]/);
    assert.match(r.stdout, /--app-dir <dir>/);
    assert.match(r.stdout, /Examples:\n {2}\$ h2o bundle/);
    const top = await h2o(['--help'], dir);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /bundle/);
    assert.match(top.stdout, /Example:/);
  });
});
