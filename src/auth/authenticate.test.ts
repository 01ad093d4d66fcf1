import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/load.ts';
import { InvalidError, UnauthorizedError } from '../lib/errors.ts';
import { assertLocalModeSafe, createAuthenticator } from './authenticate.ts';

const base = loadConfig().config;
const auth = { ...base.auth, staticTokens: [{ token: 'alice-token-0123456789', subject: 'alice', name: 'alice@example.com', roles: ['full-access'] }] };

test('local mode: no credentials is the local admin; a static token is its user', () => {
  const authn = createAuthenticator({ ...auth, mode: 'local' });
  assert.deepEqual(authn(undefined), { subject: 'local-admin', name: 'local-admin', roles: ['admin'], admin: true, fullAccess: true });
  assert.equal(authn('Bearer alice-token-0123456789')?.subject, 'alice');
});

test('static mode: no credentials is anonymous; wrong or malformed tokens are refused', () => {
  const authn = createAuthenticator({ ...auth, mode: 'static' });
  assert.equal(authn(undefined), null);
  assert.throws(() => authn('Bearer nope-nope-nope-nope'), UnauthorizedError);
  assert.throws(() => authn('Basic abc'), /must be "Bearer <token>"/);
});

test('local mode refuses a non-loopback listen address unless forced', () => {
  const cfg = loadConfig({ flags: { 'Server.Listen': '0.0.0.0:8080' } }).config;
  assert.throws(() => assertLocalModeSafe(cfg), (e: unknown) => e instanceof InvalidError && /Auth\.Mode/.test(e.message));
  assertLocalModeSafe({ ...cfg, auth: { ...cfg.auth, forceLocalOnPublicAddress: true } });
  assertLocalModeSafe(loadConfig().config);
});
