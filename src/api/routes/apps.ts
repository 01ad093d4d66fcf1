import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { canDownloadBundle, canManageApp, canSeeApp, canManageTag, type AppFacts } from '../../auth/policy.ts';
import { verifyLauncherToken } from '../../auth/launcher-token.ts';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, TooLargeError } from '../../lib/errors.ts';
import type { Viewer } from '../../lib/principal.ts';
import type { AppRecord } from '../../repository/apps.ts';
import type { ApiContext } from '../app.ts';
import { importBundle, type ImportTimings } from '../import.ts';
import { AppListQuerySchema, AppNameParamSchema, IdParamSchema, TransferAppNameSchema, ImportQuerySchema, TagRefParamSchema, UpdateAppSchema, type App } from '../schemas.ts';
import { toApiTag } from './tags.ts';

/** Full URL pattern of the bundle download, the one route launcher tokens open. */
export const BUNDLE_ROUTE = '/api/v1/apps/:id/bundle';

const BUNDLE_TYPES = ['application/zip', 'application/octet-stream', 'application/x-zip-compressed', 'application/x-wave'];

export function appFacts(app: AppRecord): AppFacts {
  return { owner: app.owner, visibility: app.visibility, tagVisitorRoles: app.tags.map((t) => t.visitorRoles) };
}

/** The API shape of an app as `viewer` may see it; URLs of its files are relative to the API root. */
export function toApiApp(a: AppRecord, viewer: Viewer): App {
  const runtime = (a.manifest as { Runtime?: { Module?: unknown } }).Runtime;
  return {
    id: a.id,
    name: a.name,
    version: a.version,
    title: a.title,
    description: a.description,
    ...(a.longDescription != null ? { longDescription: a.longDescription } : {}),
    category: a.category,
    keywords: a.keywords,
    owner: a.owner,
    ownerName: a.ownerName,
    visibility: a.visibility,
    format: a.format,
    bundleSha256: a.bundleSha256,
    bundleSize: a.bundleSize,
    ...(a.iconKey ? { iconUrl: `/api/v1/apps/${a.id}/icon` } : {}),
    screenshotUrls: a.screenshots.map((_, n) => `/api/v1/apps/${a.id}/screenshots/${n}`),
    ...(a.runtimeVersion ? { runtimeVersion: a.runtimeVersion } : {}),
    module: typeof runtime?.Module === 'string' ? runtime.Module : '',
    ...(canManageApp(viewer, appFacts(a)) ? { manifest: a.manifest } : {}),
    tags: a.tags.map(toApiTag),
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

/** Loads an app the viewer may see; an app they may not see is "not found", so ids do not leak. */
async function visibleApp(ctx: ApiContext, viewer: Viewer, id: string): Promise<AppRecord> {
  const app = await ctx.deps.apps.get(id);
  if (!canSeeApp(viewer, appFacts(app), ctx.policy)) throw new NotFoundError(`app ${id} not found`);
  return app;
}

export function appRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const { apps, blobs, tags, instances } = ctx.deps;
  return async (app) => {
    // Bundles arrive as the raw request body and are streamed, never buffered.
    app.addContentTypeParser(BUNDLE_TYPES, (_req, payload, done) => done(null, payload));

    app.post(
      '/apps',
      {
        schema: {
          tags: ['apps'],
          summary: 'Import a bundle (.wave or legacy .qz) sent as the raw request body',
          querystring: ImportQuerySchema,
          consumes: BUNDLE_TYPES,
          response: { 201: { $ref: 'ImportResult#' } },
        },
      },
      async (request, reply) => {
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > ctx.limits.maxBundleBytes) {
          throw new TooLargeError(`the bundle is ${length} bytes, over the ${ctx.limits.maxBundleBytes}-byte limit (Server.MaxUploadSize)`);
        }
        if (!request.body || typeof (request.body as Readable).pipe !== 'function') {
          throw new InvalidError('send the bundle as the request body with Content-Type: application/zip', [{ path: 'body', message: 'a .wave/.qz zip archive is required' }]);
        }
        const ms: Partial<ImportTimings> = {};
        const out = await importBundle(ctx, request.viewer, request.body as Readable, request.query.visibility ?? 'PRIVATE', ms);
        request.log.info({ app: out.app.name, version: out.app.version, id: out.app.id, bytes: out.app.bundleSize, ms }, 'bundle imported');
        // A new app has no tags yet: the inserted record is complete, no second read needed.
        return reply.status(201).send({ app: toApiApp(out.app, request.viewer), warnings: out.warnings });
      },
    );

    app.get('/apps', { schema: { tags: ['apps'], summary: 'List apps: mine, or all I may see', querystring: AppListQuerySchema, response: { 200: { $ref: 'AppList#' } } } }, async (request) => {
      const q = request.query;
      const page = await apps.list(
        { scope: q.scope ?? 'all', search: q.search, category: q.category, tag: q.tag, limit: q.limit ?? 50, cursor: q.cursor },
        request.viewer,
        ctx.policy,
      );
      return { items: page.items.map((a) => toApiApp(a, request.viewer)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    });

    app.get('/apps/:id', { schema: { tags: ['apps'], summary: 'One app', params: IdParamSchema, response: { 200: { $ref: 'App#' } } } }, async (request) =>
      toApiApp(await visibleApp(ctx, request.viewer, request.params.id), request.viewer),
    );

    app.get(
      '/apps/:id/versions',
      { schema: { tags: ['apps'], summary: 'Every version of the same app name that I may see, newest first', params: IdParamSchema, response: { 200: Type.Array(Type.Ref('App')) } } },
      async (request) => {
        const a = await visibleApp(ctx, request.viewer, request.params.id);
        return (await apps.listVersions(a.name, request.viewer, ctx.policy)).map((v) => toApiApp(v, request.viewer));
      },
    );

    app.patch('/apps/:id', { schema: { tags: ['apps'], summary: "Change an app's visibility (the only mutable field)", params: IdParamSchema, body: UpdateAppSchema, response: { 200: { $ref: 'App#' } } } }, async (request) => {
      const a = await visibleApp(ctx, request.viewer, request.params.id);
      if (!canManageApp(request.viewer, appFacts(a))) throw new ForbiddenError('only the owner or an admin can change an app');
      await apps.updateVisibility(a.id, request.body.visibility);
      return toApiApp(await apps.get(a.id), request.viewer);
    });

    app.delete('/apps/:id', { schema: { tags: ['apps'], summary: 'Delete an app that has no instances', params: IdParamSchema, response: { 204: Type.Null() } } }, async (request, reply) => {
      const a = await visibleApp(ctx, request.viewer, request.params.id);
      if (!canManageApp(request.viewer, appFacts(a))) throw new ForbiddenError('only the owner or an admin can delete an app');
      const names = instances.instancesOfApp ? await instances.instancesOfApp(a.id) : [];
      const n = names.length || (await instances.countInstancesOfApp(a.id));
      if (n > 0) {
        const which = names.length ? ` (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})` : '';
        throw new ConflictError(`app ${a.name} ${a.version} has ${n} instance(s)${which}; terminate them first, or set its visibility to PRIVATE to de-list it`);
      }
      await apps.delete(a.id);
      // The row is gone first, so a crash here leaves unreachable blobs, never a row without its bundle.
      await Promise.allSettled([a.bundleKey, a.iconKey, ...a.screenshots.map((s) => s.key)].filter((k): k is string => !!k).map((k) => blobs.delete(k)));
      return reply.status(204).send(null);
    });

    app.get('/apps/:id/bundle', { schema: { tags: ['apps'], summary: "Download the bundle (owner, admin, or a launcher token for this app)", params: IdParamSchema } }, async (request, reply) => {
      let a: AppRecord;
      if (request.launcherToken) {
        a = await apps.get(request.params.id);
        const claims = verifyLauncherToken(ctx.deps.launcherKey, request.launcherToken, a.id);
        request.log.info({ app: a.id, instance: claims.instance }, 'bundle download by launcher');
      } else {
        a = await visibleApp(ctx, request.viewer, request.params.id);
        if (!canDownloadBundle(request.viewer, appFacts(a))) throw new ForbiddenError('only the owner or an admin can download the bundle');
      }
      const blob = await blobs.get(a.bundleKey);
      return reply
        .header('content-type', 'application/zip')
        .header('content-length', blob.size)
        .header('content-disposition', `attachment; filename="${a.name}.${a.version}.${a.format}"`)
        .header('digest', `sha-256=${Buffer.from(a.bundleSha256, 'hex').toString('base64')}`)
        .header('x-bundle-sha256', a.bundleSha256)
        .send(blob.stream);
    });

    // Icons and screenshots are immutable per app id: cache them for good.
    const sendImage = async (key: string, type: string | null | undefined, reply: FastifyReply) => {
      const blob = await blobs.get(key);
      return reply
        .header('content-type', type ?? blob.contentType ?? 'application/octet-stream')
        .header('content-length', blob.size)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        // SVG icons come from untrusted bundles: never let them run script.
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
        .send(blob.stream);
    };
    app.get('/apps/:id/icon', { schema: { tags: ['apps'], summary: "The app's icon", params: IdParamSchema } }, async (request, reply) => {
      const a = await visibleApp(ctx, request.viewer, request.params.id);
      if (!a.iconKey) throw new NotFoundError(`app ${a.id} has no icon (add static/icon.png to the bundle)`);
      return sendImage(a.iconKey, a.iconType, reply);
    });
    app.get(
      '/apps/:id/screenshots/:n',
      { schema: { tags: ['apps'], summary: 'A screenshot', params: Type.Object({ id: Type.String({ maxLength: 100 }), n: Type.Integer({ minimum: 0, maximum: 1000 }) }) } },
      async (request, reply) => {
        const a = await visibleApp(ctx, request.viewer, request.params.id);
        const s = a.screenshots[request.params.n];
        if (!s) throw new NotFoundError(`app ${a.id} has no screenshot ${request.params.n}`);
        return sendImage(s.key, s.type, reply);
      },
    );

    // App names belong to their first importer (issue #24 item 6); admins move them.
    app.put(
      '/app-names/:name/owner',
      {
        schema: {
          tags: ['apps'],
          summary: 'Give an app name to another owner (admins): from then on only they (and admins) import versions of it; existing versions keep their owners',
          params: AppNameParamSchema,
          body: TransferAppNameSchema,
          response: { 200: { $ref: 'AppNameOwner#' } },
        },
      },
      async (request) => {
        if (!request.viewer?.admin) throw new ForbiddenError('only admins can transfer an app name');
        const out = await apps.transferName(request.params.name, { owner: request.body.owner, ownerName: request.body.ownerName ?? request.body.owner });
        request.log.info({ appName: out.name, owner: out.owner, by: request.viewer.subject }, 'app name transferred');
        return out;
      },
    );

    // Tag assignment lives under the app: PUT assigns, DELETE removes.
    const tagChange = (assign: boolean) => async (request: { viewer: Viewer; params: { id: string; tag: string } }) => {
      const a = await visibleApp(ctx, request.viewer, request.params.id);
      const t = await tags.get(request.params.tag);
      if (!canManageTag(request.viewer, { adminRoles: t.adminRoles })) throw new ForbiddenError(`assigning tag ${t.name} needs one of its admin roles: ${t.adminRoles.join(', ') || 'admin (the tag has no admin roles)'}`);
      if (assign) await tags.assign(t.id, a.id);
      else await tags.remove(t.id, a.id);
      return toApiApp(await apps.get(a.id), request.viewer);
    };
    app.put('/apps/:id/tags/:tag', { schema: { tags: ['tags'], summary: 'Assign a tag (by id or name) to an app', params: TagRefParamSchema, response: { 200: { $ref: 'App#' } } } }, tagChange(true));
    app.delete('/apps/:id/tags/:tag', { schema: { tags: ['tags'], summary: 'Remove a tag from an app', params: TagRefParamSchema, response: { 200: { $ref: 'App#' } } } }, tagChange(false));
  };
}

