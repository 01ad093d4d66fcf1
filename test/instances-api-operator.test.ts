// needs: cluster
/**
 * The instance API with the real operator behind it, on the real control
 * plane (kwok nodes "run" the pods): an instance run through the API becomes
 * Ready, its status detail shows the operator's conditions, the pod and the
 * operator's events; suspend and resume follow through; terminate removes it.
 * The operator resolves apps through the server's own catalog port.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppRepository } from '../src/repository/apps.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import type { Operator } from '../src/operator/operator.ts';
import { repositoryCatalog } from '../src/server/catalog-port.ts';
import { makeBundle } from './support/bundles.ts';
import { startTestApi, type TestApi, type UserName } from './support/api-server.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { createRuntimeVersion, deleteRuntimeVersion, getInstance, startTestOperator, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field

const kc = kubeConfig();
const rv = `test-rv-api-op-${suffix()}`;
let ns: TestNamespace;
let t: TestApi;
let operator: Operator | undefined;

async function call(user: UserName, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await t.fetch(user, `/api/v1${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function waitStatus(id: string, what: string, ok: (s: Json) => boolean): Promise<Json> {
  let last: Json = {};
  await waitFor(`instance ${id}: ${what}`, async () => {
    last = (await call('alice', 'GET', `/instances/${id}/status`)).body;
    return ok(last);
  }, 90_000, 200).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last status: ${JSON.stringify(last)}`);
  });
  return last;
}

before(async () => {
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('instances-api-op', kc);
  await createRuntimeVersion(kc, rv, { image: 'registry.example.com/wave-launcher:1.0.0' });
  t = await startTestApi({ db: 'pglite', store: 'fs', cluster: { kubeConfig: kubeconfigPath(), namespace: ns.name } });
  operator = await startTestOperator(kc, { ...t.config, runtimeVersions: [] }, repositoryCatalog(new AppRepository(t.db)));
});

after(async () => {
  await operator?.stop();
  await t?.close();
  await ns?.cleanup();
  await deleteRuntimeVersion(kc, rv);
});

describe('instance API with the operator', () => {
  test('run → Ready with pod and events; suspend → Suspended; resume → Ready; terminate → gone', async () => {
    const res = await t.importBundle('alice', await makeBundle({ name: 'ai.test.operated', version: '2.1.0', title: 'Operated', assets: false }), 'PRIVATE');
    assert.equal(res.status, 201);
    const appId = ((await res.json()) as Json).app.id as string;
    const run = await call('alice', 'POST', `/apps/${appId}/instances`, { runtimeVersion: rv });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    const id = run.body.id as string;

    const ready = await waitStatus(id, 'Ready with a running pod', (s) => s.status === 'Ready' && s.pod?.containers?.[0]?.state === 'running');
    assert.equal(ready.appName, 'ai.test.operated');
    assert.equal(ready.appVersion, '2.1.0');
    assert.equal(ready.runtimeVersion, rv);
    assert.equal(ready.reason, undefined, 'no reason while Ready');
    assert.ok(ready.readyAt, 'readyAt is set');
    assert.match(ready.url, new RegExp(`/instance/${id}/$`));
    assert.equal(ready.conditions.find((c: Json) => c.type === 'Ready')?.status, 'True');
    assert.equal(ready.pod.phase, 'Running');
    assert.ok(ready.pod.node, 'the pod is on a node');
    assert.ok(ready.events.length > 0, `the operator's events are listed: ${JSON.stringify(ready.events)}`);

    const listed = await call('alice', 'GET', '/instances');
    assert.equal(listed.body.items.find((i: Json) => i.id === id)?.status, 'Ready');

    assert.equal((await call('alice', 'POST', `/instances/${id}/suspend`)).status, 200);
    const suspended = await waitStatus(id, 'Suspended', (s) => s.status === 'Suspended' && s.pod === undefined);
    assert.equal(suspended.suspended, true);
    const noLogs = await t.fetch('alice', `/api/v1/instances/${id}/logs`);
    assert.equal(noLogs.status, 503);
    assert.match(((await noLogs.json()) as Json).message, /it is suspended/);

    assert.equal((await call('alice', 'POST', `/instances/${id}/resume`)).status, 200);
    await waitStatus(id, 'Ready again', (s) => s.status === 'Ready' && s.suspended === false);

    assert.equal((await call('alice', 'DELETE', `/apps/${appId}`)).status, 409, 'the app has an instance');
    assert.equal((await call('alice', 'DELETE', `/instances/${id}`)).status, 204);
    await waitFor('the AppInstance gone', async () => (await getInstance(kc, ns.name, id)) === undefined, 30_000, 100);
    await waitFor('the app deletable', async () => (await call('alice', 'DELETE', `/apps/${appId}`)).status === 204, 10_000, 100);
  });
});
