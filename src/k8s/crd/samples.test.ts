import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { APP_INSTANCE_KIND, AppInstanceSpecSchema, instanceNameProblem } from './appinstance.ts';
import { API_VERSION } from './group.ts';
import { RUNTIME_VERSION_KIND, RuntimeVersionSpecSchema } from './runtimeversion.ts';

const samplesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../crds/samples');
const samples = readdirSync(samplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ file: f, obj: parse(readFileSync(join(samplesDir, f), 'utf8')) as { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown } }));

test('there is a sample of each kind, including both forms of app reference', () => {
  const kinds = samples.map((s) => s.obj.kind);
  assert.ok(kinds.includes(APP_INSTANCE_KIND) && kinds.includes(RUNTIME_VERSION_KIND));
  const specs = samples.filter((s) => s.obj.kind === APP_INSTANCE_KIND).map((s) => s.obj.spec as { app: { id?: string; name?: string } });
  assert.ok(specs.some((s) => s.app.id) && specs.some((s) => s.app.name));
});

test('every sample passes the TypeBox schema its CRD is generated from', () => {
  for (const { file, obj } of samples) {
    assert.equal(obj.apiVersion, API_VERSION, file);
    const schema = obj.kind === APP_INSTANCE_KIND ? AppInstanceSpecSchema : RuntimeVersionSpecSchema;
    assert.deepEqual([...Value.Errors(schema, obj.spec)].map((e) => `${e.path}: ${e.message}`), [], file);
    if (obj.kind === APP_INSTANCE_KIND) assert.equal(instanceNameProblem(obj.metadata.name), undefined, file);
  }
});

test('the TypeBox schema rejects a sample with a wrong visibility or an over-long owner name', () => {
  const base = samples.find((s) => s.obj.kind === APP_INSTANCE_KIND)!.obj.spec as Record<string, unknown>;
  assert.equal(Value.Check(AppInstanceSpecSchema, { ...base, visibility: 'EVERYONE' }), false);
  assert.equal(Value.Check(AppInstanceSpecSchema, { ...base, owner: { subject: 's', name: 'x'.repeat(257) } }), false);
});
