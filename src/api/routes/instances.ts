/**
 * The instance API: run an app, list, get, status detail, logs, visibility,
 * suspend/resume and terminate. Instances are AppInstance objects in the
 * Kubernetes API: reads come from the InstanceCache (informers), writes go
 * to the apiserver; no database row holds an instance. See docs/api.md.
 */
import { randomInt } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Event, KubeConfig, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { canLaunchApp, canManageInstance, canReadInstanceLogs, canSeeApp, canSeeInstance, type InstanceFacts } from '../../auth/policy.ts';
import { API_VERSION, APP_INSTANCE_KIND, APP_INSTANCE_PLURAL, findCondition, GROUP, instanceVisibility, RUNTIME_VERSION_PLURAL, VERSION } from '../../k8s/crd/index.ts';
import type { AppInstance, AppInstanceSpec, RuntimeVersion } from '../../k8s/crd/index.ts';
import type { InstanceCache } from '../../k8s/instance-cache.ts';
import type { PodLogSource } from '../../k8s/pod-logs.ts';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, UnauthorizedError, UnavailableError } from '../../lib/errors.ts';
import { isVisitor, type Principal, type Viewer } from '../../lib/principal.ts';
import type { AppRecord } from '../../repository/apps.ts';
import type { ApiContext, InstanceCounter } from '../app.ts';
import {
  IdParamSchema,
  InstanceListQuerySchema,
  InstanceLogsQuerySchema,
  NewInstanceSchema,
  UpdateInstanceSchema,
  type Instance,
  type InstanceContainer,
  type InstanceEvent,
  type InstanceStatusDetail,
} from '../schemas.ts';
import { appFacts } from './apps.ts';
import type { Config } from '../../config/config.ts';
import { instanceURL } from '../../config/instance-url.ts';

/** Annotations the API puts on the AppInstances it creates, so reads need no database. */
export const ANNOTATION_APP_OWNER = 'hac.h2o.ai/app-owner';
export const ANNOTATION_APP_NAME = 'hac.h2o.ai/app-name';
export const ANNOTATION_APP_VERSION = 'hac.h2o.ai/app-version';
export const ANNOTATION_APP_TITLE = 'hac.h2o.ai/app-title';
/** Label with the app id (a UUID fits a label value), for `kubectl get inst -l`. */
export const LABEL_APP_ID = 'hac.h2o.ai/app-id';

/** How long a write waits for the cache to show it, so the caller's next read sees its own write. */
export const READ_YOUR_WRITE_MS = 3000;

/** Recent events returned by the status route (instance and pods together). */
export const MAX_STATUS_EVENTS = 30;

/** The instance side of the API: where AppInstances live and how to read their logs. */
export interface InstanceBackend {
  kc: KubeConfig;
  /** Namespace of the AppInstances (Scheduler.Namespace). */
  namespace: string;
  cache: InstanceCache;
  logs: PodLogSource;
}

/** What routes answer when no cluster is configured. */
/** Where an instance sorts in lists: newest first, then by name. */
type ListKey = [createdAt: string, name: string];
const listKey = (i: AppInstance): ListKey => [isoTime(i.metadata?.creationTimestamp), i.metadata?.name ?? ''];
/** < 0 when `x` comes before `y` in a list (newer, or same time and smaller name). */
const newerFirst = (x: ListKey, y: ListKey): number => y[0].localeCompare(x[0]) || x[1].localeCompare(y[1]);
const encodeInstanceCursor = (k: ListKey): string => Buffer.from(JSON.stringify(k)).toString('base64url');

function decodeInstanceCursor(cursor: string): ListKey {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0]))) return [v[0], v[1]];
  } catch {
    // fall through to the error below
  }
  throw new InvalidError('invalid cursor', [{ path: 'cursor', message: 'cursor is not one this server handed out; pass the nextCursor of the previous page, or leave it out to start over' }]);
}

export function noCluster(): UnavailableError {
  return new UnavailableError(
    'instances need a Kubernetes cluster and none is configured: set Scheduler.KubeConfig (H2O_CLOUD_SCHEDULER_KUBE_CONFIG) to a kubeconfig file, or run the server in a pod',
  );
}

/** The backend, or a 503 saying how to configure one. */
export function requireBackend(ctx: ApiContext): InstanceBackend {
  const b = ctx.deps.instanceBackend;
  if (!b) throw noCluster();
  return b;
}

/** Id of the app version an instance runs: spec.app.id, or what the operator resolved a name+version to. */
export function instanceAppId(inst: AppInstance): string | undefined {
  return inst.spec.app.id ?? inst.status?.resolved?.appId;
}

/** The apps side's question "does this app have instances?", answered from the cache. */
export function cacheInstanceCounter(cache: InstanceCache): InstanceCounter {
  const of = (appId: string) => cache.list().filter((i) => instanceAppId(i) === appId);
  return {
    countInstancesOfApp: async (appId) => of(appId).length,
    instancesOfApp: async (appId) => of(appId).map((i) => i.metadata.name ?? ''),
  };
}

export function instanceFacts(inst: AppInstance): InstanceFacts {
  const appOwner = inst.metadata.annotations?.[ANNOTATION_APP_OWNER];
  return { owner: inst.spec.owner.subject, visibility: instanceVisibility(inst), ...(appOwner ? { appOwner } : {}) };
}

function isoTime(t: Date | string | undefined): string {
  if (!t) return new Date(0).toISOString();
  return (t instanceof Date ? t : new Date(t)).toISOString();
}

/**
 * The API shape of an AppInstance (from the cache or a write's answer). Until
 * the operator writes status.url, the URL comes from the same routing options
 * the operator uses, so `h2o app run` prints it at once, as the seed's does.
 */
export function toApiInstance(inst: AppInstance, config?: Config): Instance {
  const meta = inst.metadata;
  const ann = meta.annotations ?? {};
  const resolved = inst.status?.resolved ?? {};
  const suspended = inst.spec.suspend === true;
  const ready = findCondition(inst.status?.conditions, 'Ready');
  // Before the operator's first status write there is nothing but the spec.
  const status = inst.status?.summary ?? (suspended ? 'Suspending' : 'Pending');
  const notReady = ready && ready.status !== 'True';
  const runtimeVersion = inst.spec.runtimeVersion ?? resolved.runtimeVersion;
  return {
    id: meta.name ?? '',
    appId: instanceAppId(inst) ?? '',
    appName: resolved.appName ?? ann[ANNOTATION_APP_NAME] ?? inst.spec.app.name ?? '',
    appVersion: resolved.appVersion ?? ann[ANNOTATION_APP_VERSION] ?? inst.spec.app.version ?? '',
    appTitle: resolved.appTitle ?? ann[ANNOTATION_APP_TITLE] ?? '',
    owner: inst.spec.owner.subject,
    ownerName: inst.spec.owner.name,
    visibility: instanceVisibility(inst),
    ...(runtimeVersion ? { runtimeVersion } : {}),
    suspended,
    status,
    ...(notReady && ready.reason ? { reason: ready.reason } : {}),
    ...(notReady && ready.message ? { message: ready.message } : !inst.status ? { message: 'waiting for the operator to pick the instance up' } : {}),
    ...(inst.status?.url ? { url: inst.status.url } : config && meta.name ? { url: instanceURL(config, meta.name) } : {}),
    createdAt: isoTime(meta.creationTimestamp),
    ...(inst.status?.readyAt ? { readyAt: isoTime(inst.status.readyAt) } : {}),
  };
}

function containerOf(s: V1ContainerStatus): InstanceContainer {
  const st = s.state ?? {};
  const last = s.lastState?.terminated;
  if (st.terminated) {
    const t = st.terminated;
    return { name: s.name, ready: s.ready, restarts: s.restartCount, state: 'terminated', ...(t.reason ? { reason: t.reason } : {}), ...(t.message ? { message: t.message } : {}), exitCode: t.exitCode };
  }
  if (st.running) return { name: s.name, ready: s.ready, restarts: s.restartCount, state: 'running' };
  const w = st.waiting;
  // Waiting after a crash (CrashLoopBackOff): the exit code of the run that ended says why.
  return {
    name: s.name,
    ready: s.ready,
    restarts: s.restartCount,
    state: 'waiting',
    ...(w?.reason ? { reason: w.reason } : {}),
    ...(w?.message ? { message: w.message } : {}),
    ...(last ? { exitCode: last.exitCode } : {}),
  };
}

/** Pod phase and container states for the status route; containers without a status yet are waiting. */
export function podDetail(pod: V1Pod): NonNullable<InstanceStatusDetail['pod']> {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  const containers = names.map((name) => {
    const s = statuses.find((x) => x.name === name);
    return s ? containerOf(s) : { name, ready: false, restarts: 0, state: 'waiting' as const, reason: pod.spec?.nodeName ? 'ContainerCreating' : 'Unscheduled' };
  });
  return { name: pod.metadata?.name ?? '', phase: pod.status?.phase ?? 'Pending', ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}), containers };
}

function eventTime(e: CoreV1Event): Date {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t) : new Date(0);
}

function toApiEvent(e: CoreV1Event): InstanceEvent {
  return {
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: Math.max(1, e.count ?? e.series?.count ?? 1),
    lastTimestamp: eventTime(e).toISOString(),
  };
}

/** A short DNS label for a new instance: a letter and 9 base36 characters (~1.3e14 names). */
export function newInstanceName(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const chars = '0123456789abcdefghijklmnopqrstuvwxyz';
  let name = letters[randomInt(letters.length)]!;
  for (let i = 0; i < 9; i++) name += chars[randomInt(chars.length)]!;
  return name;
}

/** The limit that applies to `p`, and its option name (for the error message). */
export function instanceLimit(ctx: ApiContext, p: Principal): { limit: number; option: string } {
  const s = ctx.deps.config.scheduler;
  return isVisitor(p) ? { limit: s.visitorInstanceLimit, option: 'Scheduler.VisitorInstanceLimit' } : { limit: s.instanceLimit, option: 'Scheduler.InstanceLimit' };
}

/**
 * Refuses one more running instance for `p` over its limit. Counted: the
 * owner's instances that are not suspended (the seed's "may have running");
 * resuming counts as starting one.
 */
function checkLimit(ctx: ApiContext, b: InstanceBackend, p: Principal, action: string): void {
  const { limit, option } = instanceLimit(ctx, p);
  const running = b.cache.list().filter((i) => i.spec.owner.subject === p.subject && i.spec.suspend !== true);
  if (running.length >= limit) {
    const names = running.map((i) => i.metadata.name).join(', ');
    throw new ConflictError(
      `cannot ${action}: you have ${running.length} running instance(s) (${names || 'none'}) and the limit is ${limit} (${option}); terminate or suspend one first`,
    );
  }
}

function signedIn(v: Viewer, what: string): Principal {
  if (v === null) throw new UnauthorizedError(`sign in to ${what}`);
  return v;
}

/** Status and message of a failed apiserver call, for errors that pass it on. */
function apiFailure(err: unknown): { code?: number; message: string } {
  if (!(err instanceof ApiException)) return { message: err instanceof Error ? err.message : String(err) };
  let message = err.message;
  const body: unknown = err.body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | undefined;
    if (typeof parsed?.message === 'string') message = parsed.message;
  } catch {
    // a non-JSON body: keep the exception's own message
  }
  return { code: err.code, message };
}

export function instanceRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const { apps } = ctx.deps;
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const clients = new WeakMap<KubeConfig, { custom: CustomObjectsApi; core: CoreV1Api }>();
  const api = (b: InstanceBackend) => {
    let c = clients.get(b.kc);
    if (!c) clients.set(b.kc, (c = { custom: b.kc.makeApiClient(CustomObjectsApi), core: b.kc.makeApiClient(CoreV1Api) }));
    return c;
  };
  const objectRef = (b: InstanceBackend, name: string) => ({ group: GROUP, version: VERSION, namespace: b.namespace, plural: APP_INSTANCE_PLURAL, name });


  /**
   * Facts with the app owner filled from the catalog when the AppInstance
   * lacks the annotation (made by kubectl, not by the API).
   */
  const factsWithAppOwner = async (inst: AppInstance): Promise<InstanceFacts> => {
    const facts = instanceFacts(inst);
    if (facts.appOwner !== undefined) return facts;
    const appId = instanceAppId(inst);
    if (!appId) return facts;
    try {
      return { ...facts, appOwner: (await apps.get(appId)).owner };
    } catch (err) {
      if (err instanceof NotFoundError) return facts;
      throw err;
    }
  };

  /** An instance the viewer may see, with its facts; others are "not found", so names do not leak. */
  const visibleInstance = async (b: InstanceBackend, viewer: Viewer, id: string): Promise<{ inst: AppInstance; facts: InstanceFacts }> => {
    const inst = b.cache.get(id);
    if (!inst) throw new NotFoundError(`instance ${id} not found`);
    let facts = instanceFacts(inst);
    if (!canSeeInstance(viewer, facts, ctx.policy)) {
      // The app's owner may see it too: ask the catalog when the object does not say who that is.
      facts = await factsWithAppOwner(inst);
      if (!canSeeInstance(viewer, facts, ctx.policy)) throw new NotFoundError(`instance ${id} not found`);
    }
    return { inst, facts };
  };

  const patchSpec = async (b: InstanceBackend, id: string, spec: Partial<AppInstanceSpec>): Promise<Instance> => {
    try {
      const out = (await api(b).custom.patchNamespacedCustomObject({ ...objectRef(b, id), body: { spec } }, mergePatch)) as AppInstance;
      const generation = out.metadata.generation ?? 0;
      await b.cache.waitFor(id, (i) => (i?.metadata.generation ?? 0) >= generation, READ_YOUR_WRITE_MS);
      return toApiInstance(out, ctx.deps.config);
    } catch (err) {
      const f = apiFailure(err);
      if (f.code === 404) throw new NotFoundError(`instance ${id} not found (it was just deleted)`);
      if (f.code === 422 || f.code === 400) throw new InvalidError(`the Kubernetes API refused the change: ${f.message}`);
      throw err;
    }
  };

  /** The viewer may see the instance and manage it, else 404 (cannot see) or 403 (can see, cannot change). */
  const manageable = async (b: InstanceBackend, viewer: Viewer, id: string, what: string): Promise<AppInstance> => {
    const { inst, facts } = await visibleInstance(b, viewer, id);
    if (!canManageInstance(viewer, facts)) throw new ForbiddenError(`only the owner of instance ${id} or an admin can ${what} it`);
    return inst;
  };

  const checkRuntimeVersion = async (b: InstanceBackend, name: string): Promise<void> => {
    let rv: RuntimeVersion;
    try {
      rv = (await api(b).custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name })) as RuntimeVersion;
    } catch (err) {
      if (apiFailure(err).code === 404) {
        throw new InvalidError('unknown runtime version', [{ path: 'body.runtimeVersion', message: `there is no runtime version ${name}; GET /api/v1/runtime-versions lists them (or leave runtimeVersion out for the default)` }]);
      }
      throw err;
    }
    if (rv.spec.deprecated) {
      throw new InvalidError('deprecated runtime version', [{ path: 'body.runtimeVersion', message: `runtime version ${name} is deprecated and takes no new instances; choose another one (GET /api/v1/runtime-versions)` }]);
    }
  };

  return async (app) => {
    app.post(
      '/apps/:id/instances',
      { schema: { tags: ['instances'], summary: 'Run an instance of an app', params: IdParamSchema, body: NewInstanceSchema, response: { 201: { $ref: 'Instance#' } } } },
      async (request, reply) => {
        const b = requireBackend(ctx);
        const p = signedIn(request.viewer, 'run apps');
        let a: AppRecord;
        try {
          a = await apps.get(request.params.id);
        } catch (err) {
          if (err instanceof NotFoundError) throw new NotFoundError(`app ${request.params.id} not found`);
          throw err;
        }
        const facts = appFacts(a);
        if (!canSeeApp(p, facts, ctx.policy)) throw new NotFoundError(`app ${request.params.id} not found`);
        if (!canLaunchApp(p, facts, ctx.policy)) throw new ForbiddenError(`you may not run app ${a.name} ${a.version}`);
        const body = request.body;
        if (body.overrides && !p.admin) {
          throw new ForbiddenError('only admins may set resource overrides: remove body.overrides (the app.toml and Scheduler.DefaultRuntimeLimit decide the resources)');
        }
        if (body.runtimeVersion) await checkRuntimeVersion(b, body.runtimeVersion);
        checkLimit(ctx, b, p, `run ${a.name} ${a.version}`);
        const spec: AppInstanceSpec = {
          app: { id: a.id },
          owner: { subject: p.subject, name: p.name || p.subject },
          visibility: body.visibility ?? 'PRIVATE',
          ...(body.runtimeVersion ? { runtimeVersion: body.runtimeVersion } : {}),
          ...(body.overrides ? { overrides: body.overrides } : {}),
        };
        const metadata = {
          labels: { [LABEL_APP_ID]: a.id },
          annotations: { [ANNOTATION_APP_OWNER]: a.owner, [ANNOTATION_APP_NAME]: a.name, [ANNOTATION_APP_VERSION]: a.version, [ANNOTATION_APP_TITLE]: a.title },
        };
        // A clash of random names is unlikely; a few tries make it a non-event.
        for (let attempt = 0; ; attempt++) {
          const name = newInstanceName();
          const obj: AppInstance = { apiVersion: API_VERSION, kind: APP_INSTANCE_KIND, metadata: { ...metadata, name, namespace: b.namespace }, spec };
          try {
            const out = (await api(b).custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: b.namespace, plural: APP_INSTANCE_PLURAL, body: obj })) as AppInstance;
            request.log.info({ instance: name, app: a.id, owner: p.subject }, 'instance created');
            await b.cache.waitFor(name, (i) => i !== undefined, READ_YOUR_WRITE_MS);
            return reply.status(201).send(toApiInstance(out, ctx.deps.config));
          } catch (err) {
            const f = apiFailure(err);
            if (f.code === 409 && attempt < 3) continue;
            if (f.code === 422 || f.code === 400) throw new InvalidError(`the Kubernetes API refused the instance: ${f.message}`);
            throw err;
          }
        }
      },
    );

    app.get(
      '/instances',
      { schema: { tags: ['instances'], summary: "My instances and those of my apps (admins: all=true for everyone's)", querystring: InstanceListQuerySchema, response: { 200: { $ref: 'InstanceList#' } } } },
      async (request) => {
        const b = requireBackend(ctx);
        const p = signedIn(request.viewer, 'list your instances');
        const q = request.query;
        if (q.all && !p.admin) throw new ForbiddenError('all=true lists everyone\'s instances and is for admins; leave it out to list yours');
        const after = q.cursor === undefined ? undefined : decodeInstanceCursor(q.cursor);
        const matching = b.cache
          .list()
          .filter((i) => {
            if (!q.all) {
              const f = instanceFacts(i);
              if (f.owner !== p.subject && f.appOwner !== p.subject) return false;
            }
            if (q.app !== undefined && instanceAppId(i) !== q.app) return false;
            if (q.owner !== undefined && i.spec.owner.subject !== q.owner) return false;
            return after === undefined || newerFirst(listKey(i), after) > 0;
          })
          .sort((x, y) => newerFirst(listKey(x), listKey(y)));
        // Only the page is turned into API objects: an admin's all=true may match thousands.
        const limit = q.limit ?? 200;
        const page = matching.slice(0, limit);
        const items = page.map((i) => toApiInstance(i, ctx.deps.config));
        const last = page.at(-1);
        return matching.length > limit && last ? { items, nextCursor: encodeInstanceCursor(listKey(last)) } : { items };
      },
    );

    app.get('/instances/:id', { schema: { tags: ['instances'], summary: 'One instance', params: IdParamSchema, response: { 200: { $ref: 'Instance#' } } } }, async (request) =>
      toApiInstance((await visibleInstance(requireBackend(ctx), request.viewer, request.params.id)).inst, ctx.deps.config),
    );

    app.get(
      '/instances/:id/status',
      { schema: { tags: ['instances'], summary: 'Status with the Kubernetes detail: conditions, pod and containers, recent events', params: IdParamSchema, response: { 200: { $ref: 'InstanceStatusDetail#' } } } },
      async (request) => {
        const b = requireBackend(ctx);
        const { inst } = await visibleInstance(b, request.viewer, request.params.id);
        if (!canReadInstanceLogs(request.viewer, await factsWithAppOwner(inst))) {
          throw new ForbiddenError(`the status of instance ${request.params.id} is for its owner, the owner of its app, and admins`);
        }
        const pods = b.cache.pods(request.params.id);
        const pod = pods[0];
        // Events are not cached (they are many and short-lived): read them now.
        const selectors = [
          `involvedObject.kind=${APP_INSTANCE_KIND},involvedObject.name=${request.params.id}`,
          ...pods.slice(0, 2).map((x) => `involvedObject.kind=Pod,involvedObject.name=${x.metadata?.name ?? ''}`),
        ];
        const lists = await Promise.all(selectors.map((fieldSelector) => api(b).core.listNamespacedEvent({ namespace: b.namespace, fieldSelector })));
        const events = lists
          .flatMap((l) => l.items)
          .sort((x, y) => eventTime(x).getTime() - eventTime(y).getTime())
          .slice(-MAX_STATUS_EVENTS)
          .map(toApiEvent);
        const detail: InstanceStatusDetail = {
          ...toApiInstance(inst, ctx.deps.config),
          conditions: (inst.status?.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: isoTime(c.lastTransitionTime) })),
          ...(pod ? { pod: podDetail(pod) } : {}),
          events,
        };
        return detail;
      },
    );

    app.get(
      '/instances/:id/logs',
      { schema: { tags: ['instances'], summary: "The app container's logs as text (follow streams)", params: IdParamSchema, querystring: InstanceLogsQuerySchema } },
      async (request, reply) => {
        const b = requireBackend(ctx);
        const id = request.params.id;
        const { inst } = await visibleInstance(b, request.viewer, id);
        if (!canReadInstanceLogs(request.viewer, await factsWithAppOwner(inst))) {
          throw new ForbiddenError(`the logs of instance ${id} are for its owner, the owner of its app, and admins`);
        }
        const pod = b.cache.pods(id)[0];
        if (!pod?.metadata?.name) {
          const why = inst.spec.suspend ? 'it is suspended' : 'it has no pod yet (see GET /api/v1/instances/' + id + '/status)';
          throw new UnavailableError(`instance ${id} has no logs: ${why}; logs exist while a pod of the instance exists`);
        }
        const container = pod.spec?.containers[0]?.name;
        if (!container) throw new UnavailableError(`pod ${pod.metadata.name} of instance ${id} has no container`);
        const abort = new AbortController();
        // The response's close (sent, or the client went away) ends a followed stream; the request's fires once its body is read.
        reply.raw.on('close', () => abort.abort());
        const q = request.query;
        const stream = await b.logs.logs({
          namespace: b.namespace,
          pod: pod.metadata.name,
          container,
          follow: q.follow === true,
          previous: q.previous === true,
          ...(q.tail !== undefined ? { tailLines: q.tail } : {}),
          signal: abort.signal,
        });
        return reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(stream);
      },
    );

    app.patch(
      '/instances/:id',
      { schema: { tags: ['instances'], summary: "Change an instance's visibility", params: IdParamSchema, body: UpdateInstanceSchema, response: { 200: { $ref: 'Instance#' } } } },
      async (request) => {
        const b = requireBackend(ctx);
        await manageable(b, request.viewer, request.params.id, 'change');
        return patchSpec(b, request.params.id, { visibility: request.body.visibility });
      },
    );

    app.post(
      '/instances/:id/suspend',
      { schema: { tags: ['instances'], summary: 'Stop an instance and keep it (and its volumes)', params: IdParamSchema, response: { 200: { $ref: 'Instance#' } } } },
      async (request) => {
        const b = requireBackend(ctx);
        await manageable(b, request.viewer, request.params.id, 'suspend');
        return patchSpec(b, request.params.id, { suspend: true });
      },
    );

    app.post(
      '/instances/:id/resume',
      { schema: { tags: ['instances'], summary: 'Start a suspended instance again', params: IdParamSchema, response: { 200: { $ref: 'Instance#' } } } },
      async (request) => {
        const b = requireBackend(ctx);
        const inst = await manageable(b, request.viewer, request.params.id, 'resume');
        // Resuming adds a running instance to its owner's count (checked against the owner's limit, not the caller's).
        if (inst.spec.suspend === true && request.viewer !== null && request.viewer.subject === inst.spec.owner.subject) {
          checkLimit(ctx, b, request.viewer, `resume instance ${request.params.id}`);
        }
        return patchSpec(b, request.params.id, { suspend: false });
      },
    );

    app.delete(
      '/instances/:id',
      { schema: { tags: ['instances'], summary: 'Terminate an instance (its pods, service and volumes go with it)', params: IdParamSchema, response: { 204: Type.Null() } } },
      async (request, reply) => {
        const b = requireBackend(ctx);
        await manageable(b, request.viewer, request.params.id, 'terminate');
        try {
          await api(b).custom.deleteNamespacedCustomObject({ ...objectRef(b, request.params.id), propagationPolicy: 'Background' });
        } catch (err) {
          if (apiFailure(err).code !== 404) throw err;
        }
        await b.cache.waitFor(request.params.id, (i) => i === undefined || i.metadata.deletionTimestamp !== undefined, READ_YOUR_WRITE_MS);
        request.log.info({ instance: request.params.id }, 'instance terminated');
        return reply.status(204).send(null);
      },
    );
  };
}
