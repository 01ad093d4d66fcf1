/**
 * The server's connection to the cluster for instances: which Kubernetes API
 * (Scheduler.KubeConfig, or in-cluster when it is empty and the process runs
 * in a pod), and the InstanceCache the API and the router read.
 *
 * Decision: Scheduler.KubeConfig set → the cluster is required (a bad path or
 * an unreachable apiserver stops start-up). Empty → in-cluster when
 * KUBERNETES_SERVICE_HOST/PORT are set; otherwise there is no cluster, the
 * server starts without instances and the instance routes answer 503 saying
 * how to configure one.
 */
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type pino from 'pino';
import type { InstanceBackend } from '../api/routes/instances.ts';
import type { Config } from '../config/config.ts';
import { APP_INSTANCE_PLURAL, GROUP, VERSION } from '../k8s/crd/index.ts';
import { InstanceCache } from '../k8s/instance-cache.ts';
import { loadKubeConfig, NotInClusterError } from '../k8s/kube-config.ts';
import { KubernetesPodLogs } from '../k8s/pod-logs.ts';
import type { PodLogSource } from '../k8s/pod-logs.ts';

export interface InstanceBackendOptions {
  logger?: pino.Logger;
  /** Replaces the Kubernetes pod log API (e.g. the local pod runner's logs). */
  logs?: PodLogSource;
  /** How long to wait for the first list of AppInstances and pods (default 60 s). */
  syncTimeoutMs?: number;
}

/** Connects to the configured cluster and fills the instance cache; undefined when no cluster is configured. */
export async function startInstanceBackend(config: Config, opts: InstanceBackendOptions = {}): Promise<InstanceBackend | undefined> {
  const s = config.scheduler;
  let kc;
  try {
    kc = loadKubeConfig(s.kubeConfig);
  } catch (err) {
    if (err instanceof NotInClusterError) {
      opts.logger?.warn('no Kubernetes cluster configured (Scheduler.KubeConfig is empty and the server does not run in a pod): instance routes answer 503');
      return undefined;
    }
    throw err;
  }
  await preflight(kc, s.namespace);
  let cache: InstanceCache;
  try {
    cache = await InstanceCache.start(kc, s.namespace, { ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.syncTimeoutMs ? { syncTimeoutMs: opts.syncTimeoutMs } : {}) });
  } catch (err) {
    const where = kc.getCurrentCluster()?.server ?? 'the cluster';
    throw new Error(
      `cannot read AppInstances in namespace ${s.namespace} at ${where} (${err instanceof Error ? err.message : String(err)}); ` +
        'check that the apiserver is reachable, the AppInstance CRD is installed (crds/), and the server may list appinstances and pods there (Scheduler.Namespace)',
      { cause: err },
    );
  }
  opts.logger?.info({ namespace: s.namespace, cluster: kc.getCurrentCluster()?.server, instances: cache.list().length }, 'instance cache synced');
  return { kc, namespace: s.namespace, cache, logs: opts.logs ?? new KubernetesPodLogs(kc) };
}

/**
 * One LIST of AppInstances before the informers start, so that a missing CRD
 * or missing rights stop start-up at once with what to do (the informers
 * would retry them quietly until the sync timeout).
 */
async function preflight(kc: KubeConfig, namespace: string): Promise<void> {
  const where = `namespace ${namespace} at ${kc.getCurrentCluster()?.server ?? 'the cluster'}`;
  try {
    await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: APP_INSTANCE_PLURAL, limit: 1 });
  } catch (err) {
    const code = err instanceof ApiException ? err.code : undefined;
    if (code === 404) {
      throw new Error(`the AppInstance CRD (appinstances.${GROUP}) is not installed in the cluster (${where}); install crds/ (kubectl apply -k crds/) or the deploy manifests`, { cause: err });
    }
    if (code === 401 || code === 403) {
      throw new Error(`the server may not list appinstances.${GROUP} in ${where} (HTTP ${code}); grant its identity the role in manifests/ or point Scheduler.KubeConfig at credentials that may`, { cause: err });
    }
    throw new Error(`cannot reach the Kubernetes API for instances (${where}): ${err instanceof Error ? err.message : String(err)}; check Scheduler.KubeConfig`, { cause: err });
  }
}
