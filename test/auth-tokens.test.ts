/**
 * Platform API tokens against a real API server (PGlite, static users as
 * creators): create, use as bearer on API routes and through the router's
 * authenticate function, list with last use, revoke, expire, cleanup.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupExpired, EXPIRED_TOKEN_RETENTION_MS, startAuthCleanup } from '../src/auth/cleanup.ts';
import { RequestAuth } from '../src/auth/request-auth.ts';
import { UnauthorizedError } from '../src/lib/errors.ts';
import { apiTokens } from '../src/repository/schema.ts';
import { TokenStore } from '../src/repository/tokens.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';

interface Token {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt?: string;
  expired: boolean;
  token?: string;
}

describe('platform API tokens', () => {
  let t: TestApi;
  let store: TokenStore;
  before(async () => {
    t = await startTestApi({ db: 'pglite', store: 'fs' });
    store = new TokenStore(t.db);
  });
  after(() => t.close());

  async function create(user: 'alice' | 'vic' | 'root', body: unknown): Promise<Response> {
    return t.fetch(user, '/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  test('a user creates a token, uses it as bearer, sees it listed with its last use, and revokes it', async () => {
    const r = await create('alice', { name: 'ci build', expiresInDays: 7 });
    assert.equal(r.status, 201, await r.clone().text());
    const created = (await r.json()) as Token;
    assert.match(created.token!, /^h2oat_[A-Za-z0-9_-]{43}$/);
    assert.equal(Date.parse(created.expiresAt) - Date.parse(created.createdAt), 7 * 86_400_000);

    const me = await fetch(`${t.url}/api/v1/me`, { headers: bearer(created.token!) });
    assert.deepEqual(await me.json(), { signedIn: true, subject: 'alice', name: 'alice@example.com', roles: ['full-access'], admin: false, fullAccess: true, visitor: false });
    // Any API route: alice's apps list works with the token.
    assert.equal((await fetch(`${t.url}/api/v1/apps`, { headers: bearer(created.token!) })).status, 200);

    const list = (await (await t.fetch('alice', '/api/v1/tokens')).json()) as { items: Token[] };
    assert.deepEqual(list.items.map((x) => [x.id, x.name, x.expired, typeof x.lastUsedAt, 'token' in x]), [[created.id, 'ci build', false, 'string', false]]);
    // Other users do not see it and cannot revoke it.
    assert.deepEqual(((await (await t.fetch('vic', '/api/v1/tokens')).json()) as { items: Token[] }).items, []);
    assert.equal((await t.fetch('vic', `/api/v1/tokens/${created.id}`, { method: 'DELETE' })).status, 404);

    assert.equal((await t.fetch('alice', `/api/v1/tokens/${created.id}`, { method: 'DELETE' })).status, 204);
    const after = await fetch(`${t.url}/api/v1/me`, { headers: bearer(created.token!) });
    assert.equal(after.status, 401);
    assert.match(((await after.json()) as { message: string }).message, /unknown, revoked or expired; create a new one/);
    assert.equal((await t.fetch('alice', `/api/v1/tokens/${created.id}`, { method: 'DELETE' })).status, 404);
    assert.equal((await t.fetch('alice', '/api/v1/tokens/not-a-uuid', { method: 'DELETE' })).status, 404);
  });

  test('only the hash is stored', async () => {
    const created = (await (await create('alice', { name: 'hash check' })).json()) as Token;
    const rows = JSON.stringify(await t.db.db.select().from(apiTokens));
    assert.ok(!rows.includes(created.token!) && !rows.includes(created.token!.slice(6)), 'the secret is stored in the clear');
  });

  test('bad requests name the field; anonymous users and platform tokens cannot create tokens', async () => {
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: '../x' }, 'name'],
      [{ name: 'x', expiresInDays: 0 }, 'expiresInDays'],
      [{ name: 'x', expiresInDays: 366 }, 'expiresInDays'],
      [{ name: 'x', scope: 'all' }, 'additional properties'],
    ] as const) {
      const r = await create('alice', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(await r.text(), new RegExp(field), JSON.stringify(body));
    }
    assert.equal((await create('alice', { name: 'twice' })).status, 201);
    const dup = await create('alice', { name: 'twice' });
    assert.equal(dup.status, 409);
    assert.match(((await dup.json()) as { message: string }).message, /already have a token named "twice"/);

    assert.equal((await fetch(`${t.url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' })).status, 401);
    assert.equal((await fetch(`${t.url}/api/v1/tokens`)).status, 401);
    const { token } = (await (await create('alice', { name: 'parent' })).json()) as Token;
    const child = await fetch(`${t.url}/api/v1/tokens`, { method: 'POST', headers: { ...bearer(token!), 'content-type': 'application/json' }, body: '{"name":"child"}' });
    assert.equal(child.status, 403);
    assert.match(await child.text(), /cannot create tokens/);
    // …but it may list and revoke its user's tokens (a CI job revoking itself).
    assert.equal((await fetch(`${t.url}/api/v1/tokens`, { headers: bearer(token!) })).status, 200);
  });

  test('visitors may create tokens; the token carries exactly their roles', async () => {
    const { token } = (await (await create('vic', { name: 'script' })).json()) as Token;
    const me = (await (await fetch(`${t.url}/api/v1/me`, { headers: bearer(token!) })).json()) as { subject: string; roles: string[]; visitor: boolean };
    assert.deepEqual([me.subject, me.roles, me.visitor], ['vic', ['guests'], true]);
  });

  test('an expired token is refused, listed as expired, and removed by the cleanup a week later', async () => {
    const past = new Date(Date.now() - 2 * 86_400_000);
    const { token, secret } = await store.create({ subject: 'alice', name: 'Alice', roles: ['full-access'] }, 'old', 86_400, past);
    const r = await fetch(`${t.url}/api/v1/me`, { headers: bearer(secret) });
    assert.equal(r.status, 401);
    const listed = ((await (await t.fetch('alice', '/api/v1/tokens')).json()) as { items: Token[] }).items.find((x) => x.id === token.id);
    assert.equal(listed?.expired, true);
    assert.deepEqual(await cleanupExpired({ tokens: store }), { sessions: 0, tokens: 0 }, 'kept while recently expired');
    assert.deepEqual(await cleanupExpired({ tokens: store }, new Date(Date.now() + EXPIRED_TOKEN_RETENTION_MS)), { sessions: 0, tokens: 1 });
    assert.equal((await store.list('alice')).some((x) => x.id === token.id), false);
  });

  test('last use is written at most once a minute', async () => {
    const now = new Date();
    const { token, secret } = await store.create({ subject: 'alice', name: 'Alice', roles: [] }, 'touch', 3600, now);
    const lastUsed = async () => (await store.list('alice')).find((x) => x.id === token.id)?.lastUsedAt?.getTime();
    assert.equal(await lastUsed(), undefined);
    await store.verify(secret, now);
    assert.equal(await lastUsed(), now.getTime());
    await store.verify(secret, new Date(now.getTime() + 30_000));
    assert.equal(await lastUsed(), now.getTime(), 'not written again within the minute');
    await store.verify(secret, new Date(now.getTime() + 61_000));
    assert.equal(await lastUsed(), now.getTime() + 61_000);
  });

  test("the router's authenticate function accepts platform tokens from a raw request's headers", async () => {
    const { secret } = await store.create({ subject: 'root', name: 'Root', roles: ['admin'] }, 'router', 3600);
    const ra = new RequestAuth({ config: t.config, tokens: store });
    const viewer = await ra.authenticate({ headers: { authorization: `Bearer ${secret}` } });
    assert.deepEqual([viewer?.subject, viewer?.admin], ['root', true]);
    await assert.rejects(ra.authenticate({ headers: { authorization: `Bearer ${secret}x` } }), UnauthorizedError);
    assert.equal(await ra.authenticate({ headers: {} }), null, 'static mode: no credentials is anonymous');
  });

  test('the scheduled cleanup runs on its interval and stops', async () => {
    const runs: unknown[] = [];
    const c = startAuthCleanup({ tokens: store, intervalMs: 20, onRun: (r) => runs.push(r) });
    await new Promise((r) => setTimeout(r, 150));
    await c.stop();
    const n = runs.length;
    assert.ok(n >= 2, `ran ${n} times`);
    assert.ok(runs.every((r) => typeof r === 'object' && r !== null && 'tokens' in r));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(runs.length, n, 'no run after stop');
  });
});
