/**
 * The 410 Gone path of the informer. A fresh test cluster cannot produce a
 * 410 on demand (its watch cache has evicted nothing, so it answers a watch
 * from any old resourceVersion with the current objects), so a local HTTP
 * server plays the apiserver's part here with the apiserver's exact wire
 * format: a watch answered 200 with one ERROR event carrying a 410 Status.
 * Everything else about the informer is tested against the real apiserver
 * in test/k8s-informer.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { Informer } from './informer.ts';

const cm = (name: string, rv: string) => ({ metadata: { name, namespace: 'demo', resourceVersion: rv, uid: `uid-${name}` }, data: { name } });
const lists = [
  { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '5' }, items: [cm('a', '3'), cm('b', '4')] },
  // By the time of the relist, a was deleted and c created.
  { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '12' }, items: [cm('b', '4'), cm('c', '11')] },
];
const watchRvs: string[] = [];
const openWatches: ServerResponse[] = [];
let listCalls = 0;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== '/api/v1/namespaces/demo/configmaps') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  if (url.searchParams.get('watch') !== 'true') {
    res.end(JSON.stringify(lists[Math.min(listCalls++, lists.length - 1)]));
    return;
  }
  const rv = url.searchParams.get('resourceVersion') ?? '';
  watchRvs.push(rv);
  if (rv === '5') {
    // What kube-apiserver sends when the resourceVersion is older than it keeps.
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 5 (10)', reason: 'Expired', code: 410 };
    res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    return;
  }
  openWatches.push(res);
  res.write('');
});

after(() => {
  openWatches.forEach((r) => r.end());
  server.close();
});

test('a 410 Gone on the watch makes the informer list afresh: deleted objects leave the cache, new ones enter, no error restart', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'scripted', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'nobody' }],
    contexts: [{ name: 'scripted', cluster: 'scripted', user: 'nobody' }],
    currentContext: 'scripted',
  });
  const core = kc.makeApiClient(CoreV1Api);
  const errors: unknown[] = [];
  const inf = new Informer<V1ConfigMap>(kc, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespace: 'demo',
    list: () => core.listNamespacedConfigMap({ namespace: 'demo' }),
    onError: (err) => errors.push(err),
  });
  const keys: string[] = [];
  inf.enqueueTo({ add: (k) => keys.push(k) });
  await inf.start();
  await inf.waitForSync(5000);
  for (let i = 0; i < 200 && inf.lists < 2; i++) await sleep(10);
  for (let i = 0; i < 200 && watchRvs.length < 2; i++) await sleep(10);
  try {
    assert.equal(inf.lists, 2, 'one relist after the 410');
    assert.deepEqual(watchRvs, ['5', '12'], 'the second watch starts from the fresh list');
    assert.deepEqual(inf.list('demo').map((o) => o.metadata?.name).sort(), ['b', 'c']);
    assert.deepEqual(keys, ['demo/a', 'demo/b', 'demo/a', 'demo/c'], 'a is deleted by the relist, c added, b unchanged');
    assert.equal(inf.restarts, 0);
    assert.deepEqual(errors, []);
  } finally {
    await inf.stop();
  }
});
