/**
 * The operator's informers: AppInstances (all namespaces), their children in
 * the scheduler namespace, and the cluster's RuntimeVersions. Children are
 * cached reduced to the fields the reconciler reads (labels, annotations,
 * status, the spec fields it sets for drift; Secret values only as digests),
 * which keeps the cache at a few KB per instance.
 */
import type { KubeConfig, KubernetesObject, V1Deployment, V1PersistentVolumeClaim, V1Pod, V1PodTemplateSpec, V1Secret, V1Service } from '@kubernetes/client-node';
import { Informer } from '../k8s/informer.ts';
import type { InformerOptions } from '../k8s/informer.ts';
import { API_VERSION, APP_INSTANCE_KIND, RUNTIME_VERSION_KIND, RUNTIME_VERSION_PLURAL } from '../k8s/crd/index.ts';
import type { AppInstance, RuntimeVersion } from '../k8s/crd/index.ts';
import { LABEL_INSTANCE } from './desired.ts';
import { secretValueDigest } from './drift.ts';
import { LABEL_SECRET_VISIBILITY } from '../k8s/app-secrets.ts';

export const APP_INSTANCE_PLURAL = 'appinstances';

/** The queue key of the instance a child belongs to (by its instance label). */
export function instanceKeyOfChild(obj: KubernetesObject): string[] {
  const name = obj.metadata?.labels?.[LABEL_INSTANCE];
  const namespace = obj.metadata?.namespace;
  return name && namespace ? [`${namespace}/${name}`] : [];
}

/** Pod templates of cached Deployments, as JSON (see deploymentWithTemplate). */
const templates = new WeakMap<V1Deployment, string>();

/** A Deployment from the cache with its pod template back in place (for drift); other objects as they are. */
export function deploymentWithTemplate(cached: V1Deployment): V1Deployment {
  const t = templates.get(cached);
  return t && cached.spec ? { ...cached, spec: { ...cached.spec, template: JSON.parse(t) as V1PodTemplateSpec } } : cached;
}

/** Only what identifies an object and ties it to its instance. */
function slimMeta<T extends KubernetesObject>(obj: T): NonNullable<T['metadata']> {
  const m = obj.metadata ?? {};
  return {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    ...(m.labels ? { labels: m.labels } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
    ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
    ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
  } as NonNullable<T['metadata']>;
}

function slimPod(p: V1Pod): V1Pod {
  const s = p.status ?? {};
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: slimMeta(p),
    // The containers list is required by the type; the reconciler never reads it from the cache.
    spec: { containers: [], ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}) },
    status: {
      phase: s.phase,
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.message ? { message: s.message } : {}),
      conditions: s.conditions?.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
      containerStatuses: s.containerStatuses?.map((c) => ({ name: c.name, ready: c.ready, restartCount: c.restartCount, state: c.state, lastState: c.lastState, image: '', imageID: '' })),
    },
  };
}

/** The informers both controllers read. */
export class OperatorCaches {
  readonly instances: Informer<AppInstance>;
  readonly runtimeVersions: Informer<RuntimeVersion>;
  readonly deployments: Informer<V1Deployment>;
  readonly services: Informer<V1Service>;
  readonly pvcs: Informer<V1PersistentVolumeClaim>;
  readonly secrets: Informer<V1Secret>;
  /** App secrets (src/k8s/app-secrets.ts): what `Secret = "x"` in app.toml may name. Key names only, no values. */
  readonly appSecrets: Informer<V1Secret>;
  readonly pods: Informer<V1Pod>;

  constructor(kc: KubeConfig, readonly namespace: string, onError?: InformerOptions<KubernetesObject>['onError']) {
    const common = { namespace, labelSelector: LABEL_INSTANCE, ...(onError ? { onError } : {}) };
    // All namespaces: RuntimeVersions are cluster-scoped, so whether one is in use is a cluster-wide question
    // (several operators, each for its own namespace, must agree). The AppInstance controller takes only its namespace's keys.
    this.instances = new Informer<AppInstance>(kc, { apiVersion: API_VERSION, kind: APP_INSTANCE_KIND, plural: APP_INSTANCE_PLURAL, ...(onError ? { onError } : {}) });
    this.runtimeVersions = new Informer<RuntimeVersion>(kc, { apiVersion: API_VERSION, kind: RUNTIME_VERSION_KIND, plural: RUNTIME_VERSION_PLURAL, ...(onError ? { onError } : {}) });
    this.deployments = new Informer<V1Deployment>(kc, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      plural: 'deployments',
      ...common,
      // No status: the instance's status follows its pods; generation tells a spec change (see InstanceController.childKeys).
      // The spec fields the operator sets stay, for drift (src/operator/drift.ts).
      transform: (d) => {
        const slim: V1Deployment = {
          apiVersion: d.apiVersion,
          kind: d.kind,
          metadata: { ...slimMeta(d), ...(d.metadata?.generation !== undefined ? { generation: d.metadata.generation } : {}) },
          spec: { replicas: d.spec?.replicas, strategy: d.spec?.strategy } as V1Deployment['spec'],
        };
        // The pod template as JSON text beside the cached object (a string takes a fraction of the heap of the parsed tree).
        if (d.spec?.template) templates.set(slim, JSON.stringify(d.spec.template));
        return slim;
      },
    });
    this.services = new Informer<V1Service>(kc, {
      apiVersion: 'v1',
      kind: 'Service',
      plural: 'services',
      ...common,
      transform: (s) => ({ apiVersion: s.apiVersion, kind: s.kind, metadata: slimMeta(s), spec: { type: s.spec?.type, selector: s.spec?.selector, ports: s.spec?.ports } }),
    });
    this.pvcs = new Informer<V1PersistentVolumeClaim>(kc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      plural: 'persistentvolumeclaims',
      ...common,
      transform: (p) => ({
        apiVersion: p.apiVersion,
        kind: p.kind,
        metadata: slimMeta(p),
        spec: { resources: { requests: { ...(p.spec?.resources?.requests?.storage ? { storage: p.spec.resources.requests.storage } : {}) } } },
        status: { phase: p.status?.phase },
      }),
    });
    // Secret data is never cached, only a digest per key (for drift); the launcher token's expiry is an annotation.
    this.secrets = new Informer<V1Secret>(kc, {
      apiVersion: 'v1',
      kind: 'Secret',
      plural: 'secrets',
      ...common,
      transform: (s) => ({ apiVersion: s.apiVersion, kind: s.kind, metadata: slimMeta(s), data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, secretValueDigest(v)])) }),
    });
    this.appSecrets = new Informer<V1Secret>(kc, {
      apiVersion: 'v1',
      kind: 'Secret',
      plural: 'secrets',
      namespace,
      labelSelector: LABEL_SECRET_VISIBILITY,
      ...(onError ? { onError } : {}),
      transform: (s) => ({ apiVersion: s.apiVersion, kind: s.kind, metadata: slimMeta(s), data: Object.fromEntries(Object.keys(s.data ?? {}).map((k) => [k, ''])) }),
    });
    this.pods = new Informer<V1Pod>(kc, { apiVersion: 'v1', kind: 'Pod', plural: 'pods', ...common, transform: slimPod });
  }

  /** Every informer. */
  all(): Informer<KubernetesObject>[] {
    return [this.instances, this.runtimeVersions, this.deployments, this.services, this.pvcs, this.secrets, this.appSecrets, this.pods] as unknown as Informer<KubernetesObject>[];
  }

  /** Informers of the children (not instances, not runtime versions). */
  children(): Informer<KubernetesObject>[] {
    return [this.deployments, this.services, this.pvcs, this.secrets, this.pods] as unknown as Informer<KubernetesObject>[];
  }

  /** Starts every informer and waits for the first lists. */
  async start(timeoutMs = 60_000): Promise<void> {
    await Promise.all(this.all().map((i) => i.start()));
    await Promise.all(this.all().map((i) => i.waitForSync(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }

  /** Pods of instance `name`. */
  podsOf(name: string): V1Pod[] {
    return this.pods.list(this.namespace).filter((p) => p.metadata?.labels?.[LABEL_INSTANCE] === name);
  }
}
