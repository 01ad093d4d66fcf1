/**
 * A cache of one resource kind kept current by list+watch, built on
 * client-node's ListWatch, adding what a controller needs and it lacks:
 *
 * - ListWatch stops for good on an error (broken connection, failed list):
 *   we restart it with exponential backoff. It resumes the watch from the last
 *   resourceVersion; if that is too old the apiserver answers 410 Gone,
 *   on which ListWatch clears the resourceVersion and lists afresh (objects
 *   deleted meanwhile get delete callbacks from that relist).
 * - Cached objects are trimmed before caching (managedFields and the
 *   last-applied annotation are most of a small object's bytes), stamped with
 *   apiVersion/kind (list items lack them) and given the same typed shape
 *   whether they came from the list or the watch.
 * - Handlers feed keys ("namespace/name") into a work queue, never events.
 */
import { KubernetesObjectApi, ListWatch, Watch } from '@kubernetes/client-node';
// client-node does not re-export its serializer from the package root; the file is stable across 2.x (no exports map).
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import type { KubeConfig, KubernetesListObject, KubernetesObject, ObjectCallback } from '@kubernetes/client-node';

/** Annotation kubectl's client-side apply writes: a full copy of the object, useless to a controller. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** The queue key of an object: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: KubernetesObject): string {
  const { namespace, name } = obj.metadata ?? {};
  if (!name) throw new TypeError('objectKey: the object has no metadata.name');
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a key made by objectKey. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * Keys of the controlling owner of `obj` when it is of `ownerKind` in API group
 * `ownerGroup` (e.g. a Deployment's AppInstance): events on children wake the owner.
 */
export function controllerOwnerKeys(obj: KubernetesObject, ownerGroup: string, ownerKind: string): string[] {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller);
  if (!ref || ref.kind !== ownerKind || groupOf(ref.apiVersion) !== ownerGroup) return [];
  const namespace = obj.metadata?.namespace;
  return [namespace ? `${namespace}/${ref.name}` : ref.name];
}

/** Removes what a controller never reads and that dominates a cached object's size (in place; returns obj). */
export function stripForCache<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta) return obj;
  delete meta.managedFields;
  if (meta.annotations && LAST_APPLIED_ANNOTATION in meta.annotations) {
    delete meta.annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
  }
  return obj;
}

/** Anything keys can be added to (a WorkQueue). */
export interface KeySink {
  add(key: string): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** apiVersion of the resource, e.g. "v1", "apps/v1", "hac.h2o.ai/v1alpha1". */
  apiVersion: string;
  kind: string;
  /** Plural resource name in URLs, e.g. "configmaps". */
  plural: string;
  /** Watch one namespace; omitted: all namespaces (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** First delay before restarting after an error (default 500 ms); doubles per consecutive error. */
  restartBaseMs?: number;
  /** Largest restart delay (default 30 s). */
  restartMaxMs?: number;
  /** Called with each error that stopped the list/watch, before the restart is scheduled. */
  onError?: (err: unknown, restartInMs: number) => void;
  /** Replaces the LIST call (objects are still trimmed and stamped). Tests use it to start from a stale resourceVersion. */
  list?: () => Promise<KubernetesListObject<T>>;
  /** Reduces each object after trimming, before caching (keep only the fields the controller reads, to bound memory). */
  transform?: (obj: T) => T;
}

/** A list+watch cache of one kind that survives errors; see the top of this file. */
export class Informer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private readonly opts: InformerOptions<T>;
  private readonly builtIn: boolean;
  private readonly typeName: string;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private stopped = true;
  private consecutiveErrors = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Times the list/watch was restarted after an error. */
  restarts = 0;
  /** LIST calls made (the first one and every relist after a 410). */
  lists = 0;

  constructor(kc: KubeConfig, opts: InformerOptions<T>) {
    this.opts = opts;
    const group = groupOf(opts.apiVersion);
    // client-node deserializes built-in kinds into typed models (Date fields) and others only at metadata.
    this.builtIn = group === '' || !group.includes('.') || group.endsWith('.k8s.io');
    const version = opts.apiVersion.split('/').pop()!;
    this.typeName = this.builtIn ? `${version[0]!.toUpperCase()}${version.slice(1)}${opts.kind}` : 'KubernetesObject';
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const lister =
      opts.list ??
      (() => objects.list<T>(opts.apiVersion, opts.kind, opts.namespace, undefined, undefined, undefined, opts.fieldSelector, opts.labelSelector));
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      this.lists++;
      const list = await lister();
      this.consecutiveErrors = 0;
      list.items = list.items.map((item) => this.prepare(item, !this.builtIn));
      return list;
    };
    const watch = new TrimmingWatch(kc, {
      prepare: (obj: T) => this.prepare(obj, true),
      // ListWatch opens the watch only after the list is in the cache: the first watch means synced.
      onWatchStart: () => this.markSynced(),
      onEvent: () => {
        this.consecutiveErrors = 0;
      },
    });
    this.lw = new ListWatch<T>(resourcePath(opts), watch, listFn, false, opts.labelSelector, opts.fieldSelector);
    this.lw.on('error', (err?: unknown) => this.restartAfterError(err));
  }

  /** Starts listing and watching; resolves once the first attempt is under way (see waitForSync). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.lw.start();
  }

  /** Stops watching and cancels a pending restart; the cache keeps its last contents. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.lw.stop();
  }

  /** The cached object, or undefined. Treat it as read-only: it is shared with every reader. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  /** Cached objects, of one namespace or all. */
  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  /** True once the first list is in the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache; rejects after timeoutMs (default 60 s). */
  waitForSync(timeoutMs = 60_000): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${this.opts.kind} informer did not sync within ${timeoutMs} ms (is the apiserver reachable, and may we list ${this.opts.plural}?)`)), timeoutMs);
      this.syncWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Adds keys to `sink` on every add, update and delete: by default the
   * object's own key, or those `keysOf` maps it to (e.g. controllerOwnerKeys).
   * Returns a function that unregisters.
   */
  enqueueTo(sink: KeySink, keysOf: (obj: T) => string[] = (obj) => [objectKey(obj)]): () => void {
    const cb: ObjectCallback<T> = (obj) => {
      for (const key of keysOf(obj)) sink.add(key);
    };
    this.lw.on('change', cb);
    return () => this.lw.off('change', cb);
  }

  private prepare(obj: T, deserialize: boolean): T {
    obj.apiVersion ??= this.opts.apiVersion;
    obj.kind ??= this.opts.kind;
    stripForCache(obj);
    // Same shape from list and watch: typed models for built-in kinds, typed metadata for custom ones.
    const typed = deserialize ? (ObjectSerializer.deserialize(obj, this.typeName) as T) : obj;
    return this.opts.transform ? this.opts.transform(typed) : typed;
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.syncWaiters.splice(0).forEach((f) => f());
  }

  private restartAfterError(err: unknown): void {
    if (this.stopped) return;
    const base = this.opts.restartBaseMs ?? 500;
    const delay = Math.min(base * 2 ** this.consecutiveErrors, this.opts.restartMaxMs ?? 30_000);
    this.consecutiveErrors++;
    this.opts.onError?.(err, delay);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.restarts++;
      // ListWatch resumes from its last resourceVersion, or lists when it has none (first list failed, or 410).
      this.lw.start().catch((e: unknown) => this.restartAfterError(e));
    }, delay);
  }
}

interface TrimmingWatchHooks {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the raw watch object, typed by ListWatch's T
  prepare(obj: any): KubernetesObject;
  onWatchStart(): void;
  onEvent(): void;
}

/** client-node's Watch, trimming objects before ListWatch caches them and asking for bookmarks. */
class TrimmingWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly hooks: TrimmingWatchHooks,
  ) {
    super(kc);
  }

  // The signature is Watch's own; its callback types use any.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override watch(path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: (phase: string, apiObj: any, watchObj?: any) => void, done: (err: any) => void): Promise<AbortController> {
    this.hooks.onWatchStart();
    // Bookmarks keep the resourceVersion fresh on quiet resources, so a reconnect rarely needs a relist.
    const params = { ...queryParams, allowWatchBookmarks: true };
    return super.watch(
      path,
      params,
      (phase, apiObj: KubernetesObject, watchObj) => {
        this.hooks.onEvent();
        callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? apiObj : this.hooks.prepare(apiObj), watchObj);
      },
      done,
    );
  }
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

function resourcePath(opts: { apiVersion: string; plural: string; namespace?: string }): string {
  const root = opts.apiVersion.includes('/') ? `/apis/${opts.apiVersion}` : `/api/${opts.apiVersion}`;
  return opts.namespace ? `${root}/namespaces/${encodeURIComponent(opts.namespace)}/${opts.plural}` : `${root}/${opts.plural}`;
}
