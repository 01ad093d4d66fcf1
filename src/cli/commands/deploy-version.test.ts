/** Generated deploy versions: a version taken in the same second is retried in the next, others are not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, InvalidError } from '../../lib/errors.ts';
import { deployVersion, uploadDeployVersion } from './bundle.ts';

test('a generated version that conflicts (same second) is imported again under the next second\'s stamp', async () => {
  const tried: string[] = [];
  const taken = new Set([deployVersion('1.0.0')]);
  const got = await uploadDeployVersion(async () => {
    const v = deployVersion('1.0.0');
    tried.push(v);
    if (taken.has(v)) throw new ConflictError('version exists');
    return v;
  }, true);
  assert.equal(tried.length, 2);
  assert.notEqual(got, tried[0]);
});

test('a version from app.toml (not generated) and other errors are not retried', async () => {
  let calls = 0;
  await assert.rejects(uploadDeployVersion(async () => { calls++; throw new ConflictError('version exists'); }, false), ConflictError);
  await assert.rejects(uploadDeployVersion(async () => { calls++; throw new InvalidError('bad'); }, true), InvalidError);
  assert.equal(calls, 2);
});
