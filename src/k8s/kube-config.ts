/** Loading the client configuration for the Kubernetes API the server talks to, and reusing its connections. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '@kubernetes/client-node';

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
  return reuseConnections(kc);
}

/** What client-node's private KubeConfig.createDispatcher takes and returns (an undici Dispatcher, or undefined for plain fetch). */
type CreateDispatcher = (cluster: Cluster | null, agentOptions: Record<string, unknown>) => { close(): Promise<void> } | undefined;
const REUSING = Symbol.for('appstore.k8s.reuseConnections');

/**
 * Makes every request of `kc` share one keep-alive connection pool per
 * cluster and credentials. client-node 2.0 builds a new undici Agent for each
 * request (KubeConfig.applySecurityAuthentication → createDispatcher), so
 * each call paid a new TCP connection and a TLS handshake with the client
 * certificate on both sides; under 1000 reconciles that handshake CPU was the
 * bottleneck, not the apiserver's work. The pool is keyed by the server and
 * the TLS material (re-read per request as before), so a rotated certificate
 * gets a new pool and the old one is closed. HTTP/1.1 keep-alive, as
 * client-node configures undici (no HTTP/2: undici's is experimental).
 * Idempotent; returns `kc`.
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  // Reaching into a private method: client-node offers no option for this (see above).
  const k = kc as unknown as { createDispatcher: CreateDispatcher; [REUSING]?: true };
  if (k[REUSING]) return kc;
  const create = k.createDispatcher.bind(kc);
  const pools = new Map<string, { fingerprint: string; dispatcher: ReturnType<CreateDispatcher> }>();
  k.createDispatcher = (cluster, agentOptions) => {
    const target = `${cluster?.name ?? ''} ${cluster?.server ?? ''} ${cluster?.proxyUrl ?? ''}`;
    const h = createHash('sha256').update(target);
    for (const f of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const) h.update(`\0${f}=`).update(material(agentOptions[f]));
    const fingerprint = h.digest('hex');
    const pool = pools.get(target);
    if (pool?.fingerprint === fingerprint) return pool.dispatcher;
    // New credentials: in-flight requests on the old pool finish, then it closes.
    void pool?.dispatcher?.close().catch(() => {});
    const dispatcher = create(cluster, agentOptions);
    pools.set(target, { fingerprint, dispatcher });
    return dispatcher;
  };
  k[REUSING] = true;
  return kc;
}

function material(v: unknown): string | Buffer {
  if (v === undefined || v === null) return '';
  if (Buffer.isBuffer(v)) return v;
  return typeof v === 'string' ? v : JSON.stringify(v);
}
