// needs: cluster
/**
 * Server-side apply, owner references and the error checks of src/k8s/apply.ts
 * against the real kube-apiserver (and its garbage collector).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { apply, applyStatus, FIELD_MANAGER, isConflict, isNotFound, ownerReference } from '../src/k8s/apply.ts';
import { APP_INSTANCE_PLURAL, appInstance, GROUP, setCondition, VERSION } from '../src/k8s/crd/index.ts';
import type { AppInstance } from '../src/k8s/crd/index.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { freshNamespace, kubeConfig } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { waitFor } from './support/ports.ts';

const kc = kubeConfig();
const objects = KubernetesObjectApi.makeApiClient(kc);
const core = kc.makeApiClient(CoreV1Api);
let ns: TestNamespace;

function configMap(name: string, data: Record<string, string>, extra: Partial<V1ConfigMap['metadata']> = {}): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns.name, ...extra }, data };
}

/** Which managers own `data.KEY` according to managedFields. */
function ownersOf(cm: V1ConfigMap, key: string): string[] {
  return (cm.metadata?.managedFields ?? [])
    .filter((m) => JSON.stringify(m.fieldsV1 ?? {}).includes(`"f:${key}"`))
    .map((m) => m.manager ?? '');
}

before(async () => {
  ns = await freshNamespace('k8s-apply', kc);
});
after(async () => {
  await ns?.cleanup();
});

describe('apply', () => {
  test('creates the object, owned by the appstore-operator field manager', async () => {
    const stored = await apply(objects, configMap('created', { a: '1' }));
    assert.equal(stored.data?.a, '1');
    assert.ok(stored.metadata?.uid);
    const read = await core.readNamespacedConfigMap({ name: 'created', namespace: ns.name });
    const managers = read.metadata?.managedFields?.map((m) => `${m.manager}/${m.operation}`);
    assert.deepEqual(managers, [`${FIELD_MANAGER}/Apply`]);
  });

  test('re-applying with a change updates it and drops the fields no longer applied', async () => {
    await apply(objects, configMap('updated', { a: '1', b: '2' }));
    const stored = await apply(objects, configMap('updated', { a: 'changed', c: '3' }));
    assert.deepEqual(stored.data, { a: 'changed', c: '3' });
  });

  test("keeps another manager's fields, and takes back a field another manager forced", async () => {
    await apply(objects, configMap('shared', { ours: '1', contested: 'ours' }));
    // Another actor (e.g. a user with kubectl --server-side) adds its own key and forces a change to one of ours.
    await apply(objects, configMap('shared', { theirs: 'x', contested: 'theirs' }), { fieldManager: 'someone-else' });
    let cm = await core.readNamespacedConfigMap({ name: 'shared', namespace: ns.name });
    assert.deepEqual(cm.data, { ours: '1', contested: 'theirs', theirs: 'x' });
    assert.deepEqual(ownersOf(cm, 'contested'), ['someone-else']);

    // Without force, our apply would be refused with a 409 conflict naming the field.
    const refused = await objects
      .patch(configMap('shared', { ours: '1', contested: 'ours' }), undefined, undefined, FIELD_MANAGER, false, PatchStrategy.ServerSideApply)
      .then(() => undefined, (err: unknown) => err);
    assert.equal(isConflict(refused), true, `expected a conflict, got ${String(refused)}`);
    const status = JSON.parse(String((refused as { body?: unknown }).body)) as { details?: { causes?: { message?: string; field?: string }[] } };
    assert.deepEqual(status.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "someone-else"', field: '.data.contested' }]);

    // Our apply forces: the value and the ownership come back; their own key stays.
    cm = await apply(objects, configMap('shared', { ours: '1', contested: 'ours' }));
    assert.deepEqual(cm.data, { ours: '1', contested: 'ours', theirs: 'x' });
    assert.deepEqual(ownersOf(cm, 'contested'), [FIELD_MANAGER]);
    assert.deepEqual(ownersOf(cm, 'theirs'), ['someone-else']);
  });

  test('refuses an object read from the API (managedFields) and one without a name, before calling the server', async () => {
    const read = await core.readNamespacedConfigMap({ name: 'created', namespace: ns.name });
    await assert.rejects(apply(objects, { ...read, apiVersion: 'v1', kind: 'ConfigMap' }), /carries metadata\.managedFields/);
    await assert.rejects(apply(objects, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }), /needs metadata\.name/);
  });
});

describe('applyStatus', () => {
  test('writes status through the status subresource; a re-apply of the spec leaves it, and a condition no longer applied is removed', async () => {
    await installCrds(kc, { fieldManager: 'appstore-tests' });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const resource = { group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL };
    const inst = appInstance('status-demo', ns.name, { app: { name: 'ai.h2o.wave.tour', version: '1.2.0' }, owner: { subject: 'alice', name: 'alice@example.com' } });
    const created = await apply(objects, inst);
    const now = new Date('2026-01-02T03:04:05Z');
    const conditions = setCondition(setCondition([], { type: 'Resolved', status: 'True', reason: 'Resolved', message: '' }, now), { type: 'Ready', status: 'False', reason: 'Starting', message: 'pod is starting' }, now);
    const written = await applyStatus(custom, resource, { ...inst, status: { observedGeneration: created.metadata!.generation!, conditions, summary: 'Starting' } });
    assert.deepEqual(written.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['Resolved=True', 'Ready=False']);
    assert.equal(written.status?.conditions?.[0]?.lastTransitionTime, '2026-01-02T03:04:05Z');

    // Applying the main resource does not touch status (the apiserver ignores it there).
    await apply(objects, { ...inst, spec: { ...inst.spec, suspend: true } });
    let read = (await custom.getNamespacedCustomObject({ ...resource, namespace: ns.name, name: 'status-demo' })) as AppInstance;
    assert.equal(read.spec.suspend, true);
    assert.equal(read.status?.summary, 'Starting');

    // conditions is a list map keyed by type: the condition we stop applying goes away, the other is merged.
    await applyStatus(custom, resource, { ...inst, status: { conditions: [{ ...conditions[1]!, status: 'True', reason: 'Running', message: '' }], summary: 'Ready' } });
    read = (await custom.getNamespacedCustomObject({ ...resource, namespace: ns.name, name: 'status-demo' })) as AppInstance;
    assert.deepEqual(read.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Ready=True/Running']);
    assert.equal(read.status?.observedGeneration, undefined, 'a status field no longer applied is removed');
  });
});

describe('ownerReference', () => {
  test('a child applied with the owner reference is garbage-collected when the owner is deleted', async () => {
    const owner = await apply(objects, configMap('owner', { role: 'owner' }));
    const child = await apply(objects, configMap('child', { role: 'child' }, { ownerReferences: [ownerReference({ ...owner, apiVersion: 'v1', kind: 'ConfigMap' })] }));
    assert.deepEqual(child.metadata?.ownerReferences?.map((r) => ({ ...r })), [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid, controller: true, blockOwnerDeletion: true },
    ]);
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns.name });
    await waitFor('the garbage collector to delete the owned ConfigMap', async () => {
      try {
        await core.readNamespacedConfigMap({ name: 'child', namespace: ns.name });
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    }, 60_000, 200);
  });

  test('refuses an owner without a uid', () => {
    assert.throws(() => ownerReference(configMap('x', {})), /needs apiVersion, kind, metadata\.name and metadata\.uid/);
  });
});

describe('isNotFound / isConflict', () => {
  test('classify real API errors', async () => {
    const missing = await core.readNamespacedConfigMap({ name: 'does-not-exist', namespace: ns.name }).then(() => undefined, (e: unknown) => e);
    assert.equal(isNotFound(missing), true);
    assert.equal(isConflict(missing), false);
    const dup = await core.createNamespacedConfigMap({ namespace: ns.name, body: configMap('created', {}) }).then(() => undefined, (e: unknown) => e);
    assert.equal(isConflict(dup), true, 'creating an existing name is a 409 AlreadyExists');
    assert.equal(isNotFound(new Error('network down')), false);
  });
});
