// needs: oidc
/**
 * Browser sign-in end to end against a real OpenID Connect provider: the API
 * server in Auth.Mode = oidc (PGlite sessions), a "browser" that follows the
 * redirects with fetch and cookie jars, and the CLI's bearer ID tokens.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiDeps } from '../src/api/app.ts';
import { OidcClient } from '../src/auth/oidc.ts';
import { CookieJar, providerDeviceSignIn, providerSignIn, USERS } from './support/oidc.ts';
import { startOidcApi, type OidcApi } from './support/oidc-api.ts';
import { serviceEnv } from './support/service.ts';

const issuer = serviceEnv('APPSTORE_TEST_OIDC_ISSUER', 'the OIDC provider');
const clientID = serviceEnv('APPSTORE_TEST_OIDC_CLIENT_ID', 'the OIDC provider');
const clientSecret = serviceEnv('APPSTORE_TEST_OIDC_CLIENT_SECRET', 'the OIDC provider');
const cliClientID = serviceEnv('APPSTORE_TEST_OIDC_CLI_CLIENT_ID', 'the OIDC provider');

interface Me {
  signedIn: boolean;
  subject?: string;
  name?: string;
  roles: string[];
  admin: boolean;
  fullAccess: boolean;
  visitor: boolean;
}

describe('browser sign-in with OIDC', () => {
  let url: string;
  let deps: ApiDeps;
  let server: OidcApi;

  before(async () => {
    server = await startOidcApi();
    ({ url, deps } = server);
  });
  after(() => server.close());

  /** Signs in as `user` like a browser; returns the app's cookie jar and the callback's response. */
  async function browserSignIn(user: string, returnPath = '/') {
    const jar = new CookieJar();
    const login = await fetch(`${url}/auth/login?return=${encodeURIComponent(returnPath)}`, { redirect: 'manual' });
    assert.equal(login.status, 302);
    jar.store(login);
    const authorize = login.headers.get('location')!;
    assert.ok(authorize.startsWith(`${issuer}/auth?`), authorize);
    const back = await providerSignIn(authorize, user, USERS[user]!.password, `${url}/auth/callback`);
    const res = await fetch(back, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(res);
    return { jar, res };
  }

  async function me(headers: Record<string, string> = {}): Promise<Me> {
    const r = await fetch(`${url}/api/v1/me`, { headers });
    assert.equal(r.status, 200);
    return (await r.json()) as Me;
  }

  test('alice signs in; the session cookie is HttpOnly and SameSite=Lax, and /me shows her roles', async () => {
    const { jar, res } = await browserSignIn('alice');
    assert.equal(res.status, 302, await res.clone().text());
    assert.equal(res.headers.get('location'), '/');
    const set = res.headers.getSetCookie().find((c) => c.startsWith('appstore_session='))!;
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Lax/);
    assert.doesNotMatch(set, /Secure/, 'plain http: no Secure flag, or the browser would drop the cookie');
    assert.deepEqual(await me({ cookie: jar.header() }), { signedIn: true, subject: 'alice', name: 'Alice Example', roles: ['full-access'], admin: false, fullAccess: true, visitor: false });
  });

  test('root is an admin, bob a visitor, and carol (no roles claim) a visitor with no roles', async () => {
    const root = await me({ cookie: (await browserSignIn('root')).jar.header() });
    assert.deepEqual([root.subject, root.admin], ['root', true]);
    const bob = await me({ cookie: (await browserSignIn('bob')).jar.header() });
    assert.deepEqual([bob.subject, bob.roles, bob.visitor], ['bob', ['guests'], true]);
    const carol = await me({ cookie: (await browserSignIn('carol')).jar.header() });
    assert.deepEqual([carol.signedIn, carol.subject, carol.roles, carol.visitor], [true, 'carol', [], true]);
  });

  test('the return path is honoured; other sites are refused', async () => {
    const { res } = await browserSignIn('alice', '/apps?tag=x');
    assert.equal(res.headers.get('location'), '/apps?tag=x');
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'apps']) {
      const r = await fetch(`${url}/auth/login?return=${encodeURIComponent(bad)}`, { redirect: 'manual' });
      assert.equal(r.status, 400, bad);
      assert.match(await r.text(), /return/);
    }
  });

  test('a callback without the sign-in cookie, or with a forged one, is refused', async () => {
    const login = await fetch(`${url}/auth/login`, { redirect: 'manual' });
    const back = await providerSignIn(login.headers.get('location')!, 'alice', USERS.alice!.password, `${url}/auth/callback`);
    assert.equal((await fetch(back, { redirect: 'manual' })).status, 401);
    assert.equal((await fetch(back, { redirect: 'manual', headers: { cookie: 'appstore_session_login=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).status, 401);
  });

  test('logout ends the session here and sends the browser to the provider', async () => {
    const { jar } = await browserSignIn('alice');
    const cookie = jar.header();
    assert.equal((await me({ cookie })).signedIn, true);
    const r = await fetch(`${url}/auth/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: new URL(url).origin, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.equal(r.status, 303);
    const to = new URL(r.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, `${issuer}/session/end`);
    assert.equal(to.searchParams.get('post_logout_redirect_uri'), `${url}/`);
    assert.ok(to.searchParams.get('id_token_hint'));
    assert.match(r.headers.getSetCookie().join('\n'), /appstore_session=; Path=\/; Max-Age=0/);
    // The provider accepts the logout request.
    assert.equal((await fetch(to, { redirect: 'manual' })).status, 200);
    assert.deepEqual((await me({ cookie })).signedIn, false, 'the old cookie no longer works');
  });

  test('tampered and expired session cookies are anonymous', async () => {
    const { jar } = await browserSignIn('alice');
    const token = jar.get('appstore_session')!;
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    assert.equal((await me({ cookie: `appstore_session=${flipped}` })).signedIn, false);
    const expired = await deps.oidc!.sessions.create({ subject: 'alice', name: 'Alice', roles: ['full-access'], ttlSeconds: 60 }, new Date(Date.now() - 120_000));
    assert.equal((await me({ cookie: `appstore_session=${expired.token}` })).signedIn, false);
  });

  test('an ID token works as a bearer token; tampered and other-audience tokens get 401', async () => {
    const server = await OidcClient.discover({ issuerURL: issuer, clientID, clientSecret, scopes: ['roles'], rolesClaim: 'roles', adminRole: 'admin', fullAccessRole: 'full-access' });
    const start = await server.start(`${url}/auth/callback`);
    const login = await server.callback(new URL(await providerSignIn(start.url, 'root', USERS.root!.password, `${url}/auth/callback`)), start);
    const idToken = login.tokens.idToken;
    const ok = await me({ authorization: `Bearer ${idToken}` });
    assert.deepEqual([ok.subject, ok.admin], ['root', true]);

    const [h, p, s] = idToken.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`;
    const r1 = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${forged}` } });
    assert.equal(r1.status, 401);

    const cli = await OidcClient.discover({ issuerURL: issuer, clientID: cliClientID, clientSecret: '', scopes: ['roles'], rolesClaim: 'roles', adminRole: 'admin', fullAccessRole: 'full-access' });
    const cs = await cli.start('http://127.0.0.1:9/callback');
    const cliLogin = await cli.callback(new URL(await providerSignIn(cs.url, 'alice', USERS.alice!.password, 'http://127.0.0.1:9/callback')), cs);
    const r2 = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${cliLogin.tokens.idToken}` } });
    assert.equal(r2.status, 401);
    assert.match(await r2.text(), /aud/);
    assert.equal((await fetch(`${url}/api/v1/me`, { headers: { authorization: 'Bearer not-a-token' } })).status, 401);
  });

  test('with Auth.CLIClientID set, the CLI\'s ID tokens (device sign-in) are accepted', async () => {
    deps.config.auth.cliClientID = cliClientID;
    try {
      const cli = await OidcClient.discover({ issuerURL: issuer, clientID: cliClientID, clientSecret: '', scopes: ['roles'], rolesClaim: 'roles', adminRole: 'admin', fullAccessRole: 'full-access' });
      const d = await cli.startDeviceLogin();
      const [login] = await Promise.all([cli.finishDeviceLogin(d), providerDeviceSignIn(d.verificationUri, d.userCode, 'bob', USERS.bob!.password)]);
      const bob = await me({ authorization: `Bearer ${login.tokens.idToken}` });
      assert.deepEqual([bob.subject, bob.roles, bob.visitor], ['bob', ['guests'], true]);
    } finally {
      deps.config.auth.cliClientID = '';
    }
  });
});
