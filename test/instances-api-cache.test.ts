// needs: cluster
/**
 * InstanceCache against the real kube-apiserver: it starts after the first
 * list (objects made before start are there), follows creates, status
 * writes and deletes of AppInstances, indexes pods by their instance label
 * (newest first, unlabelled pods ignored) and tells listeners which
 * instance changed. loadKubeConfig reads a file or refuses clearly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
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

describe('loadKubeConfig', () => {
  test('loads a kubeconfig file; a missing file or no in-cluster environment is a clear error', async () => {
    const loaded = loadKubeConfig(kubeconfigPath());
    assert.equal(loaded.getCurrentCluster()?.server, kc.getCurrentCluster()?.server);
    assert.throws(() => loadKubeConfig('/nonexistent/kubeconfig'), /Scheduler\.KubeConfig=\/nonexistent\/kubeconfig: no such file/);
    // The test runner does not run in a pod.
    assert.throws(() => loadKubeConfig(''), NotInClusterError);
  });
});
