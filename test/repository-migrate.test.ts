// needs: postgres
/**
 * Opening the database runs the migrations: safely when several server
 * replicas start at once on PostgreSQL, and once only on a persisted PGlite
 * data folder that is opened again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { pgSchema, serial, text } from 'drizzle-orm/pg-core';
import { AppRepository } from '../src/repository/apps.ts';
import { migrationsFolder, openDatabase } from '../src/repository/db.ts';
import type { Database } from '../src/repository/db.ts';
import { createTestDatabase } from './support/pg-database.ts';

// drizzle's own bookkeeping table, to count applied migrations.
const applied = pgSchema('drizzle').table('__drizzle_migrations', { id: serial('id').primaryKey(), hash: text('hash').notNull() });
const migrationCount = readMigrationFiles({ migrationsFolder }).length;

async function appliedHashes(d: Database): Promise<string[]> {
  return (await d.db.select({ hash: applied.hash }).from(applied)).map((r) => r.hash);
}

test('five replicas opening one fresh PostgreSQL database at once all succeed and migrate it once', async () => {
  const testDb = await createTestDatabase('migrate');
  const opened: Database[] = [];
  try {
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => openDatabase({ url: testDb.url, poolSize: 2 })));
    for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);
    for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
    const hashes = await appliedHashes(opened[0] as Database);
    assert.equal(hashes.length, migrationCount);
    assert.equal(new Set(hashes).size, migrationCount);
    // Every replica sees the schema.
    for (const d of opened) assert.equal(await new AppRepository(d).countByOwner('nobody'), 0);
  } finally {
    await Promise.all(opened.map((d) => d.close()));
    await testDb.drop();
  }
});

test('a PGlite data folder keeps its rows and is not migrated twice when opened again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-pglite-'));
  try {
    const first = await openDatabase({ dataDir: join(dir, 'db') });
    const created = await new AppRepository(first).create({
      name: 'ai.h2o.persist',
      version: '1.0.0',
      title: 'Persist',
      owner: 'alice',
      ownerName: 'alice',
      manifest: {},
      format: 'wave',
      bundleKey: 'apps/x/bundle.wave',
      bundleSha256: 'b'.repeat(64),
      bundleSize: 1,
    });
    await first.close();
    const second = await openDatabase({ dataDir: join(dir, 'db') });
    try {
      assert.equal(second.driver, 'pglite');
      assert.deepEqual(await new AppRepository(second).get(created.id), created);
      assert.equal((await appliedHashes(second)).length, migrationCount);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
