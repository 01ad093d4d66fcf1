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
import type pino from 'pino';
import type { InstanceBackend } from '../api/routes/instances.ts';
import type { Config } from '../config/config.ts';
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
