/**
 * The AppInstance reconciler: for one key it resolves the app (catalog port)
 * and the runtime version, applies the desired children with server-side
 * apply (skipping children whose desired-state hash is unchanged and whose
 * fields we set nobody else changed — drift.ts), keeps a
 * launcher token in the operator-owned Secret and renews it before expiry,
 * and writes status (conditions, summary, url, resolved, observedGeneration,
 * startedAt/readyAt) through /status only when it changed. User mistakes
 * become conditions with reasons, never crash loops. See docs/operator.md.
 */
import { createHash } from 'node:crypto';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObject, V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { signLauncherToken } from '../auth/launcher-token.ts';
import type { Config } from '../config/config.ts';
import { runtimeVersionObjectName } from '../config/runtime-version-name.ts';
import { apiStatusCode, apply, applyStatus, FIELD_MANAGER } from '../k8s/apply.ts';
import { findCondition, GROUP, INSTANCE_CONDITIONS, removeCondition, rfc3339, setCondition, VERSION } from '../k8s/crd/index.ts';
import type { AppInstance, AppInstanceStatus, Condition, ConditionUpdate, InstanceSummary, ResolvedApp as StatusResolved, RuntimeVersion } from '../k8s/crd/index.ts';
import { LABEL_SECRET_NAME } from '../k8s/app-secrets.ts';
import { splitKey } from '../k8s/informer.ts';
import type { HandlerResult } from '../k8s/work-queue.ts';
import { APP_INSTANCE_PLURAL, deploymentWithTemplate, instanceKeyOfChild, type OperatorCaches } from './caches.ts';
import { desiredChildren, LAUNCHER_TOKEN_KEY } from './desired.ts';
import { childDrift, listRepairPatch } from './drift.ts';
import type { JsonPatchOp } from './drift.ts';
import type { DesiredChildren, RoutingMode } from './desired.ts';
import type { EventRecorder, EventType } from './events.ts';
import { observePod } from './instance-status.ts';
import { WriteFlights, type Enqueue } from './write-flights.ts';
import type { CatalogPort, ResolvedApp } from './resolved-app.ts';

/** Annotation holding the hash of the desired state a child was last applied from. */
export const DESIRED_HASH_ANNOTATION = 'hac.h2o.ai/desired-hash';
/** Annotation on the operator-owned Secret: when its launcher token expires (RFC 3339). */
export const TOKEN_EXPIRES_ANNOTATION = 'hac.h2o.ai/launcher-token-expires';
/** Default lifetime of a launcher token; it is renewed when half of it is left. */
export const DEFAULT_TOKEN_TTL_MS = 24 * 3600 * 1000;
/** How often an instance that cannot be resolved (unknown app, missing runtime) is looked at again. */
export const UNRESOLVED_RETRY_MS = 60_000;
const PLACEHOLDER_TOKEN = 'lt1.placeholder';
/** Service creations sent to the apiserver at once (see InstanceController.applyService). */
export const SERVICE_CREATES_IN_FLIGHT = 8;

/** A counting semaphore: run() starts its task when fewer than `size` run, in call order. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export interface InstanceControllerOptions {
  kc: KubeConfig;
  config: Config;
  caches: OperatorCaches;
  catalog: CatalogPort;
  launcherKey: Buffer;
  /** Base URL of the Appstore API as pods reach it. */
  apiURL: string;
  routing: (instanceName: string) => { mode: RoutingMode; url: string };
  events: EventRecorder;
  logger: Logger;
  /** Launcher token lifetime (default 24 h). */
  tokenTtlMs?: number;
  /** Re-queues a key with backoff (the work queue's addRateLimited): for a Service creation that failed after its reconcile ended. */
  retry?: (key: string) => void;
  /**
   * Adds a key to the queue, its wait counted from `since` (the work queue's add). With it, an event that arrives
   * while our own write of that object is in flight is decided when the write returns (write-flights.ts); without
   * it, such an event always re-queues.
   */
  enqueue?: Enqueue;
}

interface AppliedChild {
  /** resourceVersion the apply returned. */
  resourceVersion: number;
  hash: string;
  /** TOKEN_EXPIRES_ANNOTATION of an applied Secret. */
  expires?: string;
}

type Resolution =
  | { ok: true; app: ResolvedApp; runtime: { name: string; image: string } }
  | { ok: false; reason: string; message: string; retry: boolean };

/** Reasons of the Ready condition that deserve a Warning event. */
const WARNING_REASONS = new Set([
  'AppNotFound', 'RuntimeVersionNotFound', 'RuntimeVersionDeprecated', 'RuntimeVersionDeleting', 'NoDefaultRuntimeVersion', 'GPUNotAllowed', 'GPUTypeNotAllowed',
  'ReservedEnvName', 'MountPathConflict', 'InvalidChild', 'CrashLoopBackOff', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError',
  'PodFailed', 'TimedOut', 'Unschedulable', 'WaitingForStorage',
]);

/** Reconciles AppInstances; `reconcile` is the work queue's handler. */
export class InstanceController {
  private readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly tokenTtlMs: number;
  /** Status as last written per key, for reconciles that run before the informer has seen our own write. */
  private readonly written = new Map<string, { uid: string; resourceVersion: number; status: AppInstanceStatus }>();
  /**
   * Children as last applied, per instance key then "Kind/name", until the
   * informer has seen that write: a reconcile that runs before (an echo of
   * another child, the status write) must not apply them again — nor mint the
   * Secret a new token because the cache does not show it yet.
   */
  private readonly applied = new Map<string, Map<string, AppliedChild>>();
  /** Per instance key: the app secret names its app references (for appSecretKeys). */
  private readonly secretNames = new Map<string, Set<string>>();
  /** Service creations in flight (see applyService): instance key → desired hash, and their promises. */
  private readonly creatingServices = new Map<string, string>();
  private readonly detached = new Set<Promise<void>>();
  /** At most this many Service creations at once: more only crowd the apiserver, which allocates ClusterIPs one at a time. */
  private readonly serviceSlots = new Slots(SERVICE_CREATES_IN_FLIGHT);
  /** Per Deployment (instance key + "/Deployment/name"): generation, deletion and hash as last seen, for childKeys. */
  private readonly deploymentsSeen = new Map<string, string>();
  /** Our writes in flight and the events of their objects held meanwhile (write-flights.ts). */
  private readonly flights: WriteFlights;

  constructor(private readonly o: InstanceControllerOptions) {
    this.objects = KubernetesObjectApi.makeApiClient(o.kc);
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.apps = o.kc.makeApiClient(AppsV1Api);
    this.tokenTtlMs = o.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS;
    this.flights = new WriteFlights(o.enqueue);
  }

  /** One reconcile of the instance with queue key `key` ("namespace/name"). */
  async reconcile(key: string): Promise<HandlerResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.o.caches.instances.get(namespace, name);
    if (!cached || cached.metadata.deletionTimestamp) {
      // Children go with it: their owner references let the garbage collector delete them.
      this.written.delete(key);
      this.applied.delete(key);
      this.secretNames.delete(key);
      return;
    }
    const inst = this.freshest(key, cached);
    const log = this.o.logger.child({ kind: 'AppInstance', namespace, name });
    const now = new Date();
    const url = this.o.routing(name).url;

    const res = await this.resolve(inst);
    if (!res.ok) {
      log.info({ reason: res.reason }, res.message);
      const conditions: ConditionUpdate[] = [
        { type: INSTANCE_CONDITIONS.Resolved, status: 'False', reason: res.reason, message: res.message },
        { type: INSTANCE_CONDITIONS.Ready, status: 'False', reason: res.reason, message: res.message },
      ];
      await this.writeStatus(key, inst, { conditions, summary: 'Failed', url, keepResolved: true }, now, log);
      return res.retry ? { requeueAfterMs: UNRESOLVED_RETRY_MS } : undefined;
    }
    const { app, runtime } = res;
    const resolved: StatusResolved = {
      appId: app.id,
      appName: app.name,
      appVersion: app.version,
      appTitle: app.title,
      module: app.module,
      bundleDigest: app.bundleDigest,
      runtimeVersion: runtime.name,
      image: runtime.image,
    };
    const resolvedCond: ConditionUpdate = { type: INSTANCE_CONDITIONS.Resolved, status: 'True', reason: 'Resolved', message: `app ${app.name} ${app.version} in runtime ${runtime.name} (${runtime.image})` };

    const built = desiredChildren({
      instance: inst,
      app,
      runtime,
      config: this.o.config.scheduler,
      launcher: { apiURL: this.o.apiURL, token: PLACEHOLDER_TOKEN },
      routing: this.o.routing(name),
      secrets: (objectName) => this.o.caches.appSecrets.get(namespace, objectName),
    });
    this.noteSecretNames(key, app);
    if (!built.ok) {
      const message = `${built.error.field}: ${built.error.message}`;
      log.info({ reason: built.error.reason }, message);
      await this.writeStatus(key, inst, { conditions: [resolvedCond, { type: INSTANCE_CONDITIONS.Ready, status: 'False', reason: built.error.reason, message }], summary: 'Failed', url, resolved }, now, log);
      return;
    }

    // Children first, then the status: writing both at once was measured to delay the children (what a user and
    // the create-ratio bench wait for) on a busy apiserver, without raising its throughput.
    let tokenRequeueMs: number | undefined;
    try {
      tokenRequeueMs = await this.applyChildren(inst, app, built.children, now, log);
    } catch (err) {
      // 422 from the apiserver: the spec (an override, an app quantity) makes an invalid child; retrying cannot fix it.
      if (apiStatusCode(err) !== 422) throw err;
      const message = `the apiserver refused a child of the instance: ${errorMessage(err)}`;
      log.warn({ err }, message);
      await this.writeStatus(key, inst, { conditions: [resolvedCond, { type: INSTANCE_CONDITIONS.Ready, status: 'False', reason: 'InvalidChild', message }], summary: 'Failed', url, resolved }, now, log);
      return;
    }

    const pvcNames = built.children.pvcs.map((p) => p.metadata!.name!);
    const timeout = inst.spec.overrides?.timeoutSeconds;
    const observed = observePod({
      instance: inst,
      pvcs: pvcNames.map((n) => ({ name: n, pvc: this.o.caches.pvcs.get(namespace, n) })),
      pods: this.o.caches.podsOf(name),
      now,
      timeoutSeconds: timeout ?? this.o.config.scheduler.writeTimeoutSeconds,
      timeoutField: timeout !== undefined ? `spec.overrides.timeoutSeconds = ${timeout}` : `Scheduler.WriteTimeoutSeconds = ${this.o.config.scheduler.writeTimeoutSeconds}`,
    });
    await this.writeStatus(
      key,
      inst,
      { conditions: [resolvedCond, ...observed.conditions], summary: observed.summary, url, resolved, startedAt: observed.startedAt, readyAt: observed.readyAt },
      now,
      log,
    );
    const after = [tokenRequeueMs, observed.requeueAfterMs].filter((x): x is number => x !== undefined);
    return after.length ? { requeueAfterMs: Math.min(...after) } : undefined;
  }

  /** Remembers which app secret names the instance's app references, so a change to one requeues exactly its users. */
  private noteSecretNames(key: string, app: ResolvedApp): void {
    const names = [...app.env, ...app.files].flatMap((v) => ('secret' in v ? [v.secret] : []));
    if (names.length) this.secretNames.set(key, new Set(names));
    else this.secretNames.delete(key);
  }

  /** Queue keys for an event of an app secret: the instances whose app names it (in any scope: resolution may change). */
  appSecretKeys(s: V1Secret, namespace: string): string[] {
    if (s.metadata?.namespace !== namespace) return [];
    const name = s.metadata.labels?.[LABEL_SECRET_NAME];
    if (!name) return [];
    return [...this.secretNames].filter(([, names]) => names.has(name)).map(([key]) => key);
  }

  /** Drops what is remembered about `key` (when the operator stops leading). */
  forgetAll(): void {
    this.flights.clear();
    this.written.clear();
    this.applied.clear();
    this.secretNames.clear();
    this.deploymentsSeen.clear();
  }

  /**
   * Queue keys for an AppInstance event: none for another namespace, or for
   * the echo of our own status write (its resourceVersion is the one the
   * write returned, so it holds nothing we do not know).
   */
  instanceKeys(inst: AppInstance, namespace: string): string[] {
    if (inst.metadata.namespace !== namespace) return [];
    const key = `${inst.metadata.namespace}/${inst.metadata.name}`;
    const rv = Number(inst.metadata.resourceVersion);
    if (this.flights.hold(key, 'status', rv, inst.metadata.uid)) return [];
    return this.isStatusEcho(key, rv, inst.metadata.uid) ? [] : [key];
  }

  private isStatusEcho(key: string, rv: number | undefined, uid: string | undefined): boolean {
    const w = this.written.get(key);
    return !!w && w.uid === uid && w.resourceVersion === rv;
  }

  /**
   * Queue keys for an event of a child, as `cached` (the informer's object
   * after the event; undefined once deleted): its instance, except for the
   * echo of our own apply. Also retires what `applied` remembers once the
   * cache has caught up, or the child is gone (it must be applied again).
   */
  childKeys(obj: KubernetesObject, cached: KubernetesObject | undefined): string[] {
    const keys = instanceKeyOfChild(obj);
    const key = keys[0];
    if (!key) return keys;
    const id = `${obj.kind}/${obj.metadata?.name}`;
    if (obj.kind === 'Deployment') {
      // Like controller-runtime's GenerationChangedPredicate: the deployment controller's status updates (several per
      // new Deployment) tell the instance nothing; a spec change (generation), deletion or our hash being edited do.
      const seenKey = `${key}/${id}`;
      const m = cached?.metadata;
      // Labels too: editing them does not bump the generation, and we set them (drift).
      const seen = m ? `${m.generation ?? m.resourceVersion}|${m.deletionTimestamp ? 'deleting' : ''}|${m.annotations?.[DESIRED_HASH_ANNOTATION] ?? ''}|${JSON.stringify(m.labels ?? {})}` : undefined;
      const before = this.deploymentsSeen.get(seenKey);
      if (seen === undefined) this.deploymentsSeen.delete(seenKey);
      else this.deploymentsSeen.set(seenKey, seen);
      if (seen !== undefined && seen === before) return [];
    }
    const rv = cached ? Number(cached.metadata?.resourceVersion) : undefined;
    if (this.flights.hold(key, id, rv)) return [];
    return this.isChildEcho(key, id, rv) ? [] : keys;
  }

  /**
   * Whether a child event (its resourceVersion; undefined once deleted) is the echo of our last apply; retires the
   * remembered apply once the cache has caught up with it, or the child is gone.
   */
  private isChildEcho(key: string, id: string, rv: number | undefined): boolean {
    const mine = this.applied.get(key);
    const rec = mine?.get(id);
    if (!mine || !rec) return false;
    if (rv === undefined || !(rv < rec.resourceVersion)) mine.delete(id);
    if (mine.size === 0) this.applied.delete(key);
    return rv === rec.resourceVersion;
  }

  /** The hash and token expiry of a child as we know it: the cache's, or our later apply's. */
  private lastKnown(key: string, obj: KubernetesObject, cached: KubernetesObject | undefined): { hash?: string; expires?: string } | undefined {
    const rec = this.applied.get(key)?.get(`${obj.kind}/${obj.metadata?.name}`);
    if (rec && !(Number(cached?.metadata?.resourceVersion) >= rec.resourceVersion)) return rec;
    if (!cached || cached.metadata?.deletionTimestamp) return undefined;
    const a = cached.metadata?.annotations ?? {};
    return { ...(a[DESIRED_HASH_ANNOTATION] ? { hash: a[DESIRED_HASH_ANNOTATION] } : {}), ...(a[TOKEN_EXPIRES_ANNOTATION] ? { expires: a[TOKEN_EXPIRES_ANNOTATION] } : {}) };
  }

  /**
   * Fields we set that someone else changed in the cached child (see
   * drift.ts); none while the cache has not caught up with our last apply of
   * it (it would show the values before that apply).
   */
  private drift(key: string, desired: KubernetesObject, cached: KubernetesObject | undefined, log: Logger): string[] {
    const rec = this.applied.get(key)?.get(`${desired.kind}/${desired.metadata?.name}`);
    if (!cached || cached.metadata?.deletionTimestamp || (rec && !(Number(cached.metadata?.resourceVersion) >= rec.resourceVersion))) return [];
    const fields = childDrift(desired, withTemplate(cached));
    if (fields.length) log.info({ child: `${desired.kind}/${desired.metadata?.name}`, fields }, 'child changed by someone else; applying the desired state again');
    return fields;
  }

  /** Applies a child and remembers the write until the informer shows it. */
  private async applyChild(key: string, obj: KubernetesObject, repair: JsonPatchOp[] = []): Promise<void> {
    const id = `${obj.kind}/${obj.metadata?.name}`;
    await this.flights.run(key, id, () => this.applyChildNow(key, obj, repair), (e) => this.isChildEcho(key, id, e.rv));
  }

  private async applyChildNow(key: string, obj: KubernetesObject, repair: JsonPatchOp[]): Promise<void> {
    if (repair.length) {
      const target = { name: obj.metadata!.name!, namespace: obj.metadata!.namespace!, body: repair, fieldManager: FIELD_MANAGER };
      const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
      if (obj.kind === 'Service') await this.core.patchNamespacedService(target, json);
      else await this.apps.patchNamespacedDeployment(target, json);
    }
    const stored = await apply(this.objects, obj);
    const rv = Number(stored.metadata?.resourceVersion);
    if (!Number.isFinite(rv)) return;
    const a = obj.metadata?.annotations ?? {};
    const mine = this.applied.get(key) ?? new Map<string, AppliedChild>();
    mine.set(`${obj.kind}/${obj.metadata?.name}`, { resourceVersion: rv, hash: a[DESIRED_HASH_ANNOTATION] ?? '', ...(a[TOKEN_EXPIRES_ANNOTATION] ? { expires: a[TOKEN_EXPIRES_ANNOTATION] } : {}) });
    this.applied.set(key, mine);
  }

  /** The cached instance, or it with the status we wrote when the cache has not caught up with that write yet. */
  private freshest(key: string, cached: AppInstance): AppInstance {
    const w = this.written.get(key);
    if (!w || w.uid !== cached.metadata.uid) return cached;
    const rv = Number(cached.metadata.resourceVersion);
    return Number.isFinite(rv) && rv < w.resourceVersion ? { ...cached, status: w.status } : cached;
  }

  private async resolve(inst: AppInstance): Promise<Resolution> {
    const ref = inst.spec.app;
    const app = ref.id ? await this.o.catalog.resolveById(ref.id) : await this.o.catalog.resolveByNameVersion(ref.name ?? '', ref.version ?? '');
    if (!app) {
      const what = ref.id ? `app version with id ${ref.id}` : `app ${ref.name} version ${ref.version}`;
      return { ok: false, reason: 'AppNotFound', message: `the ${what} is not in the catalog: import it (h2o bundle import) or fix spec.app`, retry: true };
    }
    const rvs = this.o.caches.runtimeVersions;
    // Once resolved, an instance keeps its runtime version, deprecated or no longer default.
    const already = inst.status?.resolved?.runtimeVersion;
    if (already) {
      const rv = rvs.get(undefined, already);
      if (!rv) return { ok: false, reason: 'RuntimeVersionNotFound', message: `runtime version ${already} (resolved earlier) no longer exists: ask an admin to restore it, or launch a new instance`, retry: true };
      return { ok: true, app, runtime: { name: already, image: rv.spec.image } };
    }
    let name: string;
    let source: string;
    if (inst.spec.runtimeVersion) {
      name = inst.spec.runtimeVersion;
      source = 'spec.runtimeVersion';
    } else if (app.runtimeVersion) {
      name = runtimeVersionObjectName(app.runtimeVersion);
      source = `the app's Runtime.RuntimeVersion ${JSON.stringify(app.runtimeVersion)}${name !== app.runtimeVersion ? ` (object name ${name})` : ''}`;
    } else {
      const defaults = rvs
        .list()
        .filter((r) => r.spec.default && !r.metadata.deletionTimestamp)
        .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
      if (defaults.length === 0) {
        return { ok: false, reason: 'NoDefaultRuntimeVersion', message: 'no RuntimeVersion is marked default: set spec.runtimeVersion, or ask an admin to mark one RuntimeVersion default', retry: true };
      }
      if (defaults.length > 1) this.o.logger.warn({ kind: 'RuntimeVersion', defaults: defaults.map((d) => d.metadata.name) }, `several RuntimeVersions are marked default; using ${defaults[0]!.metadata.name} (first by name)`);
      return { ok: true, app, runtime: { name: defaults[0]!.metadata.name!, image: defaults[0]!.spec.image } };
    }
    const rv: RuntimeVersion | undefined = rvs.get(undefined, name);
    if (!rv) return { ok: false, reason: 'RuntimeVersionNotFound', message: `runtime version ${name} (from ${source}) does not exist: list them with kubectl get runtimeversions, and ask an admin to add it or choose another`, retry: true };
    if (rv.metadata.deletionTimestamp) return { ok: false, reason: 'RuntimeVersionDeleting', message: `runtime version ${name} (from ${source}) is being deleted: new instances cannot use it; choose another runtime version`, retry: true };
    if (rv.spec.deprecated) return { ok: false, reason: 'RuntimeVersionDeprecated', message: `runtime version ${name} (from ${source}) is deprecated: new instances cannot use it; choose another runtime version`, retry: true };
    return { ok: true, app, runtime: { name, image: rv.spec.image } };
  }

  /**
   * Applies the children whose desired hash changed (or that are missing), in
   * parallel; mints a launcher token when the Secret is (re)written or its
   * token is half-way to expiry. Returns when to look again for renewal.
   */
  private async applyChildren(inst: AppInstance, app: ResolvedApp, children: DesiredChildren, now: Date, log: Logger): Promise<number | undefined> {
    const c = this.o.caches;
    const ns = inst.metadata.namespace!;
    const key = `${ns}/${inst.metadata.name}`;
    const writes: Promise<unknown>[] = [];
    // Server-side apply only when the desired state differs from what we last applied (the hash of
    // every field we own): a no-op apply still costs the apiserver a request and an etcd read.
    // Also when a field we set was changed by someone else (drift: kubectl edit/scale), which the hash cannot tell.
    const applyIfChanged = (obj: KubernetesObject, cached: KubernetesObject | undefined) => {
      const hash = desiredHash(obj);
      const same = this.lastKnown(key, obj, cached)?.hash === hash;
      const drifted = same ? this.drift(key, obj, cached, log) : [];
      if (same && drifted.length === 0) return false;
      obj.metadata!.annotations = { ...obj.metadata!.annotations, [DESIRED_HASH_ANNOTATION]: hash };
      log.debug({ child: `${obj.kind}/${obj.metadata!.name}` }, 'applying child');
      writes.push(this.applyChild(key, obj, drifted.length ? listRepairPatch(obj, withTemplate(cached), drifted) : []));
      return true;
    };
    for (const pvc of children.pvcs) applyIfChanged(pvc, c.pvcs.get(ns, pvc.metadata!.name!));

    let requeue: number | undefined;
    const secret: V1Secret | undefined = children.secret;
    if (secret) {
      const known = this.lastKnown(key, secret, c.secrets.get(ns, secret.metadata!.name!));
      const expires = Date.parse(known?.expires ?? '');
      const renewAt = expires - this.tokenTtlMs / 2;
      // A token with more than half its lifetime left is kept: the Secret is not rewritten for it.
      const due = !Number.isFinite(expires) || renewAt <= now.getTime();
      // The hash covers the Secret with the placeholder token: a fresh token alone does not count as a change.
      const hash = desiredHash(secret);
      const changed = known?.hash !== hash || this.drift(key, secret, c.secrets.get(ns, secret.metadata!.name!), log).length > 0;
      if (changed || due) {
        const exp = new Date(now.getTime() + this.tokenTtlMs);
        const token = signLauncherToken(this.o.launcherKey, { app: app.id, instance: inst.metadata.name!, exp: Math.floor(exp.getTime() / 1000) });
        secret.data = { ...secret.data, [LAUNCHER_TOKEN_KEY]: Buffer.from(token).toString('base64') };
        secret.metadata!.annotations = { ...secret.metadata!.annotations, [DESIRED_HASH_ANNOTATION]: hash, [TOKEN_EXPIRES_ANNOTATION]: rfc3339(exp) };
        writes.push(this.applyChild(key, secret));
        requeue = this.tokenTtlMs / 2 + 1000;
      } else {
        requeue = renewAt - now.getTime() + 1000;
      }
    }
    this.applyService(key, children.service, c.services.get(ns, children.service.metadata!.name!), applyIfChanged, log);
    applyIfChanged(children.deployment, c.deployments.get(ns, children.deployment.metadata!.name!));
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return requeue;
  }

  /**
   * The Service: applied like the other children, except its creation, which
   * this reconcile does not wait for. Creating a Service allocates its
   * ClusterIP, which the apiserver does one at a time (measured: 100 Services
   * at once took 5.4 s, 100 headless ones or ConfigMaps 0.9 s); the instance
   * does not need it to become Ready (the router goes to the pod), so a burst
   * of new instances must not hold every worker on it. One create per
   * instance is pending at a time, SERVICE_CREATES_IN_FLIGHT of them sent at
   * once; a failure re-queues the instance with backoff (options.retry).
   */
  private applyService(key: string, svc: KubernetesObject, cached: KubernetesObject | undefined, applyIfChanged: (o: KubernetesObject, c: KubernetesObject | undefined) => boolean, log: Logger): void {
    const hash = desiredHash(svc);
    if (cached || this.lastKnown(key, svc, cached) || this.creatingServices.get(key) === hash) {
      if (this.creatingServices.get(key) !== hash) applyIfChanged(svc, cached);
      return;
    }
    svc.metadata!.annotations = { ...svc.metadata!.annotations, [DESIRED_HASH_ANNOTATION]: hash };
    this.creatingServices.set(key, hash);
    log.debug({ child: `Service/${svc.metadata!.name}` }, 'creating the Service (not awaited)');
    const p = this.serviceSlots
      .run(() => this.applyChild(key, svc))
      .catch((err: unknown) => {
        log.warn({ err }, 'creating the Service failed; retrying with backoff');
        this.o.retry?.(key);
      })
      .finally(() => {
        if (this.creatingServices.get(key) === hash) this.creatingServices.delete(key);
        this.detached.delete(p);
      });
    this.detached.add(p);
  }

  /** Resolves once the Service creations started by earlier reconciles have ended (call after the queue stopped). */
  async idle(): Promise<void> {
    while (this.detached.size) await Promise.allSettled([...this.detached]);
  }

  /** Builds the new status from the old one and the updates, and writes it through /status when it differs. */
  private async writeStatus(
    key: string,
    inst: AppInstance,
    s: { conditions: ConditionUpdate[]; summary: InstanceSummary; url: string; resolved?: StatusResolved; keepResolved?: boolean; startedAt?: string | undefined; readyAt?: string | undefined },
    now: Date,
    log: Logger,
  ): Promise<void> {
    const old = inst.status ?? {};
    let conditions: Condition[] = [...(old.conditions ?? [])];
    const types = new Set(s.conditions.map((c) => c.type));
    // Conditions this reconcile does not speak about are stale (e.g. Scheduled while the app is unknown).
    conditions = conditions.filter((c) => types.has(c.type));
    const oldProgressing = findCondition(conditions, INSTANCE_CONDITIONS.Progressing);
    for (const u of s.conditions) {
      // Resuming after a suspend is a new rollout: its start deadline counts from now.
      if (u.type === INSTANCE_CONDITIONS.Progressing && oldProgressing?.reason === 'Suspending' && u.reason !== 'Suspending') conditions = removeCondition(conditions, u.type);
      const gen = inst.metadata.generation;
      conditions = setCondition(conditions, { ...u, ...(gen !== undefined ? { observedGeneration: gen } : {}) }, now);
    }
    const resolved = s.resolved ?? (s.keepResolved ? old.resolved : undefined);
    const next: AppInstanceStatus = {
      ...(inst.metadata.generation !== undefined ? { observedGeneration: inst.metadata.generation } : {}),
      conditions,
      summary: s.summary,
      url: s.url,
      ...(resolved ? { resolved } : {}),
      ...(s.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s.readyAt ? { readyAt: s.readyAt } : {}),
    };
    const { lastActivityTime, ...oldMine } = old;
    if (canonical(oldMine) === canonical(next)) return;

    const oldReady = findCondition(old.conditions, INSTANCE_CONDITIONS.Ready);
    const newReady = findCondition(next.conditions, INSTANCE_CONDITIONS.Ready)!;
    const write = async () => {
      const stored = await applyStatus(this.custom, { group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL }, { apiVersion: inst.apiVersion, kind: inst.kind, metadata: { name: inst.metadata.name, namespace: inst.metadata.namespace }, status: next });
      const rv = Number((stored as KubernetesObject).metadata?.resourceVersion);
      if (Number.isFinite(rv)) this.written.set(key, { uid: inst.metadata.uid ?? '', resourceVersion: rv, status: { ...next, ...(lastActivityTime ? { lastActivityTime } : {}) } });
    };
    await this.flights.run(key, 'status', write, (e) => this.isStatusEcho(key, e.rv, e.uid));
    log.debug({ summary: next.summary, reason: newReady.reason }, 'status written');
    if (oldReady?.reason !== newReady.reason || oldReady?.status !== newReady.status) {
      const type: EventType = WARNING_REASONS.has(newReady.reason) ? 'Warning' : 'Normal';
      log.info({ summary: next.summary, reason: newReady.reason, ready: newReady.status }, newReady.message);
      // Not awaited: an event is for people, and must not hold up the reconcile (record() logs its own failures).
      void this.o.events.record(inst, type, newReady.reason, newReady.message);
    }
  }
}

/** A cached child as drift compares it: a Deployment with its pod template back (the cache keeps it as text). */
function withTemplate(cached: KubernetesObject | undefined): KubernetesObject | undefined {
  return cached?.kind === 'Deployment' ? deploymentWithTemplate(cached as V1Deployment) : cached;
}

/** A stable hash of a desired object (its JSON, keys sorted). */
export function desiredHash(obj: unknown): string {
  return createHash('sha256').update(canonical(obj)).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted, so equal values compare equal. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val) && !(val instanceof Date)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

function errorMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON: use the text
    }
    return body.slice(0, 500);
  }
  return err instanceof Error ? err.message : String(err);
}
