/**
 * Starts the app store server from a loaded configuration: opens the
 * database (PGlite in DataDir or PostgreSQL), the blob store, builds the API
 * and listens; `close()` shuts it down gracefully.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { buildApi, noInstances, type Api, type ApiDeps } from '../api/app.ts';
import type { OidcDeps } from '../api/routes/auth.ts';
import { assertLocalModeSafe } from '../auth/authenticate.ts';
import { startAuthCleanup } from '../auth/cleanup.ts';
import { RequestAuth } from '../auth/request-auth.ts';
import { OidcClient, oidcSettings } from '../auth/oidc.ts';
import type { Config } from '../config/config.ts';
import { openDatabase, type Database } from '../repository/db.ts';
import { AppRepository } from '../repository/apps.ts';
import { serverSecret } from '../repository/secrets.ts';
import { SessionStore } from '../repository/sessions.ts';
import { TokenStore } from '../repository/tokens.ts';
import { TagRepository } from '../repository/tags.ts';
import { InvalidError } from '../lib/errors.ts';
import { createMetricsRegistry } from '../lib/metrics.ts';
import { createBlobStore, type BlobStore } from '../storage/blob-store.ts';
import { cacheInstanceCounter, type InstanceBackend } from '../api/routes/instances.ts';
import { startInstanceBackend } from './instance-backend.ts';
import { instanceURL } from '../config/instance-url.ts';
import { startOperator } from '../operator/operator.ts';
import { repositoryCatalog } from './catalog-port.ts';
import { kubeActivityWriter } from '../router/activity.ts';
import { createRouter } from '../router/router.ts';
import { routerServerFactory } from '../router/server-factory.ts';
import { loadKubeConfig } from '../k8s/kube-config.ts';
import { LocalPodRunner } from '../local-node/pod-runner.ts';
import type { PodLogSource } from '../k8s/pod-logs.ts';

/** Name of the server secret that signs launcher tokens. */
export const LAUNCHER_KEY_SECRET = 'launcher-token-key';
/** Name of the server secret that seals sessions' provider tokens and the sign-in cookie. */
export const SESSION_KEY_SECRET = 'session-key';

export interface RunningServer {
  api: Api;
  url: string;
  /** The cluster side of instances (kube config, namespace, InstanceCache); undefined without a cluster. The router reads `instanceBackend.cache`. */
  instanceBackend?: InstanceBackend;
  close(): Promise<void>;
}

/** Opens the stores the configuration names. */
export async function openStores(config: Config): Promise<{ db: Database; blobs: BlobStore }> {
  let dataDir: string | undefined;
  if (!config.database.url) {
    dataDir = join(config.server.dataDir, 'db');
    mkdirSync(dataDir, { recursive: true });
  }
  const db = await openDatabase(config.database.url ? { url: config.database.url } : { dataDir });
  const s = config.storage;
  const blobs = await createBlobStore(
    s.kind === 'fs'
      ? { kind: 'fs', root: s.path }
      : {
          kind: 's3',
          bucket: s.s3Bucket,
          region: s.s3Region,
          prefix: s.s3Prefix,
          forcePathStyle: s.s3ForcePathStyle,
          createBucket: s.s3CreateBucket,
          ...(s.s3Endpoint ? { endpoint: s.s3Endpoint } : {}),
          ...(s.s3AccessKeyID ? { accessKeyId: s.s3AccessKeyID, secretAccessKey: s.s3SecretAccessKey } : {}),
        },
  );
  return { db, blobs };
}

/** OIDC sign-in: the provider's discovery document, the session store and the key sealing the sign-in cookie. */
async function oidcDeps(config: Config, db: Database): Promise<OidcDeps> {
  let client: OidcClient;
  try {
    client = await OidcClient.discover(oidcSettings(config.auth));
  } catch (err) {
    throw new InvalidError('OIDC sign-in cannot start', [
      { path: 'Auth.IssuerURL', message: `discovery at ${config.auth.issuerURL}/.well-known/openid-configuration failed (${err instanceof Error ? err.message : String(err)}); check the URL and that the provider is reachable` },
    ]);
  }
  const key = await serverSecret(db, SESSION_KEY_SECRET);
  return { client, sessions: new SessionStore(db, key), key };
}

/** The API's dependencies on real stores; `extra` overrides parts (tests inject an instance counter or a logger). */
export async function apiDeps(config: Config, db: Database, blobs: BlobStore, extra: Partial<ApiDeps> = {}): Promise<ApiDeps> {
  const tokens = new TokenStore(db);
  const oidc = config.auth.mode === 'oidc' ? await oidcDeps(config, db) : undefined;
  return {
    config,
    apps: new AppRepository(db),
    tags: new TagRepository(db),
    blobs,
    auth: new RequestAuth({
      config,
      tokens,
      ...(oidc ? { oidc } : {}),
      onSessionEnded: (subject, reason) => extra.logger?.info({ subject, reason }, 'session ended: the identity provider refused to refresh it'),
      onRefreshDeferred: (subject, reason) => extra.logger?.warn({ subject, reason }, 'session kept: the identity provider could not be reached to refresh it'),
    }),
    tokens,
    instances: extra.instanceBackend ? cacheInstanceCounter(extra.instanceBackend.cache) : noInstances,
    launcherKey: await serverSecret(db, LAUNCHER_KEY_SECRET),
    ...(oidc ? { oidc } : {}),
    ...extra,
  };
}

/** How often expired sessions and platform tokens are removed. */
export const AUTH_CLEANUP_INTERVAL_MS = 10 * 60_000;

export interface StartServerOptions {
  /** DEVELOPMENT USE (the embedded default's local cluster): run instances' pods as local processes (src/local-node) in `dataDir`, with `baseEnv` as their base environment. */
  localPods?: { dataDir: string; baseEnv: Record<string, string> };
}

export async function startServer(config: Config, warnings: string[] = [], opts: StartServerOptions = {}): Promise<RunningServer> {
  assertLocalModeSafe(config);
  const logger = pino({ level: config.server.logLevel, base: { service: 'appstore' } });
  for (const w of warnings) logger.warn(w);
  if (config.auth.mode === 'local') logger.warn({ user: config.auth.localUser }, 'local sign-in: every request without credentials acts as the local admin (development use only)');
  const { db, blobs } = await openStores(config);
  const metrics = createMetricsRegistry();
  // The local pod runner serves pod logs (kwok's fake kubelet has none); it starts once the server listens, so its pods can fetch their bundles.
  let localPods: LocalPodRunner | undefined;
  const localLogs: PodLogSource = {
    logs: (req) => {
      if (!localPods) throw new Error('the local pod runner is starting; try again in a moment');
      return localPods.logs(req);
    },
  };
  const instanceBackend = await startInstanceBackend(config, { logger, ...(opts.localPods ? { logs: localLogs } : {}) });
  const deps = await apiDeps(config, db, blobs, { logger, metrics, ...(instanceBackend ? { instanceBackend } : {}) });
  // The router answers instance hosts and /instance/… in front of the API, authenticating exactly as the API does.
  const router = config.server.roles.includes('router')
    ? createRouter({
        config,
        instances: instanceBackend?.cache ?? { get: () => undefined, pods: () => [] },
        authenticate: deps.auth.authenticate,
        ...(deps.oidc ? { sessionKey: deps.oidc.key } : {}),
        metrics,
        logger,
        ...(instanceBackend ? { recordActivity: kubeActivityWriter(instanceBackend.kc, instanceBackend.namespace, instanceBackend.cache) } : {}),
      })
    : undefined;
  const api = await buildApi(router ? { ...deps, serverFactory: routerServerFactory(router, { maxHeaderSize: config.router.maxHeaderSize }) } : deps);
  const cleanup = startAuthCleanup({
    ...(deps.oidc ? { sessions: deps.oidc.sessions } : {}),
    tokens: deps.tokens,
    intervalMs: AUTH_CLEANUP_INTERVAL_MS,
    onRun: (r) => ('error' in r ? logger.warn({ err: r.error }, 'removing expired sessions and tokens failed; retrying at the next interval') : logger.debug(r, 'removed expired sessions and tokens')),
  });
  const { host, port } = config.server.listen;
  await api.listen({ host, port });
  const addr = api.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = config.server.publicURL.replace(/:\d+$/, `:${boundPort}`);
  if (opts.localPods) {
    localPods = await LocalPodRunner.start({ kc: loadKubeConfig(config.scheduler.kubeConfig), namespace: config.scheduler.namespace, dataDir: opts.localPods.dataDir, baseEnv: opts.localPods.baseEnv, logger });
  }
  // The operator runs where a cluster is configured and Server.Roles includes operator; it leads through a Lease, so any number of replicas may run it.
  const operator = instanceBackend && config.server.roles.includes('operator')
    ? await startOperator({
        kc: instanceBackend.kc,
        config,
        catalog: repositoryCatalog(deps.apps),
        launcherKey: deps.launcherKey,
        // Local pods are processes on this machine: they fetch bundles over loopback (localhost may resolve to ::1).
        apiURL: localPods ? `http://${['0.0.0.0', '::'].includes(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${boundPort}` : config.server.publicURL || url,
        routing: (name) => ({ mode: config.router.routingMode, url: instanceURL(config, name) }),
        logger,
        metrics,
      })
    : undefined;
  return {
    api,
    url,
    ...(instanceBackend ? { instanceBackend } : {}),
    async close() {
      await operator?.stop();
      await localPods?.stop();
      await cleanup.stop();
      await router?.close();
      await api.close();
      await instanceBackend?.cache.stop();
      await db.close();
    },
  };
}
