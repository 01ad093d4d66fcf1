import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP_NAME_PATTERN, appInstance, instanceNameProblem, instanceVisibility, SEMVER_PATTERN, UUID_PATTERN } from './appinstance.ts';
import { IMAGE_PATTERN, runtimeVersion } from './runtimeversion.ts';

test('appInstance builds a manifest with apiVersion, kind, name and namespace', () => {
  const spec = { app: { name: 'ai.h2o.wave.tour', version: '1.0.0' }, owner: { subject: 's', name: 'n' } };
  assert.deepEqual(appInstance('tour', 'ns', spec, { labels: { a: 'b' } }), {
    apiVersion: 'hac.h2o.ai/v1alpha1',
    kind: 'AppInstance',
    metadata: { labels: { a: 'b' }, name: 'tour', namespace: 'ns' },
    spec,
  });
  assert.equal(runtimeVersion('rv1', { image: 'x/y:1' }).metadata.name, 'rv1');
  assert.equal(instanceVisibility({ spec }), 'PRIVATE');
  assert.equal(instanceVisibility({ spec: { ...spec, visibility: 'PUBLIC' } }), 'PUBLIC');
});

test('instance names must be DNS labels of at most 63 characters', () => {
  assert.equal(instanceNameProblem('tour-alice-1'), undefined);
  assert.equal(instanceNameProblem('a'.repeat(63)), undefined);
  assert.match(instanceNameProblem('a'.repeat(64)) ?? '', /64 characters long: use at most 63/);
  for (const bad of ['', 'Tour', 'a.b', '-a', 'a-', 'a_b']) assert.ok(instanceNameProblem(bad), bad);
});

test('image references: registry, port, path, tag and digest are accepted; malformed ones are not', () => {
  const re = new RegExp(IMAGE_PATTERN);
  const good = [
    'wave-launcher',
    'container-registry/wave-launcher:latest',
    'ghcr.io/h2oai/wave-launcher:1.0.0-py3.12',
    'localhost:5000/a/b_c__d:v1',
    'localhost/x',
    'Registry.Example.com/x',
    'myhost:5000/x',
    `registry.example.com/x@sha256:${'a'.repeat(64)}`,
    `x/y:1@sha256:${'0'.repeat(64)}`,
  ];
  const bad = ['', 'UPPER/case', 'a b', 'x:', 'x::1', 'https://ghcr.io/x', 'x@sha256:short', '/x', 'x/'];
  for (const g of good) assert.ok(re.test(g), g);
  for (const b of bad) assert.ok(!re.test(b), b);
});

test('app name, semver and uuid patterns', () => {
  assert.ok(new RegExp(APP_NAME_PATTERN).test('ai.h2o.wave.my-app'));
  assert.ok(!new RegExp(APP_NAME_PATTERN).test('my app'));
  const semver = new RegExp(SEMVER_PATTERN);
  for (const v of ['0.0.1', '1.2.3', '1.0.0-rc.1', '1.0.0+build.5', '10.20.30-alpha.beta+exp.sha.5114f85']) assert.ok(semver.test(v), v);
  for (const v of ['1.2', 'v1.2.3', '01.2.3', '1.2.3-', 'latest']) assert.ok(!semver.test(v), v);
  assert.ok(new RegExp(UUID_PATTERN).test('3b241101-e2bb-4255-8caf-4136c566a962'));
  assert.ok(!new RegExp(UUID_PATTERN).test('3B241101-E2BB-4255-8CAF-4136C566A962'));
});
