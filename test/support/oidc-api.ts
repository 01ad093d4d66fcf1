/**
 * An API server in Auth.Mode=oidc against the test run's OIDC provider
 * (`// needs: oidc`), on a free loopback port with a fresh PGlite data folder:
 * what the sign-in tests share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApi, type Api, type ApiDeps } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Database } from '../../src/repository/db.ts';
import { apiDeps, openStores } from '../../src/server/server.ts';
import { freePort } from './ports.ts';
import { serviceEnv } from './service.ts';

export interface OidcApi {
  url: string;
  api: Api;
  db: Database;
  deps: ApiDeps;
  /** Scratch folder of the test (the server's data lives in its `data` folder). */
  dir: string;
  close(): Promise<void>;
}

/** The Auth options of a server signing in at the test run's OIDC provider with its server client. */
export function oidcAuthFlags(): Record<string, string> {
  return {
    'Auth.Mode': 'oidc',
    'Auth.IssuerURL': serviceEnv('APPSTORE_TEST_OIDC_ISSUER', 'the OIDC provider'),
    'Auth.ClientID': serviceEnv('APPSTORE_TEST_OIDC_CLIENT_ID', 'the OIDC provider'),
    'Auth.ClientSecret': serviceEnv('APPSTORE_TEST_OIDC_CLIENT_SECRET', 'the OIDC provider'),
    'Auth.Scopes': 'openid,profile,email,roles',
  };
}

/** Starts the API with the provider's server client; `flags` add or override options (e.g. Auth.CLIClientID). */
export async function startOidcApi(flags: Record<string, string> = {}): Promise<OidcApi> {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-oidc-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { config } = loadConfig({
    flags: {
      'Server.Listen': `127.0.0.1:${port}`,
      'Server.PublicURL': url,
      'Server.DataDir': join(dir, 'data'),
      ...oidcAuthFlags(),
      ...flags,
    },
  });
  const { db, blobs } = await openStores(config);
  const deps = await apiDeps(config, db, blobs);
  const api = await buildApi(deps);
  await api.listen({ host: '127.0.0.1', port });
  return {
    url,
    api,
    db,
    deps,
    dir,
    async close() {
      await api.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
