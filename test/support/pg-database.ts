/**
 * A fresh, empty database in the test run's PostgreSQL cluster (see
 * postgres.ts), so test files that run in parallel never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { serviceEnv } from './service.ts';

export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string;
  /** Drops the database (terminating any connection still open to it). */
  drop(): Promise<void>;
}

/** Creates a database named `<prefix>_<random>` in the cluster at APPSTORE_TEST_PG_URL. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const adminUrl = serviceEnv('APPSTORE_TEST_PG_URL', 'PostgreSQL');
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
