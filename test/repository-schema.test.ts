/**
 * The committed SQL migrations match src/repository/schema.ts: drizzle-kit,
 * asked to generate from the schema on top of them, finds nothing to add.
 * (Change the schema without `npx drizzle-kit generate` and this fails.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { migrationsFolder } from '../src/repository/db.ts';
import { repoRoot } from './support/go-tool.ts';

test('the committed migrations are up to date with the drizzle schema', async () => {
  const out = mkdtempSync(join(tmpdir(), 'appstore-migrations-'));
  try {
    cpSync(migrationsFolder, out, { recursive: true });
    // drizzle-kit prefixes --out with "./", so it must be relative to the working directory.
    const before = readdirSync(out).sort();
    const { stdout, stderr } = await promisify(execFile)(
      join(repoRoot, 'node_modules/.bin/drizzle-kit'),
      ['generate', '--dialect', 'postgresql', '--schema', 'src/repository/schema.ts', '--out', relative(repoRoot, out)],
      { cwd: repoRoot, timeout: 120_000 },
    );
    assert.deepEqual(readdirSync(out).sort(), before, `drizzle-kit generated a new migration: run \`npx drizzle-kit generate\` and commit it.\n${stdout}${stderr}`);
    assert.match(stdout + stderr, /No schema changes/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
