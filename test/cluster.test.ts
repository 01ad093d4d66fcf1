// needs: cluster
/**
 * Proves the test cluster is a working Kubernetes: the apiserver is ready,
 * a Deployment becomes a ReplicaSet becomes a Pod that the scheduler binds to
 * a kwok node and that reports Running with a pod IP, deleting the Deployment
 * garbage-collects the rest, and the built kubectl works with the kubeconfig.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { waitFor } from './support/ports.ts';
import { freshNamespace, isLocalCluster, kubeConfig, kubectl } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';

const local = isLocalCluster();
const onlyLocal = local ? false : 'needs the local cluster (kwok nodes, loopback pod IPs)';

function deployment(name: string, extra: { nodeSelector?: Record<string, string>; gpus?: number } = {}): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: extra.nodeSelector,
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/never-pulled:1',
              resources: extra.gpus ? { limits: { 'nvidia.com/gpu': String(extra.gpus) } } : { requests: { cpu: '100m', memory: '64Mi' } },
            },
          ],
        },
      },
    },
  };
}

describe('test cluster', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  let ns: TestNamespace;

  before(async () => {
    ns = await freshNamespace('cluster-test', kc);
  });
  after(async () => {
    await ns?.cleanup({ wait: true });
  });

  test('the apiserver is ready, reports its version and lists nodes', async () => {
    const ready = await kubectl(['get', '--raw', '/readyz']);
    assert.equal(ready.code, 0, ready.stderr);
    assert.equal(ready.stdout.trim(), 'ok');
    const v = await kubectl(['version', '-o', 'json']);
    assert.equal(v.code, 0, v.stderr);
    const versions = JSON.parse(v.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    assert.match(versions.serverVersion.gitVersion, /^v1\.\d+\.\d+/);
    if (local) assert.equal(versions.serverVersion.gitVersion, versions.clientVersion.gitVersion, 'built kubectl and apiserver come from one release');
    const nodes = await kubectl(['get', 'nodes', '-o', 'name']);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /^node\//m);
  });

  test('kubectl applies a manifest from stdin and reports a failing command by its exit code', async () => {
    const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-stdin\ndata:\n  k: v\n`;
    const applied = await kubectl(['-n', ns.name, 'apply', '-f', '-'], { input: manifest });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /configmap\/from-stdin created/);
    const cm = await core.readNamespacedConfigMap({ name: 'from-stdin', namespace: ns.name });
    assert.equal(cm.data?.k, 'v');
    const missing = await kubectl(['-n', ns.name, 'get', 'configmap', 'no-such-thing']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NotFound|not found/);
  });

  test('kubectl get nodes lists the fake nodes with their resources and accelerator label', { skip: onlyLocal }, async () => {
    const r = await kubectl(['get', 'nodes', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const nodes = (JSON.parse(r.stdout) as { items: { metadata: { name: string; labels: Record<string, string> }; status: { allocatable: Record<string, string>; conditions: { type: string; status: string }[] } }[] }).items;
    assert.ok(nodes.length >= 2, `expected at least two nodes, got ${nodes.length}`);
    for (const n of nodes) {
      assert.ok(n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'), `${n.metadata.name} is Ready`);
      assert.ok(n.status.allocatable.cpu && n.status.allocatable.memory && n.status.allocatable.pods, `${n.metadata.name} has allocatable cpu/memory/pods`);
    }
    const gpu = nodes.find((n) => n.metadata.labels['hac.h2o.ai/accelerator'] === 'nvidia-tesla-t4');
    assert.ok(gpu, 'one node is labelled hac.h2o.ai/accelerator=nvidia-tesla-t4');
    assert.equal(gpu.status.allocatable['nvidia.com/gpu'], '2');
    const table = await kubectl(['get', 'nodes']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /kwok-node-0\s+Ready/);
  });

  test('a Deployment becomes a ReplicaSet and Running pods on kwok nodes; deleting it collects them', { skip: onlyLocal }, async () => {
    const namespace = ns.name;
    await apps.createNamespacedDeployment({ namespace, body: deployment('web') });

    let pods: V1Pod[] = [];
    await waitFor('2 Running pods of deployment web', async () => {
      pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items;
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running' && p.status.podIP);
    }, 60_000, 200);

    const rs = (await apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' })).items;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.metadata?.ownerReferences?.[0]?.kind, 'Deployment');
    assert.equal(rs[0]!.metadata?.ownerReferences?.[0]?.name, 'web');
    const nodes = (await core.listNode()).items;
    for (const p of pods) {
      assert.equal(p.metadata?.ownerReferences?.[0]?.name, rs[0]!.metadata?.name, 'pod is owned by the ReplicaSet');
      const node = nodes.find((n) => n.metadata?.name === p.spec?.nodeName);
      assert.ok(node, `pod ${p.metadata?.name} is bound to an existing node (${p.spec?.nodeName})`);
      assert.equal(node.metadata?.annotations?.['kwok.x-k8s.io/node'], 'fake', 'the node is one of kwok\'s');
      assert.match(p.status!.podIP!, /^127\.\d+\.\d+\.\d+$/, 'pod IP is on loopback');
      assert.ok(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), 'pod is Ready');
    }
    assert.notEqual(pods[0]!.status!.podIP, pods[1]!.status!.podIP, 'pods get distinct IPs');

    await waitFor('deployment web to report 2 available replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace });
      return d.status?.availableReplicas === 2;
    }, 30_000, 200);

    await apps.deleteNamespacedDeployment({ name: 'web', namespace });
    await waitFor('the garbage collector to delete the ReplicaSet and its pods', async () => {
      const leftRs = (await apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' })).items;
      const leftPods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items;
      return leftRs.length === 0 && leftPods.length === 0;
    }, 60_000, 200);
  });

  test('a pod asking for a GPU lands on the accelerator node', { skip: onlyLocal }, async () => {
    const namespace = ns.name;
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('gpu', { nodeSelector: { 'hac.h2o.ai/accelerator': 'nvidia-tesla-t4' }, gpus: 1 }),
    });
    let pods: V1Pod[] = [];
    await waitFor('2 Running GPU pods', async () => {
      pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=gpu' })).items;
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running');
    }, 60_000, 200);
    for (const p of pods) assert.equal(p.spec?.nodeName, 'kwok-gpu-node-0');

    // The node has 2 GPUs: a third pod must stay Pending, unschedulable.
    const scaled = await kubectl(['-n', namespace, 'scale', 'deployment/gpu', '--replicas=3']);
    assert.equal(scaled.code, 0, scaled.stderr);
    await waitFor('the third GPU pod to be reported unschedulable', async () => {
      const all = (await core.listNamespacedPod({ namespace, labelSelector: 'app=gpu' })).items;
      return all.some((p) => p.status?.phase === 'Pending' && p.status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
    }, 30_000, 200);
  });
});
