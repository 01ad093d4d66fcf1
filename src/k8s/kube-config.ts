/** Loading the client configuration for the Kubernetes API the server talks to. */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

/** Thrown by loadKubeConfig('') outside a pod: there is no in-cluster service account to use. */
export class NotInClusterError extends Error {
  constructor() {
    super(
      'no Kubernetes cluster: Scheduler.KubeConfig is empty (meaning in-cluster) but the process does not run in a pod ' +
        '(KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set); run the server in a pod, or set Scheduler.KubeConfig ' +
        '(H2O_CLOUD_SCHEDULER_KUBE_CONFIG) to a kubeconfig file',
    );
    this.name = 'NotInClusterError';
  }
}

/**
 * A KubeConfig from the kubeconfig file at `path` (Scheduler.KubeConfig), or,
 * for '', the pod's in-cluster service account (NotInClusterError outside a
 * pod). Other failures throw a message that says what to fix.
 */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  if (path === '') {
    // client-node reads KUBERNETES_SERVICE_HOST/PORT itself; without them its server URL says "undefined".
    kc.loadFromCluster();
    const server = kc.getCurrentCluster()?.server ?? '';
    if (!server || server.includes('undefined')) throw new NotInClusterError();
    return kc;
  }
  if (!existsSync(path)) {
    throw new Error(`Scheduler.KubeConfig=${path}: no such file; point it at a kubeconfig file, or set it to '' to use the in-cluster service account`);
  }
  kc.loadFromFile(path);
  if (!kc.getCurrentCluster()) {
    throw new Error(`Scheduler.KubeConfig=${path}: the kubeconfig has no current context with a cluster; set current-context in it`);
  }
  return kc;
}
