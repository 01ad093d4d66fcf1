// needs: postgres
/**
 * Opening the database runs the migrations: safely when several server
 * replicas start at once on PostgreSQL, and once only on a persisted PGlite
 * data folder that is opened again.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
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

test('migration 0005 gives each existing app name to the importer of its oldest version, squatted versions included', async () => {
  const testDb = await createTestDatabase('migrate-names');
  // The migrations up to 0004, as a server from before app_names ran them.
  const older = mkdtempSync(join(tmpdir(), 'appstore-migrations-'));
  const pool = new pg.Pool({ connectionString: testDb.url, max: 1 });
  let d: Database | undefined;
  try {
    cpSync(migrationsFolder, older, { recursive: true });
    const journal = JSON.parse(readFileSync(join(older, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
    journal.entries = journal.entries.filter((e) => e.tag < '0005');
    writeFileSync(join(older, 'meta', '_journal.json'), JSON.stringify(journal));
    await migrate(drizzle(pool), { migrationsFolder: older });
    const row = (name: string, version: string, owner: string, at: string) =>
      sql`insert into apps (name, version, title, owner, owner_name, manifest, format, bundle_key, bundle_sha256, bundle_size, search_text, created_at)
          values (${name}, ${version}, ${name}, ${owner}, ${`${owner}@example.com`}, '{}'::jsonb, 'wave', ${`apps/${name}/${version}`}, ${'c'.repeat(64)}, 1, '', ${at}::timestamptz)`;
    const db = drizzle(pool);
    await db.execute(row('ai.h2o.squatted', '2.0.0', 'bob', '2026-01-02T00:00:00Z'));
    await db.execute(row('ai.h2o.squatted', '1.0.0', 'alice', '2026-01-01T00:00:00Z'));
    await db.execute(row('ai.h2o.squatted', '1.1.0', 'alice', '2026-01-03T00:00:00Z'));
    await db.execute(row('ai.h2o.carols', '0.1.0', 'carol', '2026-01-05T00:00:00Z'));
    await pool.end();
    d = await openDatabase({ url: testDb.url, poolSize: 2 });
    const repo = new AppRepository(d);
    assert.deepEqual(await repo.nameOwner('ai.h2o.squatted'), { name: 'ai.h2o.squatted', owner: 'alice', ownerName: 'alice@example.com' });
    assert.equal((await repo.nameOwner('ai.h2o.carols'))?.owner, 'carol');
    // bob's squatted version stays, under his name, but he may not add another.
    assert.equal((await repo.getByNameVersion('ai.h2o.squatted', '2.0.0')).owner, 'bob');
    await assert.rejects(
      repo.create({ name: 'ai.h2o.squatted', version: '3.0.0', title: 'x', owner: 'bob', ownerName: 'bob', manifest: {}, format: 'wave', bundleKey: 'k', bundleSha256: 'd'.repeat(64), bundleSize: 1 }),
      /not available to you/,
    );
  } finally {
    await pool.end().catch(() => undefined);
    await d?.close();
    await testDb.drop();
    rmSync(older, { recursive: true, force: true });
  }
});
