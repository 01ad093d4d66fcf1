import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidError } from '../lib/errors.ts';
import { inspectBundle } from './inspect.ts';
import { DEFAULT_BUNDLE_LIMITS } from './limits.ts';
import { writeBundle } from './write.ts';

const FIXTURE = new URL('../../test/fixtures/bundles/wave-app/', import.meta.url).pathname;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-version-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('writeBundle({version}) bundles app.toml with that [App] Version and leaves the folder alone', async () => {
  const app = join(dir, 'app');
  await cp(FIXTURE, app, { recursive: true });
  const before = await readFile(join(app, 'app.toml'), 'utf8');
  const w = await writeBundle(app, { outDir: join(dir, 'out'), version: '0.1.2-20201013062803' });
  assert.equal(w.path, join(dir, 'out', 'ai.h2o.wave.fixture-peak.0.1.2-20201013062803.wave'));
  assert.equal(w.manifest.app.version, '0.1.2-20201013062803');
  const inspected = await inspectBundle(w.path, DEFAULT_BUNDLE_LIMITS);
  // Everything else of the manifest survives the rewrite.
  assert.equal(inspected.manifest.app.version, '0.1.2-20201013062803');
  assert.equal(inspected.manifest.app.title, 'Peak');
  assert.deepEqual(inspected.manifest.env, w.manifest.env);
  assert.equal(await readFile(join(app, 'app.toml'), 'utf8'), before);
  // The same folder without a version override still gives the manifest's own version.
  assert.equal((await writeBundle(app, { outDir: join(dir, 'out') })).manifest.app.version, '0.1.2');
});

test('writeBundle({version}) on a manifest without [App] names the table to add', async () => {
  const app = join(dir, 'no-app');
  await cp(FIXTURE, app, { recursive: true });
  await writeFile(join(app, 'app.toml'), '[Runtime]\nModule = "app.run"\n');
  await assert.rejects(writeBundle(app, { outDir: join(dir, 'out2'), version: '1.0.0-1' }), (err: unknown) => err instanceof InvalidError && /App: app\.toml has no \[App\] table/.test(err.message));
});
