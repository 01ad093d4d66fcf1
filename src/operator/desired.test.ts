import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { loadConfig } from '../config/load.ts';
import { desiredChildren, labelValue, serviceName, LABEL_INSTANCE, LABEL_MANAGED_BY } from './desired.ts';
import type { DesiredInput, DesiredResult } from './desired.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** A fixture's input.yaml: DesiredInput with the scheduler config given as H2O_CLOUD_SCHEDULER_… variables. */
type FixtureInput = Omit<DesiredInput, 'config'> & { schedulerEnv?: Record<string, string> };

function loadInput(dir: string): DesiredInput {
  const raw = parse(readFileSync(join(dir, 'input.yaml'), 'utf8')) as FixtureInput;
  const { schedulerEnv, ...rest } = raw;
  // The real loader, so the fixtures also pin the defaults the seed documents.
  const config = loadConfig({ env: schedulerEnv ?? {} }).config.scheduler;
  return { ...rest, config };
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
