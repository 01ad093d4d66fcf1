// needs: cluster
/**
 * InstanceCache against the real kube-apiserver: it starts after the first
 * list (objects made before start are there), follows creates, status
 * writes and deletes of AppInstances, indexes pods by their instance label
 * (newest first, unlabelled pods ignored) and tells listeners which
 * instance changed. loadKubeConfig reads a file or refuses clearly;
 * startInstanceBackend stops start-up with what to do when the cluster refuses
 * or cannot be reached.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { loadConfig } from '../src/config/load.ts';
import { startInstanceBackend } from '../src/server/instance-backend.ts';
import type { V1Pod } from '@kubernetes/client-node';
import { appInstance, APP_INSTANCE_PLURAL, GROUP, VERSION } from '../src/k8s/crd/index.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { InstanceCache, INSTANCE_POD_LABEL } from '../src/k8s/instance-cache.ts';
import { loadKubeConfig, NotInClusterError } from '../src/k8s/kube-config.ts';
import { freshNamespace, kubeConfig, kubeconfigPath } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { waitFor } from './support/ports.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let ns: TestNamespace;
let cache: InstanceCache | undefined;

const owner = { subject: 'u-1', name: 'alice@example.com' };
const appId = '0b5a3e36-8f0e-4d0c-9f5b-0a1a2b3c4d5e';

async function createInstance(name: string): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns.name,
    plural: APP_INSTANCE_PLURAL,
    body: appInstance(name, ns.name, { app: { id: appId }, owner }),
  });
}

function pod(name: string, labels: Record<string, string>): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] } };
}

before(async () => {
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('instances-cache', kc);
});
after(async () => {
  await cache?.stop();
  await ns?.cleanup();
});

describe('InstanceCache', () => {
  test('has what existed before start, follows instances and their pods, and tells listeners', async () => {
    await createInstance('pre-existing');
    await core.createNamespacedPod({ namespace: ns.name, body: pod('pre-pod', { [INSTANCE_POD_LABEL]: 'pre-existing' }) });
    cache = await InstanceCache.start(kc, ns.name);
    const c = cache;
    const pre = c.get('pre-existing');
    assert.ok(pre, 'an instance created before start is in the cache when start resolves');
    assert.equal(pre.spec.owner.subject, 'u-1');
    assert.equal(pre.metadata.managedFields, undefined, 'managedFields are stripped');
    assert.deepEqual(c.pods('pre-existing').map((p) => p.metadata?.name), ['pre-pod']);
    assert.equal(c.get('nope'), undefined);
    assert.deepEqual(c.pods('nope'), []);

    const changed: string[] = [];
    const unsubscribe = c.onChange((name) => changed.push(name));

    await createInstance('second');
    await waitFor('the new instance in the cache', async () => c.get('second') !== undefined, 10_000, 20);
    assert.deepEqual(c.list().map((i) => i.metadata.name).sort(), ['pre-existing', 'second']);
    await waitFor('a change of "second"', async () => changed.includes('second'), 10_000, 20);

    // A status write (as the operator does) reaches the cache.
    await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: ns.name, plural: APP_INSTANCE_PLURAL, name: 'second', body: { status: { summary: 'Starting' } } },
      mergePatch,
    );
    await waitFor('the status in the cache', async () => c.get('second')?.status?.summary === 'Starting', 10_000, 20);

    // Pods: indexed under their instance label, newest first; unlabelled pods are not watched.
    changed.length = 0;
    await core.createNamespacedPod({ namespace: ns.name, body: pod('second-a', { [INSTANCE_POD_LABEL]: 'second' }) });
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has one-second resolution
    await core.createNamespacedPod({ namespace: ns.name, body: pod('second-b', { [INSTANCE_POD_LABEL]: 'second' }) });
    await core.createNamespacedPod({ namespace: ns.name, body: pod('unrelated', { other: 'x' }) });
    await waitFor('both pods of "second"', async () => c.pods('second').length === 2, 10_000, 20);
    assert.deepEqual(c.pods('second').map((p) => p.metadata?.name), ['second-b', 'second-a']);
    assert.ok(changed.includes('second'), 'a pod change names its instance');
    assert.deepEqual(c.pods('pre-existing').map((p) => p.metadata?.name), ['pre-pod']);

    // A pod relabelled to another instance moves, and both instances are named.
    changed.length = 0;
    await core.patchNamespacedPod({ namespace: ns.name, name: 'second-a', body: { metadata: { labels: { [INSTANCE_POD_LABEL]: 'pre-existing' } } } }, mergePatch);
    await waitFor('the relabelled pod moves', async () => c.pods('second').length === 1 && c.pods('pre-existing').length === 2, 10_000, 20);
    await waitFor('both instances named', async () => changed.includes('second') && changed.includes('pre-existing'), 10_000, 20);

    // Deletes leave the cache and the index.
    await core.deleteNamespacedPod({ namespace: ns.name, name: 'second-b', gracePeriodSeconds: 0 });
    await waitFor('the deleted pod gone', async () => c.pods('second').length === 0, 30_000, 20);
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns.name, plural: APP_INSTANCE_PLURAL, name: 'second' });
    await waitFor('the deleted instance gone', async () => c.get('second') === undefined, 10_000, 20);

    unsubscribe();
    changed.length = 0;
    await createInstance('third');
    await waitFor('the third instance', async () => c.get('third') !== undefined, 10_000, 20);
    assert.deepEqual(changed, [], 'an unsubscribed listener is not called');
  });
});

describe('startInstanceBackend', () => {
  const config = (kubeConfigPath: string) => loadConfig({ flags: { 'Scheduler.KubeConfig': kubeConfigPath, 'Scheduler.Namespace': ns.name } }).config;
  const dir = mkdtempSync(join(tmpdir(), 'instances-backend-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('no KubeConfig outside a pod: no backend (the routes answer 503)', async () => {
    assert.equal(await startInstanceBackend(config('')), undefined);
  });

  test('a cluster that refuses the server, or cannot be reached, stops start-up with what to do', async () => {
    // An identity without rights: a fresh service account's token.
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
    const token = (await core.createNamespacedServiceAccountToken({ namespace: ns.name, name: 'nobody', body: { spec: { audiences: [], expirationSeconds: 600 } } })).status?.token;
    assert.ok(token);
    const cluster = kc.getCurrentCluster()!;
    const weak = new KubeConfig();
    weak.loadFromOptions({
      clusters: [{ ...cluster, name: 'c' }],
      users: [{ name: 'nobody', token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'nobody' }],
      currentContext: 'x',
    });
    const weakFile = join(dir, 'weak.kubeconfig');
    writeFileSync(weakFile, weak.exportConfig());
    await assert.rejects(startInstanceBackend(config(weakFile)), /may not list appinstances\.hac\.h2o\.ai in namespace .* \(HTTP 403\); grant its identity/);

    const nowhere = new KubeConfig();
    nowhere.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const nowhereFile = join(dir, 'nowhere.kubeconfig');
    writeFileSync(nowhereFile, nowhere.exportConfig());
    await assert.rejects(startInstanceBackend(config(nowhereFile)), /cannot reach the Kubernetes API for instances .*check Scheduler\.KubeConfig/);
  });

  test('a reachable cluster: the backend with a synced cache', async () => {
    const b = await startInstanceBackend(config(kubeconfigPath()));
    try {
      assert.ok(b);
      assert.equal(b.namespace, ns.name);
      assert.ok(b.cache.get('pre-existing'), 'the cache has the namespace\'s instances');
    } finally {
      await b?.cache.stop();
    }
  });
});

describe('loadKubeConfig', () => {
  test('loads a kubeconfig file; a missing file or no in-cluster environment is a clear error', async () => {
    const loaded = loadKubeConfig(kubeconfigPath());
    assert.equal(loaded.getCurrentCluster()?.server, kc.getCurrentCluster()?.server);
    assert.throws(() => loadKubeConfig('/nonexistent/kubeconfig'), /Scheduler\.KubeConfig=\/nonexistent\/kubeconfig: no such file/);
    // The test runner does not run in a pod.
    assert.throws(() => loadKubeConfig(''), NotInClusterError);
  });
});
