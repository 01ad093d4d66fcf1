// needs: cluster
/**
 * The RBAC of manifests/base is enough to run the app store: the operator,
 * the API (its instance cache, pod and event reads) and an instance cache
 * like the router's run here with nothing but the `appstore`
 * ServiceAccount's token (TokenRequest API), in a namespace that enforces
 * the restricted Pod Security profile like the base Namespace. The operator
 * applies the configured RuntimeVersion (cluster-scoped) and wins the Lease;
 * an AppInstance created directly (GitOps) and one run through the API both
 * reach Ready, suspend, and are removed with their finalizer; nothing logs
 * "forbidden".
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import pino from 'pino';
import { stringify } from 'yaml';
import { API_VERSION, APP_INSTANCE_KIND, APP_INSTANCE_PLURAL, GROUP, VERSION } from '../src/k8s/crd/index.ts';
import type { AppInstance } from '../src/k8s/crd/index.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { InstanceCache } from '../src/k8s/instance-cache.ts';
import { createMetricsRegistry } from '../src/lib/metrics.ts';
import { startOperator } from '../src/operator/operator.ts';
import type { Operator } from '../src/operator/operator.ts';
import type { CatalogPort } from '../src/operator/resolved-app.ts';
import { AppRepository } from '../src/repository/apps.ts';
import { repositoryCatalog } from '../src/server/catalog-port.ts';
import { startTestApi } from './support/api-server.ts';
import type { TestApi } from './support/api-server.ts';
import { makeBundle } from './support/bundles.ts';
import { apiStatus, freshNamespace, kubeConfig, kubectl } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { intoNamespace, kustomize, RBAC_KINDS, yamlObjects } from './support/manifests.ts';
import { condition, getInstance, getRuntimeVersion, MemoryCatalog, operatorConfig, sampleApp, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';

const admin = kubeConfig();
const sfx = suffix();
const RT = `mf-rt-${sfx}`;
const app = sampleApp({ name: 'ai.h2o.wave.rbac', version: '1.0.0' });
const logLines: string[] = [];
let ns: TestNamespace;
let sa: KubeConfig;
let op: Operator | undefined;
let cache: InstanceCache | undefined;
let api: TestApi | undefined;
let saKubeconfig: string;
const clusterScoped: string[] = [];

/** A kubeconfig for the admin kubeconfig's cluster that authenticates with `token` only. */
function tokenKubeConfig(token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  assert.ok(cluster, 'the admin kubeconfig has a current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'test' }],
    users: [{ name: 'appstore', token }],
    contexts: [{ name: 'appstore', cluster: 'test', user: 'appstore' }],
    currentContext: 'appstore',
  });
  return kc;
}

before(async () => {
  // A fresh test cluster has no CRDs yet; other test files install the same ones the same way.
  await installCrds(admin, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('manifests-op');
  const label = await kubectl(['label', 'namespace', ns.name, 'pod-security.kubernetes.io/enforce=restricted']);
  assert.equal(label.code, 0, label.stderr);
  const rbac = intoNamespace(yamlObjects(await kustomize('manifests/base')), ns.name).filter((o) => RBAC_KINDS.includes(o.kind));
  for (const o of rbac) if (o.kind.startsWith('Cluster')) clusterScoped.push(`${o.kind.toLowerCase()}/${o.metadata.name}`);
  const applied = await kubectl(['apply', '--server-side', '--field-manager=appstore-manifests-test', '-f', '-'], { input: rbac.map((o) => stringify(o)).join('---\n') });
  assert.equal(applied.code, 0, applied.stderr);
  // TokenRequest API: a short-lived token of the ServiceAccount, as a pod would get.
  const token = await kubectl(['create', 'token', 'appstore', '-n', ns.name, '--duration=3600s']);
  assert.equal(token.code, 0, token.stderr);
  sa = tokenKubeConfig(token.stdout.trim());
  saKubeconfig = join(mkdtempSync(join(tmpdir(), 'manifests-sa-')), 'kubeconfig');
  writeFileSync(saKubeconfig, sa.exportConfig(), { mode: 0o600 });
  // The API server with the ServiceAccount's kubeconfig (Scheduler.KubeConfig), as in a pod.
  api = await startTestApi({ db: 'pglite', store: 'fs', cluster: { kubeConfig: saKubeconfig, namespace: ns.name } });
});

after(async () => {
  await cache?.stop();
  await op?.stop();
  await api?.close();
  // After a failure the operator's finalizers may still be on what it managed; nothing will remove them now.
  const unfinalize = ['--type=merge', '-p', '{"metadata":{"finalizers":null}}'];
  if (ns) {
    const left = await kubectl(['-n', ns.name, 'get', 'appinstances', '-o', 'name']);
    for (const name of left.stdout.split('\n').filter(Boolean)) await kubectl(['-n', ns.name, 'patch', name, ...unfinalize]);
  }
  await kubectl(['patch', 'runtimeversion', RT, ...unfinalize]);
  await kubectl(['delete', '--ignore-not-found', '--wait=false', 'runtimeversion', RT]);
  for (const name of clusterScoped) await kubectl(['delete', '--ignore-not-found', name]);
  await ns?.cleanup();
});

test('the token is the ServiceAccount\'s, not an admin\'s', async () => {
  try {
    await sa.makeApiClient(CoreV1Api).listNamespace();
    assert.fail('the ServiceAccount listed namespaces');
  } catch (err) {
    assert.equal(apiStatus(err), 403);
  }
});

test('operator and instance cache under the ServiceAccount: RuntimeVersion, Ready, suspend, delete', { timeout: 180_000 }, async () => {
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const config = operatorConfig(ns.name, {}, [{ name: RT, image: 'registry.example.com/appstore/launcher:test', default: true, deprecated: false }]);
  // Apps imported through the API, and one the test adds directly.
  const memory = new MemoryCatalog([app]);
  const repo = repositoryCatalog(new AppRepository(api!.db));
  const catalog: CatalogPort = {
    resolveById: async (id) => (await memory.resolveById(id)) ?? repo.resolveById(id),
    resolveByNameVersion: async (n, v) => (await memory.resolveByNameVersion(n, v)) ?? repo.resolveByNameVersion(n, v),
  };
  op = await startOperator(
    {
      kc: sa,
      config,
      catalog,
      launcherKey: Buffer.alloc(32, 9),
      apiURL: 'http://appstore.test:8080',
      routing: (name) => ({ mode: 'BASE_URL', url: `http://appstore.test:8080/instance/${name}/` }),
      logger,
      metrics: createMetricsRegistry(),
    },
    { leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 500 },
  );
  // The API and router read instances and pods through this cache.
  cache = await InstanceCache.start(sa, ns.name);

  await waitFor('the operator to lead', async () => op!.isLeading(), 30_000, 100);
  await waitFor(`RuntimeVersion ${RT} applied from the config`, async () => (await getRuntimeVersion(admin, RT)) !== undefined, 30_000, 200);

  // What POST /apps/:id/instances does: create the AppInstance with the server's credentials.
  const custom = sa.makeApiClient(CustomObjectsApi);
  const body: AppInstance = { apiVersion: API_VERSION, kind: APP_INSTANCE_KIND, metadata: { name: 'rbac', namespace: ns.name }, spec: { app: { name: app.name, version: app.version }, owner: { subject: 'alice', name: 'alice@example.com' }, visibility: 'PRIVATE' } };
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, body });

  await waitFor('the instance to be Ready in the cache', async () => condition(cache!.get('rbac'), 'Ready')?.status === 'True', 90_000, 200);
  assert.ok(cache.pods('rbac').length >= 1, 'the cache sees the instance pod');
  const dep = await sa.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'rbac', namespace: ns.name });
  assert.equal(dep.spec?.replicas, 1);

  // Suspend, as POST /instances/:id/suspend does.
  await custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, name: 'rbac', body: { spec: { suspend: true } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitFor('the Deployment to scale to zero', async () => (await sa.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'rbac', namespace: ns.name })).spec?.replicas === 0, 60_000, 200);
  await waitFor('the instance to be not Ready', async () => condition(cache!.get('rbac'), 'Ready')?.status === 'False', 60_000, 200);

  // Delete, as DELETE /instances/:id does; the operator's finalizer must come off.
  await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, name: 'rbac' });
  await waitFor('the instance to be gone', async () => (await getInstance(admin, ns.name, 'rbac')) === undefined, 60_000, 200);

  assertNothingForbidden();
});

function assertNothingForbidden(): void {
  const forbidden = logLines.filter((l) => /forbidden|"code":403|statusCode":403/i.test(l));
  assert.deepEqual(forbidden, [], 'the operator hit a permission it lacks');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
type Json = Record<string, any>;

test('the API under the ServiceAccount: run → Ready with pod and events → suspend → resume → terminate', { timeout: 180_000 }, async () => {
  assert.ok(op?.isLeading(), 'the operator of the previous test still leads');
  const t = api!;
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const res = await t.fetch('alice', `/api/v1${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
  };
  const waitStatus = async (id: string, what: string, ok: (s: Json) => boolean): Promise<Json> => {
    let last: Json = {};
    await waitFor(`instance ${id}: ${what}`, async () => ok((last = (await call('GET', `/instances/${id}/status`)).body)), 90_000, 200).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; last status: ${JSON.stringify(last)}`);
    });
    return last;
  };

  const imported = await t.importBundle('alice', await makeBundle({ name: 'ai.test.rbac', version: '1.0.0', title: 'RBAC', assets: false }), 'PRIVATE');
  assert.equal(imported.status, 201);
  const appId = ((await imported.json()) as Json).app.id as string;
  const run = await call('POST', `/apps/${appId}/instances`, {});
  assert.equal(run.status, 201, JSON.stringify(run.body));
  const id = run.body.id as string;

  const ready = await waitStatus(id, 'Ready with a running pod', (s) => s.status === 'Ready' && s.pod?.containers?.[0]?.state === 'running');
  assert.equal(ready.runtimeVersion, RT, 'the default RuntimeVersion the operator applied');
  assert.ok(ready.events.length > 0, `events are listed: ${JSON.stringify(ready.events)}`);
  assert.equal((await call('GET', '/runtime-versions')).body.items.some((r: Json) => r.name === RT), true);

  assert.equal((await call('POST', `/instances/${id}/suspend`)).status, 200);
  await waitStatus(id, 'Suspended', (s) => s.status === 'Suspended' && s.pod === undefined);
  assert.equal((await call('POST', `/instances/${id}/resume`)).status, 200);
  await waitStatus(id, 'Ready again', (s) => s.status === 'Ready' && s.suspended === false);
  assert.equal((await call('DELETE', `/instances/${id}`)).status, 204);
  await waitFor('the AppInstance gone', async () => (await getInstance(admin, ns.name, id)) === undefined, 60_000, 200);
  assertNothingForbidden();
});
