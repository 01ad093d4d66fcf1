// needs: cluster
/**
 * Drift on the real apiserver: hand edits of the fields the operator sets on
 * an instance's children (kubectl edit of the Deployment's image and env,
 * kubectl scale, a Service port) are reverted; an unchanged instance's
 * children are not written again when the instance is reconciled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import { appInstance, GROUP, VERSION } from '../src/k8s/crd/index.ts';
import { createMetricsRegistry } from '../src/lib/metrics.ts';
import { APP_INSTANCE_PLURAL } from '../src/operator/caches.ts';
import { startOperator } from '../src/operator/operator.ts';
import type { Operator } from '../src/operator/operator.ts';
import { freshNamespace, kubeConfig } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { condition, createInstance, createRuntimeVersion, deleteRuntimeVersion, ensureOperatorCrds, getInstance, MemoryCatalog, operatorConfig, sampleApp, silentLogger, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const appsApi = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const RT = `drift-rt-${suffix()}`;
const IMAGE = 'registry.example.com/wave-launcher:1.0.0';
const NAME = 'steady';
const metrics = createMetricsRegistry();
const catalog = new MemoryCatalog();
// Quantities the apiserver stores in another form (1000m → 1, 1024Mi → 1Gi), an empty env value it drops and a
// [[File]] whose volume it defaults (defaultMode): none of them may look like drift.
const app = sampleApp({
  name: 'ai.h2o.wave.drift',
  runtime: { cpuLimit: '1000m', cpuReservation: '0.25', memoryLimit: '1024Mi', memoryReservation: '512Mi' },
  env: [{ name: 'GREETING', value: 'hello' }, { name: 'EMPTY', value: '' }],
  files: [{ path: 'config/settings.json', value: '{"debug":false}' }],
});
catalog.add(app);

let ns: TestNamespace;
let op: Operator;

/** Reconciles of AppInstances so far (any result). */
async function reconciles(): Promise<number> {
  const m = metrics.getSingleMetric('appstore_operator_reconcile_total') as Counter | undefined;
  return (await m?.get())?.values.filter((v) => v.labels.controller === 'appinstance').reduce((a, v) => a + v.value, 0) ?? 0;
}

async function resourceVersions(): Promise<{ deployment?: string; service?: string; secret?: string }> {
  return {
    deployment: (await appsApi.readNamespacedDeployment({ name: NAME, namespace: ns.name })).metadata?.resourceVersion,
    service: (await core.readNamespacedService({ name: NAME, namespace: ns.name })).metadata?.resourceVersion,
    secret: (await core.readNamespacedSecret({ name: `${NAME}-appstore`, namespace: ns.name })).metadata?.resourceVersion,
  };
}

before(async () => {
  ns = await freshNamespace('opdrift');
  await ensureOperatorCrds(kc, ns.name);
  await createRuntimeVersion(kc, RT, { image: IMAGE });
  op = await startOperator(
    { kc, config: operatorConfig(ns.name), catalog, launcherKey: Buffer.alloc(32, 7), apiURL: 'http://appstore.test:8080', routing: (n) => ({ mode: 'BASE_URL', url: `http://appstore.test:8080/instance/${n}/` }), logger: silentLogger, metrics },
    { leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 500 },
  );
  await waitFor('the operator to lead', async () => op.isLeading(), 30_000);
  await createInstance(kc, appInstance(NAME, ns.name, { app: { name: app.name, version: app.version }, owner: { subject: 'alice', name: 'alice@example.com' }, runtimeVersion: RT }));
  await waitFor('the instance to be Ready', async () => condition(await getInstance(kc, ns.name, NAME), 'Ready')?.status === 'True', 60_000, 100);
  await waitFor('the Service', async () => (await core.readNamespacedService({ name: NAME, namespace: ns.name }).catch(() => undefined)) !== undefined, 30_000);
  // Settled: the deployment controller has written the status of the ready rollout.
  await waitFor('the Deployment status', async () => {
    const d = await appsApi.readNamespacedDeployment({ name: NAME, namespace: ns.name });
    return d.status?.observedGeneration === d.metadata?.generation && d.status?.readyReplicas === 1;
  }, 30_000, 100);
});

after(async () => {
  await op?.stop();
  await ns?.cleanup();
  await deleteRuntimeVersion(kc, RT);
});

test('an unchanged instance: a reconcile (its label changed) writes none of its children', async () => {
  const before = await resourceVersions();
  const n = await reconciles();
  await custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, name: NAME, body: { metadata: { labels: { touched: 'yes' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitFor('a reconcile of the relabelled instance', async () => (await reconciles()) > n, 60_000, 50);
  // Time for any write the reconcile started (the Service's is not awaited) to land.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(await resourceVersions(), before);
});

test('hand edits of the Deployment (image, env, kubectl scale) and the Service (port) are reverted', async () => {
  const edit = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  // What kubectl edit sends: a strategic merge patch under its own field manager.
  await appsApi.patchNamespacedDeployment({
    name: NAME,
    namespace: ns.name,
    fieldManager: 'kubectl-edit',
    body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'evil.example.com/other:6.6.6', env: [{ name: 'GREETING', value: 'bye' }] }] } } } },
  }, edit);
  await appsApi.patchNamespacedDeploymentScale({ name: NAME, namespace: ns.name, fieldManager: 'kubectl', body: { spec: { replicas: 3 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await core.patchNamespacedService(
    { name: NAME, namespace: ns.name, fieldManager: 'kubectl-edit', body: [{ op: 'replace', path: '/spec/ports/0/port', value: 8080 }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );

  let last = '';
  await waitFor('the operator to revert the hand edits', async () => {
    const d = await appsApi.readNamespacedDeployment({ name: NAME, namespace: ns.name });
    const s = await core.readNamespacedService({ name: NAME, namespace: ns.name });
    const c = d.spec!.template.spec!.containers[0]!;
    const state = { image: c.image, replicas: d.spec!.replicas, greeting: c.env?.find((e) => e.name === 'GREETING')?.value, ports: s.spec?.ports?.map((p) => p.port) };
    last = JSON.stringify(state);
    return c.image === IMAGE && d.spec!.replicas === 1 && state.greeting === 'hello' && last.includes('"ports":[80]');
  }, 30_000, 100).catch((err: Error) => {
    throw new Error(`${err.message}; last: ${last}`);
  });

  // And then it rests: no apply loop against the apiserver's defaults.
  // (The Deployment's resourceVersion moves with its status while the extra pods go: its generation counts spec writes.)
  const generation = async () => (await appsApi.readNamespacedDeployment({ name: NAME, namespace: ns.name })).metadata?.generation;
  const settled = { ...(await resourceVersions()), generation: await generation() };
  await new Promise((r) => setTimeout(r, 2000));
  const now = await resourceVersions();
  assert.deepEqual({ service: now.service, secret: now.secret, generation: await generation() }, { service: settled.service, secret: settled.secret, generation: settled.generation });
});
