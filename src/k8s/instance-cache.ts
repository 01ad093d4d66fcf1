/**
 * The API's and the router's view of app instances: informers of the
 * AppInstances and of their pods in the Scheduler namespace. Readers never
 * call the apiserver; the cache follows it through list+watch (with the
 * restarts and relists of ./informer.ts, and managedFields stripped).
 */
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type pino from 'pino';
import { API_VERSION, APP_INSTANCE_KIND, APP_INSTANCE_PLURAL } from './crd/index.ts';
import type { AppInstance } from './crd/index.ts';
import { Informer } from './informer.ts';

/** Label that ties a pod to its AppInstance (the operator's LABEL_INSTANCE in src/operator/desired.ts). */
export const INSTANCE_POD_LABEL = 'hac.h2o.ai/instance';

export interface InstanceCacheOptions {
  logger?: pino.Logger;
  /** How long start() waits for the first list of both kinds (default 60 s). */
  syncTimeoutMs?: number;
}

/** Read-only cache of the AppInstances and their pods of one namespace. */
export class InstanceCache {
  private readonly listeners = new Set<(name: string) => void>();
  /** instance name → pod name → pod, kept by the pod informer's events. */
  private readonly podIndex = new Map<string, Map<string, V1Pod>>();
  /** pod name → the instance it was indexed under (a label change moves it). */
  private readonly podOwner = new Map<string, string>();

  private constructor(
    readonly namespace: string,
    private readonly instances: Informer<AppInstance>,
    private readonly podInformer: Informer<V1Pod>,
    private readonly logger?: pino.Logger,
  ) {}

  /** Informers of AppInstances and of Pods labelled hac.h2o.ai/instance in `namespace`; resolves after the first list. */
  static async start(kc: KubeConfig, namespace: string, opts: InstanceCacheOptions = {}): Promise<InstanceCache> {
    const log = opts.logger;
    const onError = (kind: string) => (err: unknown, restartInMs: number) =>
      log?.warn({ err, namespace, kind, restartInMs }, `${kind} informer stopped; restarting`);
    const instances = new Informer<AppInstance>(kc, {
      apiVersion: API_VERSION,
      kind: APP_INSTANCE_KIND,
      plural: APP_INSTANCE_PLURAL,
      namespace,
      onError: onError(APP_INSTANCE_KIND),
    });
    const pods = new Informer<V1Pod>(kc, {
      apiVersion: 'v1',
      kind: 'Pod',
      plural: 'pods',
      namespace,
      labelSelector: INSTANCE_POD_LABEL,
      onError: onError('Pod'),
    });
    const cache = new InstanceCache(namespace, instances, pods, log);
    instances.enqueueTo({ add: (key) => cache.emit(key.slice(key.indexOf('/') + 1)) });
    // Pods: keep the per-instance index, then tell listeners which instance changed.
    pods.enqueueTo({ add: (key) => cache.podChanged(key.slice(key.indexOf('/') + 1)) });
    try {
      await Promise.all([instances.start(), pods.start()]);
      const timeout = opts.syncTimeoutMs ?? 60_000;
      await Promise.all([instances.waitForSync(timeout), pods.waitForSync(timeout)]);
    } catch (err) {
      await cache.stop();
      throw err;
    }
    return cache;
  }

  /** The AppInstance named `name`, or undefined. Read-only: shared with every reader. */
  get(name: string): AppInstance | undefined {
    return this.instances.get(this.namespace, name);
  }

  /** Every cached AppInstance of the namespace. */
  list(): AppInstance[] {
    return [...this.instances.list(this.namespace)];
  }

  /** Pods of the instance (label hac.h2o.ai/instance=<name>), newest first. */
  pods(name: string): V1Pod[] {
    const pods = [...(this.podIndex.get(name)?.values() ?? [])];
    return pods.sort((a, b) => created(b) - created(a));
  }

  /** Called with the instance name whenever the instance or one of its pods changes. Returns an unsubscribe. */
  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves true once `ready(get(name))` holds (checked now and on every
   * change of the instance), false after timeoutMs. The API uses it so a
   * caller reads its own write.
   */
  waitFor(name: string, ready: (inst: AppInstance | undefined) => boolean, timeoutMs: number): Promise<boolean> {
    if (ready(this.get(name))) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const unsubscribe = this.onChange((changed) => {
        if (changed === name && ready(this.get(name))) done(true);
      });
    });
  }

  /** Stops both informers; the cache keeps its last contents. */
  async stop(): Promise<void> {
    await Promise.all([this.instances.stop(), this.podInformer.stop()]);
  }

  private podChanged(podName: string): void {
    // ListWatch updates its cache before calling back: absence means the pod was deleted.
    const pod = this.podInformer.get(this.namespace, podName);
    const before = this.podOwner.get(podName);
    const now = pod?.metadata?.labels?.[INSTANCE_POD_LABEL];
    if (before !== undefined && before !== now) {
      const m = this.podIndex.get(before);
      m?.delete(podName);
      if (m?.size === 0) this.podIndex.delete(before);
      this.podOwner.delete(podName);
    }
    if (pod && now) {
      let m = this.podIndex.get(now);
      if (!m) this.podIndex.set(now, (m = new Map()));
      m.set(podName, pod);
      this.podOwner.set(podName, now);
    }
    if (before !== undefined && before !== now) this.emit(before);
    if (now) this.emit(now);
  }

  private emit(name: string): void {
    for (const listener of this.listeners) {
      try {
        listener(name);
      } catch (err) {
        this.logger?.error({ err, instance: name }, 'an instance cache listener threw');
      }
    }
  }
}

function created(pod: V1Pod): number {
  const t = pod.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}
