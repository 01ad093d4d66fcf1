/**
 * The operator's CatalogPort on the real app repository (PGlite): an app
 * version stored as an import stores it resolves by id and by name+version,
 * with [Runtime], [[Env]] and [[File]] normalised by the manifest parser;
 * unknown references resolve to undefined.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { openDatabase } from '../src/repository/db.ts';
import { AppRepository } from '../src/repository/apps.ts';
import { repositoryCatalog } from '../src/server/catalog-port.ts';

const APP_TOML = `
[App]
Name = "ai.h2o.wave.catalog-port"
Version = "1.2.3"
Title = "Catalog port"

[Runtime]
Module = "port.app"
VolumeMount = "/data"
VolumeSize = "1Gi"
MemoryLimit = "1Gi"
GPUCount = 1
RuntimeVersion = "deb11_py310_wlatest"

[[Env]]
Name = "GREETING"
Value = "hello"

[[Env]]
Name = "DB_PASSWORD"
Secret = "db"
SecretKey = "password"

[[File]]
Path = "config/settings.json"
Value = "{}"
`;

test('repositoryCatalog resolves stored app versions by id and by name+version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-port-'));
  const db = await openDatabase({ dataDir: dir });
  try {
    const apps = new AppRepository(db);
    const rec = await apps.create({
      name: 'ai.h2o.wave.catalog-port',
      version: '1.2.3',
      title: 'Catalog port',
      owner: 'alice',
      ownerName: 'alice@example.com',
      // As the import stores it: the parsed document as plain JSON.
      manifest: JSON.parse(JSON.stringify(parse(APP_TOML))) as Record<string, unknown>,
      format: 'wave',
      bundleKey: 'apps/x/bundle.wave',
      bundleSha256: 'c'.repeat(64),
      bundleSize: 10,
      runtimeVersion: 'deb11_py310_wlatest',
    });
    const catalog = repositoryCatalog(apps);
    const byId = await catalog.resolveById(rec.id);
    assert.deepEqual(byId, {
      id: rec.id,
      name: 'ai.h2o.wave.catalog-port',
      version: '1.2.3',
      title: 'Catalog port',
      module: 'port.app',
      bundleDigest: `sha256:${'c'.repeat(64)}`,
      runtime: byId!.runtime,
      env: [{ name: 'GREETING', value: 'hello' }, { name: 'DB_PASSWORD', secret: 'db', secretKey: 'password' }],
      files: [{ path: 'config/settings.json', value: '{}' }],
      runtimeVersion: 'deb11_py310_wlatest',
    });
    assert.equal(byId!.runtime.module, 'port.app');
    assert.equal(byId!.runtime.volumeMount, '/data');
    assert.equal(byId!.runtime.volumeSize, '1Gi');
    assert.equal(byId!.runtime.memoryLimit, '1Gi');
    assert.equal(byId!.runtime.gpuCount, 1);
    assert.deepEqual(await catalog.resolveByNameVersion('ai.h2o.wave.catalog-port', '1.2.3'), byId);
    assert.equal(await catalog.resolveById('11111111-2222-4333-8444-555555555555'), undefined);
    assert.equal(await catalog.resolveById('not-a-uuid'), undefined);
    assert.equal(await catalog.resolveByNameVersion('ai.h2o.wave.catalog-port', '9.9.9'), undefined);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
