/**
 * The API as a fastify instance, built from its dependencies so tests drive
 * it with `inject` or a real listener; src/server wires it to real stores
 * and listens.
 */
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AuthVia, RequestAuth } from '../auth/request-auth.ts';
import type { PolicyOptions } from '../auth/policy.ts';
import type { BundleLimits } from '../bundle/limits.ts';
import type { Config } from '../config/config.ts';
import type { Viewer } from '../lib/principal.ts';
import type { AppRepository } from '../repository/apps.ts';
import type { TagRepository } from '../repository/tags.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Registry } from 'prom-client';
import { isLauncherToken } from '../auth/launcher-token.ts';
import { csrfRefusal } from '../auth/csrf.ts';
import { publicScheme } from '../config/instance-url.ts';
import { ForbiddenError } from '../lib/errors.ts';
import { errorHandler } from './errors.ts';
import { appRoutes, BUNDLE_ROUTE } from './routes/apps.ts';
import { authConfigRoute, authRoutes, type OidcDeps } from './routes/auth.ts';
import { tokenRoutes } from './routes/tokens.ts';
import type { TokenStore } from '../repository/tokens.ts';
import { metaRoutes } from './routes/meta.ts';
import { tagRoutes } from './routes/tags.ts';
import { instanceRoutes, type InstanceBackend } from './routes/instances.ts';
import { runtimeVersionRoutes } from './routes/runtime-versions.ts';
import { DEFAULT_WEB_ROOT, webRoutes } from './routes/web.ts';
import { AppListSchema, AppNameOwnerSchema, AppSchema, ErrorSchema, ImportResultSchema, MeSchema, TagSchema } from './schemas.ts';
import { InstanceListSchema, InstanceSchema, InstanceStatusDetailSchema, RuntimeVersionListSchema, RuntimeVersionSchema } from './schemas.ts';

/** The instance side, asked before an app is deleted (routes/instances.ts cacheInstanceCounter counts over the instance cache). */
export interface InstanceCounter {
  countInstancesOfApp(appId: string): Promise<number>;
  /** Names of the app's instances, for the refusal message. */
  instancesOfApp?(appId: string): Promise<string[]>;
}

export const noInstances: InstanceCounter = { countInstancesOfApp: async () => 0 };

export interface ApiDeps {
  config: Config;
  apps: AppRepository;
  tags: TagRepository;
  blobs: BlobStore;
  /** Turns a request's credentials into a viewer (src/auth/request-auth.ts); the router uses `auth.authenticate` too. */
  auth: RequestAuth;
  /** Platform API tokens. */
  tokens: TokenStore;
  instances: InstanceCounter;
  /** AppInstances in the Kubernetes API (cache, writes, logs); absent: no cluster, instance routes answer 503. */
  instanceBackend?: InstanceBackend;
  /** Key that signs launcher tokens (a server secret shared by every replica). */
  launcherKey: Buffer;
  /** A pino logger; none (silent) in tests. */
  logger?: FastifyBaseLogger;
  /** Folder of the built web UI (default web/dist of this checkout); '' serves the API only. */
  webRoot?: string;
  /** OIDC sign-in (Auth.Mode = oidc): sessions, /auth routes, ID tokens as bearer. */
  oidc?: OidcDeps;
  /** Creates the HTTP server (fastify's serverFactory); the server uses it to put the router in front of the API. */
  serverFactory?: (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server;
  /** Prometheus registry served at GET /metrics (src/lib/metrics.ts); no route without it. */
  metrics?: Registry;
}

/** Per-request context every route reads. */
export interface ApiContext {
  deps: ApiDeps;
  policy: PolicyOptions;
  limits: BundleLimits;
}

declare module 'fastify' {
  interface FastifyRequest {
    viewer: Viewer;
    /** A launcher token presented instead of a user's credentials (bundle downloads only). */
    launcherToken?: string;
    /** How the viewer signed in (a platform token cannot create tokens). */
    authVia: AuthVia;
  }
}

export type Api = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export async function buildApi(deps: ApiDeps): Promise<Api> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Generous header limit is Node's default (16 KiB); bodies other than bundles are small JSON.
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Appstore API', version: '1', description: 'Catalog of Wave app bundles and their instances.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Name shared schemas by their $id (App, Tag, …) instead of def-0, def-1.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  for (const s of [ErrorSchema, TagSchema, AppSchema, AppListSchema, AppNameOwnerSchema, ImportResultSchema, MeSchema]) app.addSchema(s);
  for (const s of [InstanceSchema, InstanceListSchema, InstanceStatusDetailSchema, RuntimeVersionSchema, RuntimeVersionListSchema]) app.addSchema(s);

  app.setErrorHandler(errorHandler);
  app.decorateRequest('viewer', null);
  app.decorateRequest('launcherToken', undefined);
  app.decorateRequest('authVia', 'anonymous');
  app.addHook('onRequest', async (request) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer && isLauncherToken(bearer)) {
      // A launcher token is no user: it opens one route, checked there against its app.
      if (request.routeOptions.url !== BUNDLE_ROUTE) throw new ForbiddenError('a launcher token can only download the bundle of its app');
      request.launcherToken = bearer;
      request.viewer = null;
      return;
    }
    const id = await deps.auth.identify(request);
    // Cookie- and loopback-authorised writes must come from our own origin (src/auth/csrf.ts).
    const refused = csrfRefusal({ method: request.method, via: id.via, headers: request.headers }, publicScheme(deps.config));
    if (refused) throw new ForbiddenError(refused);
    request.viewer = id.viewer;
    request.authVia = id.via;
  });

  const c = deps.config;
  const ctx: ApiContext = {
    deps,
    policy: { publicAccess: c.auth.publicAccess },
    limits: {
      maxBundleBytes: c.server.maxUploadSize,
      maxEntries: c.bundle.maxEntries,
      maxUncompressedBytes: c.bundle.maxUncompressedSize,
      maxCompressionRatio: c.bundle.maxCompressionRatio,
      maxAssetBytes: c.bundle.maxAssetSize,
    },
  };
  await app.register(metaRoutes(ctx));
  await app.register(authConfigRoute(ctx));
  if (deps.oidc) await app.register(authRoutes(ctx, deps.oidc));
  await app.register(tokenRoutes(ctx), { prefix: '/api/v1' });
  await app.register(appRoutes(ctx), { prefix: '/api/v1' });
  await app.register(tagRoutes(ctx), { prefix: '/api/v1' });
  await app.register(instanceRoutes(ctx), { prefix: '/api/v1' });
  await app.register(runtimeVersionRoutes(ctx), { prefix: '/api/v1' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const webRoot = deps.webRoot ?? DEFAULT_WEB_ROOT;
  if (webRoot) await app.register(webRoutes({ root: webRoot, formOrigins: c.auth.issuerURL ? [new URL(c.auth.issuerURL).origin] : [] }));
  return app;
}
