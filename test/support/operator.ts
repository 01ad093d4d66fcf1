/**
 * Helpers for operator tests on the test cluster: an in-memory catalog (the
 * CatalogPort the operator resolves apps through), a configuration for one
 * test namespace, and an operator started in this process.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/config.ts';
import { API_VERSION, appInstance, GROUP, RUNTIME_VERSION_KIND, RUNTIME_VERSION_PLURAL, VERSION } from '../../src/k8s/crd/index.ts';
import { installCrds } from '../../src/k8s/crd/install.ts';
import type { AppInstance, RuntimeVersion, RuntimeVersionSpec } from '../../src/k8s/crd/index.ts';
import { createMetricsRegistry } from '../../src/lib/metrics.ts';
import { startOperator, type Operator, type OperatorTuning } from '../../src/operator/operator.ts';
import type { CatalogPort, ResolvedApp } from '../../src/operator/resolved-app.ts';
import { apiStatus } from './kube.ts';
import { waitFor } from './ports.ts';

/** A catalog held in memory; `add` makes an app resolvable later. */
export class MemoryCatalog implements CatalogPort {
  readonly apps = new Map<string, ResolvedApp>();
  constructor(apps: ResolvedApp[] = []) {
    for (const a of apps) this.add(a);
  }
  add(app: ResolvedApp): void {
    this.apps.set(app.id, app);
  }
  async resolveById(id: string): Promise<ResolvedApp | undefined> {
    return this.apps.get(id);
  }
  async resolveByNameVersion(name: string, version: string): Promise<ResolvedApp | undefined> {
    return [...this.apps.values()].find((a) => a.name === name && a.version === version);
  }
}

/** A random UUID-looking app id. */
export function appId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A minimal app; `over` replaces fields (runtime is merged). */
export function sampleApp(over: Partial<Omit<ResolvedApp, 'runtime'>> & { runtime?: Partial<ResolvedApp['runtime']> } = {}): ResolvedApp {
  const { runtime, ...rest } = over;
  return {
    id: appId(),
    name: 'ai.h2o.wave.test',
    version: '1.0.0',
    title: 'Test app',
    module: 'app.main',
    bundleDigest: `sha256:${'a'.repeat(64)}`,
    env: [],
    files: [],
    ...rest,
    runtime: { module: 'app.main', ...runtime },
  };
}

/** The configuration of an operator for namespace `ns`, with option overrides (`Section.Key` → value). */
export function operatorConfig(ns: string, flags: Record<string, string> = {}, runtimeVersions: Config['runtimeVersions'] = []): Config {
  const { config } = loadConfig({ flags: { 'Scheduler.Namespace': ns, 'Server.PublicURL': 'http://appstore.test:8080', ...flags } });
  return { ...config, runtimeVersions };
}

export const silentLogger = pino({ level: process.env.APPSTORE_TEST_OPERATOR_LOG ?? 'silent' });

/** Starts an operator in this process with short leader-election timings. */
export async function startTestOperator(kc: KubeConfig, config: Config, catalog: CatalogPort, tuning: OperatorTuning = {}): Promise<Operator> {
  return startOperator(
    {
      kc,
      config,
      catalog,
      launcherKey: Buffer.alloc(32, 7),
      apiURL: 'http://appstore.test:8080',
      routing: (name) => ({ mode: 'BASE_URL', url: `http://appstore.test:8080/instance/${name}/` }),
      logger: silentLogger,
      metrics: createMetricsRegistry(),
    },
    { leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 500, ...tuning },
  );
}

/** Creates RuntimeVersion `name` (cluster-scoped); remove it with deleteRuntimeVersion. */
export async function createRuntimeVersion(kc: KubeConfig, name: string, spec: RuntimeVersionSpec): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, body: { apiVersion: API_VERSION, kind: RUNTIME_VERSION_KIND, metadata: { name }, spec } });
}

export async function getRuntimeVersion(kc: KubeConfig, name: string): Promise<RuntimeVersion | undefined> {
  try {
    return (await kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name })) as RuntimeVersion;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

/** Deletes a RuntimeVersion, dropping its finalizers first (cleanup when no operator runs any more). */
export async function deleteRuntimeVersion(kc: KubeConfig, name: string): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  try {
    await api.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
  } catch {
    // no finalizers, or already gone
  }
  try {
    await api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name });
  } catch (err) {
    if (apiStatus(err) !== 404) throw err;
  }
}

export async function createInstance(kc: KubeConfig, inst: AppInstance): Promise<AppInstance> {
  return (await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'appinstances', namespace: inst.metadata.namespace!, body: inst })) as AppInstance;
}

export async function getInstance(kc: KubeConfig, ns: string, name: string): Promise<AppInstance | undefined> {
  try {
    return (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'appinstances', namespace: ns, name })) as AppInstance;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

/** Merge-patches an AppInstance's spec. */
export async function patchInstanceSpec(kc: KubeConfig, ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  const { PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
  await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'appinstances', namespace: ns, name, body: { spec } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
}

export async function deleteInstance(kc: KubeConfig, ns: string, name: string): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'appinstances', namespace: ns, name });
}

/** The condition of `type` on an instance. */
export function condition(inst: AppInstance | undefined, type: string) {
  return inst?.status?.conditions?.find((c) => c.type === type);
}

/** A short random suffix for cluster-scoped names. */
export function suffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * Installs the CRDs (idempotent server-side apply; waits for Established) and
 * waits until the garbage collector handles AppInstance owners: a ConfigMap
 * owned by a probe AppInstance in `ns` must disappear after the probe is
 * deleted. The controller manager finds new resource types by discovery every
 * 30 s, so right after a first install the collector does not know them yet.
 * Every operator test file calls this itself, so each passes alone and in any order.
 */
export async function ensureOperatorCrds(kc: KubeConfig, ns: string, timeoutMs = 90_000): Promise<void> {
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const name = `gc-probe-${suffix()}`;
  const probe = (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'appinstances',
    namespace: ns,
    // Suspended, and in a namespace no operator of the test serves yet: nothing reconciles it.
    body: appInstance(name, ns, { app: { name: 'gc.probe', version: '0.0.0' }, owner: { subject: 'gc-probe', name: 'gc-probe' }, suspend: true }),
  })) as AppInstance;
  await core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name, ownerReferences: [{ apiVersion: API_VERSION, kind: probe.kind, name, uid: probe.metadata.uid!, controller: true }] } },
  });
  await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'appinstances', namespace: ns, name });
  await waitFor(
    'the garbage collector to delete a ConfigMap owned by a deleted AppInstance (it learns new CRDs by discovery every 30 s)',
    async () => {
      try {
        await core.readNamespacedConfigMap({ namespace: ns, name });
        return false;
      } catch (err) {
        if (apiStatus(err) === 404) return true;
        throw err;
      }
    },
    timeoutMs,
    250,
  );
}
