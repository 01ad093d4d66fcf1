// needs: cluster
/**
 * reuseConnections (src/k8s/kube-config.ts): every request of a KubeConfig
 * goes over a shared keep-alive pool, counted at a TCP proxy in front of the
 * real apiserver. client-node 2.0 alone opens a connection (and a TLS
 * handshake) per request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { reuseConnections } from '../src/k8s/kube-config.ts';
import { kubeConfig } from './support/kube.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

test('requests share keep-alive connections: 40 in a row use one, 10 at once at most 10', async () => {
  const kc = kubeConfig();
  const proxy = await TcpProxy.start(new URL(kc.getCurrentCluster()!.server));
  try {
    const plain = proxy.kubeConfig(kc).makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) await plain.readNamespace({ name: 'default' });
    const withoutReuse = proxy.accepted;

    proxy.accepted = 0;
    const pooled = reuseConnections(proxy.kubeConfig(kc));
    assert.equal(reuseConnections(pooled), pooled, 'idempotent');
    const core = pooled.makeApiClient(CoreV1Api);
    for (let i = 0; i < 40; i++) await core.readNamespace({ name: 'default' });
    assert.ok(proxy.accepted <= 2, `40 requests in a row opened ${proxy.accepted} connections (without reuse, 5 opened ${withoutReuse})`);

    proxy.accepted = 0;
    await Promise.all(Array.from({ length: 10 }, () => core.readNamespace({ name: 'default' })));
    for (let i = 0; i < 10; i++) await core.readNamespace({ name: 'default' });
    assert.ok(proxy.accepted <= 10, `10 parallel + 10 sequential requests opened ${proxy.accepted} connections`);
  } finally {
    await proxy.close();
  }
});
