import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valid } from 'semver';
import { deployVersion } from './bundle.ts';

test('deployVersion appends the UTC time like the seed (0.1.2-20201013062803), keeping build metadata last', () => {
  const at = new Date('2020-10-13T06:28:03.050Z');
  assert.equal(deployVersion('0.1.2', at), '0.1.2-20201013062803');
  assert.equal(deployVersion('1.0.0-rc.1', at), '1.0.0-rc.1-20201013062803');
  assert.equal(deployVersion('1.0.0+build.7', at), '1.0.0-20201013062803+build.7');
  for (const v of ['0.1.2', '1.0.0-rc.1', '1.0.0+build.7']) assert.ok(valid(deployVersion(v, at)), v);
});
