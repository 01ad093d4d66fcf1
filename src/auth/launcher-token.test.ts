import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '../lib/errors.ts';
import { signLauncherToken, verifyLauncherToken } from './launcher-token.ts';

const key = randomBytes(32);
const now = 1_800_000_000;

test('a launcher token opens its own app only, until it expires', () => {
  const token = signLauncherToken(key, { app: 'app-1', instance: 'i-1', exp: now + 60 });
  assert.deepEqual(verifyLauncherToken(key, token, 'app-1', now), { app: 'app-1', instance: 'i-1', exp: now + 60 });
  assert.throws(() => verifyLauncherToken(key, token, 'app-2', now), ForbiddenError);
  assert.throws(() => verifyLauncherToken(key, token, 'app-1', now + 61), /expired/);
});

test('tampered, re-signed with another key, or malformed tokens are refused', () => {
  const token = signLauncherToken(key, { app: 'app-1', exp: now + 60 });
  const [, payload, sig] = token.split('.');
  const forged = `lt1.${Buffer.from(JSON.stringify({ app: 'app-2', exp: now + 60 })).toString('base64url')}.${sig}`;
  assert.throws(() => verifyLauncherToken(key, forged, 'app-2', now), UnauthorizedError);
  assert.throws(() => verifyLauncherToken(randomBytes(32), token, 'app-1', now), /signature/);
  for (const bad of ['lt1.', `lt1.${payload}`, `lt1.${payload}.${sig}.x`, 'nope', `lt1.!!!.${sig}`]) assert.throws(() => verifyLauncherToken(key, bad, 'app-1', now), UnauthorizedError, bad);
});
