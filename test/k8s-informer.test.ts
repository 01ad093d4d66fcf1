// needs: cluster
/**
 * The informer of src/k8s/informer.ts against the real kube-apiserver: the
 * cache fills and is trimmed, keys reach the queue on add/update/delete, and
 * a broken connection (cut at a TCP proxy between the informer and the
 * apiserver) is survived with the cache converging on what changed meanwhile.
 * (The 410 Gone relist is tested in src/k8s/informer.test.ts: a fresh
 * cluster's watch cache cannot be made to answer 410.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesListObject, V1ConfigMap } from '@kubernetes/client-node';
import { controllerOwnerKeys, Informer, LAST_APPLIED_ANNOTATION, objectKey, splitKey } from '../src/k8s/informer.ts';
import { WorkQueue } from '../src/k8s/work-queue.ts';
import { freshNamespace, kubeConfig } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { waitFor } from './support/ports.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
let ns: TestNamespace;
const informers: Informer<V1ConfigMap>[] = [];

function configMapInformer(opts: { kc?: KubeConfig; list?: () => Promise<KubernetesListObject<V1ConfigMap>>; onError?: (err: unknown, retryInMs: number) => void } = {}): Informer<V1ConfigMap> {
  const inf = new Informer<V1ConfigMap>(opts.kc ?? kc, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespace: ns.name,
    restartBaseMs: 100,
    restartMaxMs: 1000,
    list: opts.list,
    onError: opts.onError,
  });
  informers.push(inf);
  return inf;
}

async function createCm(name: string, data: Record<string, string> = {}, annotations?: Record<string, string>): Promise<void> {
  await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name, annotations }, data } });
}

before(async () => {
  ns = await freshNamespace('k8s-informer', kc);
});
after(async () => {
  for (const inf of informers) await inf.stop();
  await ns?.cleanup();
});

describe('Informer', () => {
  test('caches the objects trimmed (no managedFields, no last-applied annotation), typed, with apiVersion and kind', async () => {
    await createCm('pre', { a: '1' }, { [LAST_APPLIED_ANNOTATION]: '{"big":"copy"}', keep: 'me' });
    const inf = configMapInformer();
    assert.equal(inf.hasSynced(), false);
    await inf.start();
    await inf.waitForSync(30_000);
    assert.equal(inf.hasSynced(), true);
    const pre = inf.get(ns.name, 'pre');
    assert.ok(pre, 'the object listed at start is cached');
    assert.equal(pre.data?.a, '1');
    assert.equal(pre.metadata?.managedFields, undefined);
    assert.deepEqual(pre.metadata?.annotations, { keep: 'me' });
    assert.equal(pre.apiVersion, 'v1');
    assert.equal(pre.kind, 'ConfigMap');
    assert.ok(pre.metadata?.creationTimestamp instanceof Date, 'listed objects are typed models');

    // Objects that arrive through the watch have the same shape.
    await createCm('watched', { b: '2' }, { [LAST_APPLIED_ANNOTATION]: '{}' });
    await waitFor('the watched object in the cache', async () => inf.get(ns.name, 'watched') !== undefined, 10_000, 20);
    const watched = inf.get(ns.name, 'watched')!;
    assert.equal(watched.metadata?.managedFields, undefined);
    assert.equal(watched.metadata?.annotations, undefined, 'an annotations map left empty is removed');
    assert.equal(watched.kind, 'ConfigMap');
    assert.ok(watched.metadata?.creationTimestamp instanceof Date, 'watched objects are typed models too');
    assert.ok(inf.list(ns.name).some((o) => o.metadata?.name === 'pre'));
  });

  test('feeds keys, never events, to the queue on add, update and delete', async () => {
    const inf = configMapInformer();
    const keys: string[] = [];
    inf.enqueueTo({ add: (k) => keys.push(k) });
    await inf.start();
    await inf.waitForSync(30_000);
    assert.ok(keys.includes(`${ns.name}/pre`), `initial keys: ${keys.join(', ')}`);
    const k1 = `${ns.name}/k1`;
    const count = () => keys.filter((k) => k === k1).length;

    await createCm('k1');
    await waitFor('the key of the created object', async () => count() === 1, 10_000, 20);
    await core.patchNamespacedConfigMap({ name: 'k1', namespace: ns.name, body: [{ op: 'add', path: '/data', value: { x: 'y' } }] });
    await waitFor('the key of the updated object', async () => count() === 2, 10_000, 20);
    assert.equal(inf.get(ns.name, 'k1')?.data?.x, 'y', 'the cache holds the new state when the key arrives');
    await core.deleteNamespacedConfigMap({ name: 'k1', namespace: ns.name });
    await waitFor('the key of the deleted object', async () => count() === 3, 10_000, 20);
    assert.equal(inf.get(ns.name, 'k1'), undefined);

    // Into a real work queue the same keys collapse while waiting.
    const q = new WorkQueue();
    const stop = inf.enqueueTo(q);
    await createCm('k2');
    await core.patchNamespacedConfigMap({ name: 'k2', namespace: ns.name, body: [{ op: 'add', path: '/data', value: { x: 'y' } }] });
    await waitFor('both events of k2', async () => keys.filter((k) => k === `${ns.name}/k2`).length === 2, 10_000, 20);
    assert.equal(q.length, 1, 'two events for one object wait as one key');
    assert.equal(await q.get(), `${ns.name}/k2`);
    q.done(`${ns.name}/k2`);
    stop();
    await q.shutdown();
  });

  test('survives a broken connection: restarts with backoff and converges on changes made meanwhile', async () => {
    const proxy = await TcpProxy.start(new URL(kc.getCurrentCluster()!.server));
    try {
      const errors: number[] = [];
      const inf = configMapInformer({ kc: proxy.kubeConfig(kc), onError: (_err, inMs) => errors.push(inMs) });
      await createCm('doomed');
      await inf.start();
      await inf.waitForSync(30_000);
      assert.ok(inf.get(ns.name, 'doomed'));

      proxy.down = true; // cut every connection and refuse new ones
      await waitFor('the informer to notice the broken watch', async () => errors.length >= 1, 10_000, 20);
      await createCm('made-while-down');
      await core.deleteNamespacedConfigMap({ name: 'doomed', namespace: ns.name });
      await waitFor('a failed restart while the apiserver is unreachable', async () => errors.length >= 2, 10_000, 20);
      assert.ok(errors[1]! > errors[0]!, `restart delays should grow: ${errors.join(', ')}`);
      proxy.down = false;

      await waitFor('the cache to converge after the outage', async () => inf.get(ns.name, 'made-while-down') !== undefined && inf.get(ns.name, 'doomed') === undefined, 20_000, 50);
      assert.ok(inf.restarts >= 2, `restarts: ${inf.restarts}`);
      // And it keeps watching afterwards.
      await createCm('after-outage');
      await waitFor('a new object after the outage', async () => inf.get(ns.name, 'after-outage') !== undefined, 10_000, 20);
    } finally {
      await proxy.close();
    }
  });
});

describe('keys', () => {
  test('objectKey, splitKey and controllerOwnerKeys', () => {
    const cm: V1ConfigMap = {
      metadata: {
        name: 'child',
        namespace: 'ns1',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'not-controller', uid: 'u1' },
          { apiVersion: 'hac.h2o.ai/v1alpha1', kind: 'AppInstance', name: 'inst', uid: 'u2', controller: true },
        ],
      },
    };
    assert.equal(objectKey(cm), 'ns1/child');
    assert.equal(objectKey({ metadata: { name: 'node1' } }), 'node1');
    assert.deepEqual(splitKey('ns1/child'), { namespace: 'ns1', name: 'child' });
    assert.deepEqual(splitKey('node1'), { name: 'node1' });
    assert.deepEqual(controllerOwnerKeys(cm, 'hac.h2o.ai', 'AppInstance'), ['ns1/inst']);
    assert.deepEqual(controllerOwnerKeys(cm, 'apps', 'Deployment'), []);
  });
});
