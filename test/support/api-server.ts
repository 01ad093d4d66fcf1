/**
 * A real API server for tests: real database (PGlite or the run's
 * PostgreSQL), real blob store (a folder or the run's S3 server), listening
 * on a loopback port. Users are static bearer tokens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApi, type Api, type InstanceCounter } from '../../src/api/app.ts';
import type { Config } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Database } from '../../src/repository/db.ts';
import { apiDeps, openStores } from '../../src/server/server.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import type { InstanceBackend } from '../../src/api/routes/instances.ts';
import type { PodLogSource } from '../../src/k8s/pod-logs.ts';
import { startInstanceBackend } from '../../src/server/instance-backend.ts';
import { createTestDatabase } from './pg-database.ts';
import { serviceEnv } from './service.ts';

export const USERS = {
  alice: { token: 'alice-token-000000000001', subject: 'alice', name: 'alice@example.com', roles: ['full-access'] },
  bob: { token: 'bob-token-00000000000002', subject: 'bob', name: 'bob@example.com', roles: ['full-access', 'editors'] },
  vic: { token: 'vic-token-00000000000003', subject: 'vic', name: 'vic@example.com', roles: ['guests'] },
  tina: { token: 'tina-token-0000000000004', subject: 'tina', name: 'tina@example.com', roles: ['beta-testers'] },
  root: { token: 'root-token-0000000000005', subject: 'root', name: 'root@example.com', roles: ['admin'] },
} as const;
export type UserName = keyof typeof USERS | 'anonymous';

export interface TestApiOptions {
  db: 'pglite' | 'postgres';
  store: 'fs' | 's3';
  /** Option overrides, `Section.Key` → value, as on the command line. */
  flags?: Record<string, string>;
  instances?: InstanceCounter;
  /** Wraps the real blob store (e.g. to inject a failure). */
  wrapBlobs?: (b: BlobStore) => BlobStore;
  /** A cluster for instances: kubeconfig file and namespace (Scheduler.KubeConfig, Scheduler.Namespace); the server starts its InstanceCache there. */
  cluster?: { kubeConfig: string; namespace: string; logs?: PodLogSource };
}

export interface TestApi {
  url: string;
  api: Api;
  config: Config;
  db: Database;
  blobs: BlobStore;
  launcherKey: Buffer;
  /** The instance side when `cluster` was given. */
  instanceBackend?: InstanceBackend;
  /** Sends a request as `user`. */
  fetch(user: UserName, path: string, init?: RequestInit): Promise<Response>;
  /** Imports a bundle file as `user`. */
  importBundle(user: UserName, file: Buffer, visibility?: string): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestApi(opts: TestApiOptions): Promise<TestApi> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'appstore-api-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const flags: Record<string, string> = { 'Server.Listen': '127.0.0.1:0', 'Server.DataDir': dataDir, 'Auth.Mode': 'static', ...opts.flags };
  if (opts.cluster) Object.assign(flags, { 'Scheduler.KubeConfig': opts.cluster.kubeConfig, 'Scheduler.Namespace': opts.cluster.namespace });
  if (opts.db === 'postgres') {
    const tdb = await createTestDatabase('api');
    cleanups.push(() => tdb.drop());
    flags['Database.URL'] = tdb.url;
  }
  if (opts.store === 's3') {
    Object.assign(flags, {
      'Storage.Kind': 's3',
      'Storage.S3Endpoint': serviceEnv('APPSTORE_TEST_S3_ENDPOINT', 'the S3 server'),
      'Storage.S3Region': process.env.APPSTORE_TEST_S3_REGION ?? 'us-east-1',
      'Storage.S3Bucket': `api-${randomBytes(4).toString('hex')}`,
      'Storage.S3AccessKeyID': serviceEnv('APPSTORE_TEST_S3_ACCESS_KEY', 'the S3 server'),
      'Storage.S3SecretAccessKey': serviceEnv('APPSTORE_TEST_S3_SECRET_KEY', 'the S3 server'),
      'Storage.S3CreateBucket': 'true',
    });
  }
  // The users come in through the configuration file, as an operator would write them.
  const file = join(dataDir, 'appstore.toml');
  writeFileSync(file, Object.values(USERS).map((u) => `[[Auth.StaticToken]]\nToken = "${u.token}"\nSubject = "${u.subject}"\nName = "${u.name}"\nRoles = ${JSON.stringify(u.roles)}\n`).join('\n'));
  const { config } = loadConfig({ file, flags });
  const stores = await openStores(config);
  const db = stores.db;
  const blobs = opts.wrapBlobs ? opts.wrapBlobs(stores.blobs) : stores.blobs;
  const instanceBackend = opts.cluster ? await startInstanceBackend(config, opts.cluster.logs ? { logs: opts.cluster.logs } : {}) : undefined;
  if (instanceBackend) cleanups.push(() => instanceBackend.cache.stop());
  const deps = await apiDeps(config, db, blobs, { ...(opts.instances ? { instances: opts.instances } : {}), ...(instanceBackend ? { instanceBackend } : {}) });
  const launcherKey = deps.launcherKey;
  const api = await buildApi(deps);
  await api.listen({ host: '127.0.0.1', port: 0 });
  const addr = api.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const fetchAs = (user: UserName, path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (user !== 'anonymous') headers.set('authorization', `Bearer ${USERS[user].token}`);
    return fetch(url + path, { ...init, headers });
  };
  return {
    url,
    api,
    config,
    db,
    blobs,
    launcherKey,
    ...(instanceBackend ? { instanceBackend } : {}),
    fetch: fetchAs,
    importBundle: (user, file, visibility) =>
      fetchAs(user, `/api/v1/apps${visibility ? `?visibility=${visibility}` : ''}`, { method: 'POST', body: file, headers: { 'content-type': 'application/zip' } }),
    async close() {
      await api.close();
      await db.close();
      for (const c of cleanups.reverse()) await c();
    },
  };
}
