// needs: oidc
/**
 * Browser sessions over their life against the real OIDC provider: the
 * provider's tokens refreshed with the stored refresh token once they
 * expire (sliding the session), the session ended when the provider refuses
 * the refresh, ID tokens of another issuer refused, the sign-in discovery
 * route, and a platform token created from a browser session.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { ApiDeps } from '../src/api/app.ts';
import { OidcClient } from '../src/auth/oidc.ts';
import { RequestAuth } from '../src/auth/request-auth.ts';
import type { Database } from '../src/repository/db.ts';
import { sessions } from '../src/repository/schema.ts';
import { CookieJar, providerSignIn, startOidc, USERS } from './support/oidc.ts';
import { startOidcApi, type OidcApi } from './support/oidc-api.ts';
import { serviceEnv } from './support/service.ts';

const issuer = serviceEnv('APPSTORE_TEST_OIDC_ISSUER', 'the OIDC provider');
const clientID = serviceEnv('APPSTORE_TEST_OIDC_CLIENT_ID', 'the OIDC provider');
const clientSecret = serviceEnv('APPSTORE_TEST_OIDC_CLIENT_SECRET', 'the OIDC provider');
const cliClientID = serviceEnv('APPSTORE_TEST_OIDC_CLI_CLIENT_ID', 'the OIDC provider');

describe('browser sessions with OIDC', () => {
  let url: string;
  let db: Database;
  let deps: ApiDeps;
  let server: OidcApi;

  before(async () => {
    server = await startOidcApi({ 'Auth.CLIClientID': cliClientID });
    ({ url, db, deps } = server);
  });
  after(() => server.close());

  async function browserSignIn(user: string): Promise<string> {
    const jar = new CookieJar();
    const login = await fetch(`${url}/auth/login`, { redirect: 'manual' });
    jar.store(login);
    const back = await providerSignIn(login.headers.get('location')!, user, USERS[user]!.password, `${url}/auth/callback`);
    jar.store(await fetch(back, { redirect: 'manual', headers: { cookie: jar.header() } }));
    return jar.get('appstore_session')!;
  }
  const me = async (cookie: string) => (await (await fetch(`${url}/api/v1/me`, { headers: { cookie: `appstore_session=${cookie}` } })).json()) as { signedIn: boolean; subject?: string };
  const row = async (token: string) => (await db.db.select().from(sessions).where(eq(sessions.idHash, createHash('sha256').update(token).digest('base64url'))))[0];
  /** Makes the session's provider tokens look expired (as the provider's clock would after their lifetime). */
  const expireTokens = (token: string) => db.db.update(sessions).set({ tokenExpiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.idHash, createHash('sha256').update(token).digest('base64url')));

  test('the session remembers when the provider tokens expire; once they have, the next request refreshes them and slides the session', async () => {
    const cookie = await browserSignIn('alice');
    const before = (await deps.oidc!.sessions.get(cookie))!;
    assert.ok(before.tokenExpiresAt && before.tokenExpiresAt.getTime() > Date.now() + 500_000, 'the provider gives 600 s access tokens');
    assert.ok(before.refreshToken, 'the provider issued a refresh token');
    await expireTokens(cookie);
    const oldEnd = (await row(cookie))!.expiresAt.getTime();
    await new Promise((r) => setTimeout(r, 1100)); // ID tokens' iat has one-second resolution

    assert.equal((await me(cookie)).subject, 'alice');
    const after = (await deps.oidc!.sessions.get(cookie))!;
    assert.notEqual(after.idToken, before.idToken, 'a new ID token from the provider');
    assert.ok(after.tokenExpiresAt!.getTime() > Date.now() + 500_000);
    assert.ok(after.expiresAt.getTime() > oldEnd, 'the session slid forward by SessionTTL');
    // The refreshed ID token is the provider's real one for alice.
    const { principal } = await deps.oidc!.client.verifyIdToken(after.idToken!);
    assert.equal(principal.subject, 'alice');
  });

  test('concurrent requests of one browser share one refresh', async () => {
    const cookie = await browserSignIn('root');
    await expireTokens(cookie);
    const all = await Promise.all([1, 2, 3, 4].map(() => me(cookie)));
    assert.deepEqual(all.map((m) => m.subject), ['root', 'root', 'root', 'root']);
  });

  test('when the provider refuses the refresh (grant revoked), the session ends', async () => {
    const cookie = await browserSignIn('bob');
    const s = (await deps.oidc!.sessions.get(cookie))!;
    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { revocation_endpoint: string };
    const revoked = await fetch(discovery.revocation_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientID}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: s.refreshToken!, token_type_hint: 'refresh_token' }).toString(),
    });
    assert.equal(revoked.status, 200);
    assert.equal((await me(cookie)).signedIn, true, 'still valid until the tokens expire');
    await expireTokens(cookie);
    assert.equal((await me(cookie)).signedIn, false);
    assert.equal(await row(cookie), undefined, 'the session row is gone');
  });

  test('a provider outage does not end sessions; a refusal does', async () => {
    const other = await startOidc(() => {});
    let stopped = false;
    try {
      const settings = { issuerURL: other.env.APPSTORE_TEST_OIDC_ISSUER!, clientID, clientSecret: other.env.APPSTORE_TEST_OIDC_CLIENT_SECRET!, scopes: ['roles'], rolesClaim: 'roles', adminRole: 'admin', fullAccessRole: 'full-access' };
      const unreachable = new RequestAuth({ config: deps.config, tokens: deps.tokens, oidc: { client: await OidcClient.discover(settings), sessions: deps.oidc!.sessions } });
      await other.stop();
      stopped = true;
      const { token } = await deps.oidc!.sessions.create({ subject: 'dave', name: 'Dave', roles: ['full-access'], idToken: 'x.y.z', refreshToken: 'some-refresh-token', tokenExpiresAt: new Date(Date.now() - 1000), ttlSeconds: 3600 });
      const headers = { cookie: `appstore_session=${token}` };
      assert.equal((await unreachable.authenticate({ headers }))?.subject, 'dave', 'kept while the provider cannot be reached');
      assert.ok(await row(token));
      // The real provider answers invalid_grant for a refresh token it never issued: the session ends.
      assert.equal(await deps.auth.authenticate({ headers }), null);
      assert.equal(await row(token), undefined);
    } finally {
      if (!stopped) await other.stop();
    }
  });

  test('the cleanup removes expired sessions', async () => {
    const cookie = await browserSignIn('carol');
    await db.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.idHash, createHash('sha256').update(cookie).digest('base64url')));
    assert.ok((await deps.oidc!.sessions.deleteExpired()) >= 1);
    assert.equal(await row(cookie), undefined);
  });

  test('GET /api/v1/auth/config tells clients how to sign in, without signing in', async () => {
    const r = await fetch(`${url}/api/v1/auth/config`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {
      mode: 'oidc',
      publicAccess: true,
      signInURL: '/auth/login',
      signOutURL: '/auth/logout',
      issuer,
      cliClientID,
      scopes: ['openid', 'profile', 'email', 'roles'],
      deviceAuthorization: true,
    });
  });

  test('a platform token created from a browser session acts as the user, also without the session', async () => {
    const cookie = await browserSignIn('alice');
    const r = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers: { cookie: `appstore_session=${cookie}`, origin: new URL(url).origin, 'content-type': 'application/json' }, body: '{"name":"from the browser"}' });
    assert.equal(r.status, 201);
    const { token } = (await r.json()) as { token: string };
    await fetch(`${url}/auth/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: `appstore_session=${cookie}`, origin: new URL(url).origin } });
    const m = (await (await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { subject: string; roles: string[] };
    assert.deepEqual([m.subject, m.roles], ['alice', ['full-access']]);
  });

  test('an ID token from another issuer (a second real provider, same client ids) is refused', async () => {
    const other = await startOidc(() => {});
    try {
      const otherIssuer = other.env.APPSTORE_TEST_OIDC_ISSUER!;
      const client = await OidcClient.discover({ issuerURL: otherIssuer, clientID, clientSecret: other.env.APPSTORE_TEST_OIDC_CLIENT_SECRET!, scopes: ['roles'], rolesClaim: 'roles', adminRole: 'admin', fullAccessRole: 'full-access' });
      const start = await client.start(`${url}/auth/callback`);
      const login = await client.callback(new URL(await providerSignIn(start.url, 'root', USERS.root!.password, `${url}/auth/callback`)), start);
      const r = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${login.tokens.idToken}` } });
      assert.equal(r.status, 401);
      assert.match(((await r.json()) as { message: string }).message, /not a valid ID token of/);
    } finally {
      await other.stop();
    }
  });
});
