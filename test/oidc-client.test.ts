// needs: oidc
/**
 * src/auth/oidc.ts against a real OpenID Connect provider (oidc-provider,
 * started by the test runner): sign-in with code + PKCE for each kind of
 * user, refresh, logout URL, and the failures: wrong password, tampered
 * state, wrong issuer, ID tokens for another audience and tampered tokens.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { OidcClient, type OidcSettings } from '../src/auth/oidc.ts';
import { UnauthorizedError } from '../src/lib/errors.ts';
import { providerDeviceSignIn, providerSignIn, USERS } from './support/oidc.ts';
import { serviceEnv } from './support/service.ts';

const issuer = serviceEnv('APPSTORE_TEST_OIDC_ISSUER', 'the OIDC provider');
const settings: OidcSettings = {
  issuerURL: issuer,
  clientID: serviceEnv('APPSTORE_TEST_OIDC_CLIENT_ID', 'the OIDC provider'),
  clientSecret: serviceEnv('APPSTORE_TEST_OIDC_CLIENT_SECRET', 'the OIDC provider'),
  scopes: ['openid', 'profile', 'email', 'roles'],
  rolesClaim: 'roles',
  adminRole: 'admin',
  fullAccessRole: 'full-access',
};
// Any port on loopback is accepted by the test provider; nothing listens here, the flow stops at the redirect.
const redirect = 'http://127.0.0.1:9/auth/callback';

async function signIn(client: OidcClient, user: string, redirectUri = redirect) {
  const start = await client.start(redirectUri);
  const back = await providerSignIn(start.url, user, USERS[user]!.password, redirectUri);
  return client.callback(new URL(back), start);
}

describe('OIDC client against a real provider', () => {
  let client: OidcClient;
  before(async () => {
    client = await OidcClient.discover(settings);
  });

  test('discovery names the issuer, and the provider offers the device grant for the CLI', async () => {
    assert.equal(client.issuer, issuer);
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(typeof meta.device_authorization_endpoint, 'string');
    const r = await fetch(meta.device_authorization_endpoint as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: serviceEnv('APPSTORE_TEST_OIDC_CLI_CLIENT_ID', 'the OIDC provider'), scope: 'openid' }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as Record<string, unknown>;
    assert.equal(typeof body.user_code, 'string');
    assert.equal(typeof body.device_code, 'string');
  });

  test('the authorization URL carries PKCE (S256), state and nonce', async () => {
    const s = await client.start(redirect);
    const u = new URL(s.url);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(u.searchParams.get('code_challenge'));
    assert.notEqual(u.searchParams.get('code_challenge'), s.codeVerifier);
    assert.equal(u.searchParams.get('state'), s.state);
    assert.equal(u.searchParams.get('nonce'), s.nonce);
    assert.equal(u.searchParams.get('scope'), 'openid profile email roles');
  });

  test('users map to principals by their roles claim', async () => {
    const alice = await signIn(client, 'alice');
    assert.deepEqual(alice.principal, { subject: 'alice', name: 'Alice Example', roles: ['full-access'], admin: false, fullAccess: true });
    assert.ok(alice.tokens.idToken && alice.tokens.accessToken && alice.tokens.refreshToken);
    const bob = await signIn(client, 'bob');
    assert.deepEqual(bob.principal, { subject: 'bob', name: 'Bob Visitor', roles: ['guests'], admin: false, fullAccess: false });
    const root = await signIn(client, 'root');
    assert.deepEqual([root.principal.admin, root.principal.fullAccess], [true, true]);
  });

  test('a user without a roles claim is a visitor, not an error', async () => {
    const carol = await signIn(client, 'carol');
    assert.equal(carol.claims.roles, undefined);
    assert.deepEqual(carol.principal, { subject: 'carol', name: 'Carol NoRoles', roles: [], admin: false, fullAccess: false });
  });

  test('a wrong password does not sign in', async () => {
    const start = await client.start(redirect);
    await assert.rejects(providerSignIn(start.url, 'alice', 'not-her-password', redirect), /wrong username or password/);
  });

  test('a callback with another state is refused', async () => {
    const start = await client.start(redirect);
    const back = new URL(await providerSignIn(start.url, 'alice', USERS.alice!.password, redirect));
    back.searchParams.set('state', 'forged-state');
    await assert.rejects(client.callback(back, start), /state/);
  });

  test('a code cannot be redeemed without the PKCE verifier it was issued for', async () => {
    const start = await client.start(redirect);
    const back = new URL(await providerSignIn(start.url, 'alice', USERS.alice!.password, redirect));
    const other = await client.start(redirect);
    await assert.rejects(client.callback(back, { ...start, codeVerifier: other.codeVerifier }), UnauthorizedError);
  });

  test('refresh gives new tokens for the same user', async () => {
    const login = await signIn(client, 'bob');
    const r = await client.refresh(login.tokens.refreshToken!, login.tokens.idToken);
    assert.notEqual(r.tokens.accessToken, login.tokens.accessToken);
    assert.equal(r.principal.subject, 'bob');
    assert.deepEqual(r.principal.roles, ['guests']);
    await assert.rejects(client.refresh('not-a-refresh-token'));
  });

  test('the end-session URL logs out at the provider and comes back', async () => {
    const login = await signIn(client, 'alice');
    const url = new URL(client.endSessionUrl(login.tokens.idToken, 'http://127.0.0.1:9/')!);
    assert.equal(`${url.origin}${url.pathname}`, `${issuer}/session/end`);
    assert.equal(url.searchParams.get('id_token_hint'), login.tokens.idToken);
    assert.equal(url.searchParams.get('post_logout_redirect_uri'), 'http://127.0.0.1:9/');
    // The provider accepts it (an unknown hint or redirect would be a 400).
    const r = await fetch(url, { redirect: 'manual' });
    assert.equal(r.status, 200);
  });

  test('an ID token verifies as a bearer token; tampered and foreign-audience tokens do not', async () => {
    const login = await signIn(client, 'root');
    const ok = await client.verifyIdToken(login.tokens.idToken);
    assert.equal(ok.principal.subject, 'root');
    assert.equal(ok.principal.admin, true);

    // Tampered: alice's payload under root's signature.
    const [h, , sig] = login.tokens.idToken.split('.');
    const payload = Buffer.from(JSON.stringify({ ...ok.claims, sub: 'alice', roles: ['admin'] })).toString('base64url');
    await assert.rejects(client.verifyIdToken(`${h}.${payload}.${sig}`), (e: unknown) => e instanceof UnauthorizedError && /signature/.test(e.message));
    await assert.rejects(client.verifyIdToken('not.a.jwt'), UnauthorizedError);
    // Expired: the same real token, checked after its lifetime (the provider issues 10-minute ID tokens).
    const later = new Date(Date.now() + 11 * 60_000);
    await assert.rejects(client.verifyIdToken(login.tokens.idToken, undefined, later), (e: unknown) => e instanceof UnauthorizedError && /exp/.test(e.message));

    // A real ID token issued to the CLI client is not for the server.
    const cli = await OidcClient.discover({ ...settings, clientID: serviceEnv('APPSTORE_TEST_OIDC_CLI_CLIENT_ID', 'the OIDC provider'), clientSecret: '' });
    const cliLogin = await signIn(cli, 'alice', 'http://127.0.0.1:9/callback');
    await assert.rejects(client.verifyIdToken(cliLogin.tokens.idToken), (e: unknown) => e instanceof UnauthorizedError && /aud/.test(e.message));
    // ...unless the server is told to accept that audience too.
    assert.equal((await client.verifyIdToken(cliLogin.tokens.idToken, [settings.clientID, cli.settings.clientID])).principal.subject, 'alice');
  });

  test('a provider whose discovery document names another issuer is refused', async () => {
    const elsewhere = issuer.replace('127.0.0.1', 'localhost');
    await assert.rejects(OidcClient.discover({ ...settings, issuerURL: elsewhere }), /issuer/);
  });

  test('the CLI signs in with the device grant: a code entered on another device', async () => {
    const cli = await OidcClient.discover({ ...settings, clientID: serviceEnv('APPSTORE_TEST_OIDC_CLI_CLIENT_ID', 'the OIDC provider'), clientSecret: '' });
    assert.equal(cli.supportsDeviceLogin, true);
    const d = await cli.startDeviceLogin();
    assert.ok(d.userCode);
    assert.ok(d.verificationUri.startsWith(`${issuer}/device`));
    const [login] = await Promise.all([cli.finishDeviceLogin(d), providerDeviceSignIn(d.verificationUri, d.userCode, 'bob', USERS.bob!.password)]);
    assert.deepEqual(login.principal, { subject: 'bob', name: 'Bob Visitor', roles: ['guests'], admin: false, fullAccess: false });
    assert.ok(login.tokens.refreshToken, 'the CLI can refresh without signing in again');
    const refreshed = await cli.refresh(login.tokens.refreshToken!, login.tokens.idToken);
    assert.equal(refreshed.principal.subject, 'bob');
  });

  test('a device sign-in with a wrong code is not approved', async () => {
    const cli = await OidcClient.discover({ ...settings, clientID: serviceEnv('APPSTORE_TEST_OIDC_CLI_CLIENT_ID', 'the OIDC provider'), clientSecret: '' });
    const d = await cli.startDeviceLogin();
    await assert.rejects(providerDeviceSignIn(d.verificationUri, 'WRONGCODE', 'bob', USERS.bob!.password), /invalid code/);
  });
});
