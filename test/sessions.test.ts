/**
 * SessionStore on PGlite: tokens are stored hashed, provider tokens sealed,
 * sessions expire and logout deletes them.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../src/repository/db.ts';
import { sessions } from '../src/repository/schema.ts';
import { SessionStore } from '../src/repository/sessions.ts';

describe('SessionStore', () => {
  let db: Database;
  let store: SessionStore;
  before(async () => {
    db = await openDatabase({});
    store = new SessionStore(db, randomBytes(32));
  });
  after(() => db.close());

  test('a created session is found by its token; nothing secret is stored in the clear', async () => {
    const { token, expiresAt } = await store.create({ subject: 'alice', name: 'Alice', roles: ['full-access'], idToken: 'id.token.jwt', refreshToken: 'refresh-secret', ttlSeconds: 3600 });
    assert.ok(expiresAt.getTime() > Date.now() + 3500_000);
    const s = await store.get(token);
    assert.deepEqual([s?.subject, s?.name, s?.roles, s?.idToken, s?.refreshToken], ['alice', 'Alice', ['full-access'], 'id.token.jwt', 'refresh-secret']);
    const rows = JSON.stringify(await db.db.select().from(sessions));
    for (const secret of [token, 'refresh-secret', 'id.token.jwt']) assert.ok(!rows.includes(secret), `${secret} is stored in the clear`);
    assert.equal(await store.get(`${token}x`), undefined);
  });

  test('a store with another key cannot read the sealed tokens', async () => {
    const { token } = await store.create({ subject: 'bob', name: 'Bob', roles: [], refreshToken: 'r', ttlSeconds: 60 });
    const other = await new SessionStore(db, randomBytes(32)).get(token);
    assert.equal(other?.subject, 'bob');
    assert.equal(other?.refreshToken, undefined);
  });

  test('an expired session is gone', async () => {
    const { token } = await store.create({ subject: 'carol', name: 'Carol', roles: [], ttlSeconds: 60 });
    assert.ok(await store.get(token));
    assert.equal(await store.get(token, new Date(Date.now() + 61_000)), undefined);
    assert.equal(await store.get(token), undefined, 'the expired row was deleted');
  });

  test('delete ends a session', async () => {
    const { token } = await store.create({ subject: 'root', name: 'Root', roles: ['admin'], ttlSeconds: 60 });
    assert.equal(await store.delete(token), true);
    assert.equal(await store.get(token), undefined);
    assert.equal(await store.delete(token), false);
  });
});
