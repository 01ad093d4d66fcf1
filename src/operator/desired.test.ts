import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { loadConfig } from '../config/load.ts';
import { desiredChildren, labelValue, serviceName, LABEL_INSTANCE, LABEL_MANAGED_BY } from './desired.ts';
import type { DesiredInput, DesiredResult } from './desired.ts';
import type { V1Secret } from '@kubernetes/client-node';
import { appSecretMeta, type SecretLookup, type SecretScope, type SecretVisibility } from '../k8s/app-secrets.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** An app secret in a fixture: its scope, name and key names. */
type FixtureSecret = { visibility: SecretVisibility; owner?: string; app?: string; name: string; keys: string[] };

/** A fixture's input.yaml: DesiredInput with the scheduler config given as H2O_CLOUD_SCHEDULER_… variables. */
type FixtureInput = Omit<DesiredInput, 'config' | 'secrets'> & { schedulerEnv?: Record<string, string>; appSecrets?: FixtureSecret[] };

/** A lookup over Kubernetes Secrets, as the operator's cache answers it. */
function secretLookup(secrets: V1Secret[]): SecretLookup {
  const byName = new Map(secrets.map((s) => [s.metadata!.name!, s]));
  return (n) => byName.get(n);
}

function appSecret(f: FixtureSecret): V1Secret {
  const scope: SecretScope = f.visibility === 'PRIVATE' ? { visibility: 'PRIVATE', owner: f.owner! } : f.visibility === 'APP' ? { visibility: 'APP', app: f.app! } : { visibility: 'ALL_USERS' };
  return { metadata: appSecretMeta(scope, f.name, { subject: f.owner ?? 'admin', name: f.owner ?? 'admin' }), data: Object.fromEntries(f.keys.map((k) => [k, ''])) };
}

function loadInput(dir: string): DesiredInput {
  const raw = parse(readFileSync(join(dir, 'input.yaml'), 'utf8')) as FixtureInput;
  const { schedulerEnv, appSecrets, ...rest } = raw;
  // The real loader, so the fixtures also pin the defaults the seed documents.
  const config = loadConfig({ env: schedulerEnv ?? {} }).config.scheduler;
  return { ...rest, config, secrets: secretLookup((appSecrets ?? []).map(appSecret)) };
}

/** The result as plain data (no undefined members), the shape expected.yaml holds. */
function plain(result: DesiredResult): unknown {
  return JSON.parse(JSON.stringify(result.ok ? { children: result.children } : { error: result.error }));
}

const cases = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe('desiredChildren from fixtures (src/operator/fixtures/<case>/{input,expected}.yaml)', () => {
  test('the fixture set holds every required case', () => {
    for (const c of ['minimal', 'full', 'suspended', 'base-url-routing', 'overrides-win', 'gpu-type-not-allowed', 'gpu-disabled', 'defaults-from-config']) {
      assert.ok(cases.includes(c), `fixture ${c} is missing`);
    }
  });
  for (const c of cases) {
    test(`${c}: built children equal expected.yaml`, () => {
      const dir = join(FIXTURES, c);
      assert.ok(existsSync(join(dir, 'expected.yaml')), `${c}/expected.yaml is missing: write it by hand`);
      const expected: unknown = parse(readFileSync(join(dir, 'expected.yaml'), 'utf8'));
      assert.deepEqual(plain(desiredChildren(loadInput(dir))), expected);
    });
  }
});

describe('desiredChildren invariants', () => {
  const full = () => loadInput(join(FIXTURES, 'full'));

  test('the launcher token never appears as a plain env value, only by secretKeyRef', () => {
    const input = full();
    const r = desiredChildren(input);
    assert.ok(r.ok);
    const env = r.children.deployment.spec!.template.spec!.containers[0]!.env!;
    const token = 'token' in input.launcher ? input.launcher.token : '';
    assert.ok(token);
    assert.ok(!env.some((e) => e.value?.includes(token)), 'token in a plain env value');
    assert.deepEqual(env.find((e) => e.name === 'H2O_CLOUD_LAUNCHER_TOKEN')?.valueFrom?.secretKeyRef, { name: 'full-appstore', key: 'launcher-token' });
  });

  test('every child carries the instance label and a controller owner reference to the AppInstance', () => {
    const input = full();
    const r = desiredChildren(input);
    assert.ok(r.ok);
    const { deployment, service, pvcs, secret } = r.children;
    for (const child of [deployment, service, ...pvcs, secret!]) {
      assert.equal(child.metadata?.labels?.[LABEL_INSTANCE], 'full');
      assert.equal(child.metadata?.labels?.[LABEL_MANAGED_BY], 'appstore');
      assert.deepEqual(child.metadata?.ownerReferences, [
        { apiVersion: 'hac.h2o.ai/v1alpha1', kind: 'AppInstance', name: 'full', uid: input.instance.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
    }
  });

  test('suspend changes only the replica count: PVC names and specs stay the same', () => {
    const running = full();
    const suspended = full();
    suspended.instance.spec.suspend = true;
    const a = desiredChildren(running);
    const b = desiredChildren(suspended);
    assert.ok(a.ok && b.ok);
    assert.equal(a.children.deployment.spec!.replicas, 1);
    assert.equal(b.children.deployment.spec!.replicas, 0);
    assert.deepEqual(b.children.pvcs, a.children.pvcs);
    b.children.deployment.spec!.replicas = 1;
    assert.deepEqual(b.children.deployment, a.children.deployment);
  });

  test('an app [[Env]] that collides with a platform variable is a typed error, not a duplicate env entry', () => {
    const input = full();
    input.app.env = [...input.app.env, { name: 'H2O_WAVE_ADDRESS', value: 'http://elsewhere' }];
    const r = desiredChildren(input);
    assert.deepEqual(r.ok ? undefined : r.error.field, 'Env[2].Name');
  });

  test('two mounts at one directory (a [[File]] in the VolumeMount directory) are a typed error naming the later field', () => {
    const input = full();
    input.app.files = [...input.app.files, { path: '/data/x.json', value: '{}' }];
    const r = desiredChildren(input);
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? undefined : [r.error.reason, r.error.field], ['MountPathConflict', 'Runtime.VolumeMount']);
    assert.match(r.ok ? '' : r.error.message, /\/data.*File\[2\]\.Path/);
  });

  test('a request above its limit comes down to the limit (app MemoryLimit below the default reservation; override lowering a limit)', () => {
    const input = full();
    input.app.runtime = { module: 'm', memoryLimit: '256Mi' };
    let r = desiredChildren(input);
    assert.ok(r.ok);
    assert.deepEqual(r.children.deployment.spec!.template.spec!.containers[0]!.resources, { limits: { memory: '256Mi' }, requests: { memory: '256Mi' } });
    input.app.runtime = { module: 'm', cpuLimit: '2', cpuReservation: '1500m' };
    input.instance.spec.overrides = { cpuLimit: '500m' };
    r = desiredChildren(input);
    assert.ok(r.ok);
    assert.deepEqual(r.children.deployment.spec!.template.spec!.containers[0]!.resources, { limits: { memory: '2Gi', cpu: '500m' }, requests: { memory: '512Mi', cpu: '500m' } });
  });

  test('labelValue makes any app name or version a valid label value', () => {
    assert.equal(labelValue('1.0.0-rc.1+build.5'), '1.0.0-rc.1_build.5');
    assert.equal(labelValue('ai.h2o.wave.app'), 'ai.h2o.wave.app');
    const long = labelValue(`${'a'.repeat(62)}.-b`);
    assert.equal(long, 'a'.repeat(62));
    assert.match(labelValue(`-x-${'y'.repeat(80)}`), /^x-y{61}$/);
  });

  test('serviceName keeps DNS-1035 names as they are and renames ones starting with a digit, unique and ≤ 63', () => {
    assert.equal(serviceName('hello'), 'hello');
    const a = serviceName(`1${'a'.repeat(62)}`);
    const b = serviceName(`1${'a'.repeat(61)}b`);
    assert.match(a, /^i-[a-z0-9-]*[a-z0-9]$/);
    assert.ok(a.length <= 63, a);
    assert.notEqual(a, b);
  });
});

describe('desiredChildren: app.toml Secret references resolve only among app secrets the instance is entitled to', () => {
  // The full fixture's app (ai.h2o.wave.full) launched by u1; its [[Env]] DB_PASSWORD names secret "db", key "password".
  const withSecrets = (secrets: V1Secret[], optional = false): DesiredInput => {
    const input = loadInput(join(FIXTURES, 'full'));
    const env = input.app.env.map((e) => ('secret' in e && e.secret === 'db' ? { ...e, ...(optional ? { optional: true as const } : {}) } : e));
    // Only the env reference is under test: the [[File]] one stays satisfied.
    return { ...input, app: { ...input.app, env }, secrets: secretLookup([...secrets, appSecret({ visibility: 'PRIVATE', owner: 'u1', name: 'certs', keys: ['ca'] })]) };
  };
  const dbRef = (r: DesiredResult) => {
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    return r.children.deployment.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'DB_PASSWORD')?.valueFrom?.secretKeyRef?.name;
  };

  test('a plain Secret named like the reference (the database\'s, another instance\'s) is never mounted', () => {
    for (const name of ['db', 'other-appstore']) {
      const plainSecret: V1Secret = { metadata: { name }, data: { password: '' } };
      const input = withSecrets([plainSecret]);
      const env = input.app.env.map((e) => ('secret' in e ? { ...e, secret: name } : e));
      const r = desiredChildren({ ...input, app: { ...input.app, env } });
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.error.reason === 'SecretNotFound' && r.error.field === 'Env[1].Secret', JSON.stringify(r));
      assert.match(!r.ok ? r.error.message : '', /no app secret .* is available to this instance/);
    }
  });

  test('a Secret carrying app-secret labels under a name that is not its scope\'s does not count', () => {
    const forged: V1Secret = { metadata: { ...appSecretMeta({ visibility: 'ALL_USERS' }, 'db', { subject: 'x', name: 'x' }), name: 'apps-db' }, data: { password: '' } };
    const r = desiredChildren(withSecrets([forged]));
    assert.ok(!r.ok && r.error.reason === 'SecretNotFound');
  });

  test('another user\'s PRIVATE secret is out of reach; the owner\'s own is used', () => {
    const bobs = appSecret({ visibility: 'PRIVATE', owner: 'u2', name: 'db', keys: ['password'] });
    assert.ok(!desiredChildren(withSecrets([bobs])).ok);
    const own = appSecret({ visibility: 'PRIVATE', owner: 'u1', name: 'db', keys: ['password'] });
    assert.equal(dbRef(desiredChildren(withSecrets([bobs, own]))), own.metadata!.name);
  });

  test('order: the app\'s APP scope, then the owner\'s PRIVATE, then ALL_USERS; another app\'s APP secret is ignored', () => {
    const all = appSecret({ visibility: 'ALL_USERS', name: 'db', keys: ['password'] });
    const mine = appSecret({ visibility: 'PRIVATE', owner: 'u1', name: 'db', keys: ['password'] });
    const ours = appSecret({ visibility: 'APP', app: 'ai.h2o.wave.full', name: 'db', keys: ['password'] });
    const theirs = appSecret({ visibility: 'APP', app: 'ai.h2o.wave.other', name: 'db', keys: ['password'] });
    assert.equal(dbRef(desiredChildren(withSecrets([all]))), all.metadata!.name);
    assert.equal(dbRef(desiredChildren(withSecrets([all, mine]))), mine.metadata!.name);
    assert.equal(dbRef(desiredChildren(withSecrets([all, mine, ours]))), ours.metadata!.name);
    assert.equal(dbRef(desiredChildren(withSecrets([all, theirs]))), all.metadata!.name);
  });

  test('a missing key is SecretKeyNotFound naming the keys there are', () => {
    const r = desiredChildren(withSecrets([appSecret({ visibility: 'ALL_USERS', name: 'db', keys: ['user'] })]));
    assert.ok(!r.ok && r.error.reason === 'SecretKeyNotFound' && r.error.field === 'Env[1].SecretKey');
    assert.match(!r.ok ? r.error.message : '', /has no key "password" \(it has: user\)/);
  });

  test('Optional = true: a missing secret or key leaves the variable unset instead of failing', () => {
    assert.equal(dbRef(desiredChildren(withSecrets([], true))), undefined);
    assert.equal(dbRef(desiredChildren(withSecrets([appSecret({ visibility: 'ALL_USERS', name: 'db', keys: ['user'] })], true))), undefined);
  });
});
