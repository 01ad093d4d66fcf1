/**
 * The router: every request and websocket upgrade for an instance is
 * routed (host or base URL), authenticated and authorized by the one policy,
 * then proxied to the instance's Ready pod — or answered with a page for its
 * state. The server puts it in front of fastify (src/server/server.ts):
 * `matches(req)` decides, `handle`/`upgrade` serve.
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.ts';
import { appsDomain, BASE_PATH_PREFIX, instanceURL, mainHost, publicScheme } from '../config/instance-url.ts';
import { isLoopbackHostHeader, readCookies } from '../auth/request-auth.ts';
import { canManageInstance, type PolicyOptions } from '../auth/policy.ts';
import { AppError } from '../lib/errors.ts';
import type { Viewer } from '../lib/principal.ts';
import { ActivityTracker, type ActivityWriter } from './activity.ts';
import { decide, signInURL } from './authorize.ts';
import { RESERVED_PREFIX, SESSION_PATH, SessionHandoff } from './handoff.ts';
import { forwardHeaderList, prepareForwardHeaders, type ForwardOptions } from './forward-headers.ts';
import { FrontDoor, type FrontClaim, type FrontRequest } from './front-door.ts';
import { appPath, hostTable, requestHost, routeTarget, type HostTable, type RouteTarget } from './hosts.ts';
import { RouterMetrics } from './metrics.ts';
import { pages, redirect, refuseUpgrade, sendPage, type Page } from './pages.ts';
import { UpstreamProxy, type ProxyEngine } from './proxy.ts';
import { RouteTable, type InstanceLookup, type RouteState } from './route-table.ts';

export interface RouterDeps {
  config: Config;
  /** The InstanceCache (src/k8s/instance-cache.ts) or anything with its get/pods(/onChange). */
  instances: InstanceLookup;
  /** The same authentication the API uses, from the request's headers (bearer token or session cookie). */
  authenticate: (req: { headers: IncomingHttpHeaders }) => Promise<Viewer>;
  /** The server key (OidcDeps.key); with it, in Auth.Mode oidc, DOMAIN instance hosts get browser sessions by hand-off (./handoff.ts). */
  sessionKey?: Buffer;
  metrics: Registry;
  logger?: pino.Logger;
  /** Writes status.lastActivityTime (kubeActivityWriter); without it activity is only kept in memory. */
  recordActivity?: ActivityWriter;
  /** Another proxy engine with http-proxy's interface (the benchmark compares http-proxy). */
  proxyEngine?: ProxyEngine;
}

export interface Router {
  /** Puts the front door (./front-door.ts) before `server`'s connections; false when this Node cannot (then node:http serves all). */
  attach(server: Server): boolean;
  /** True when the request is the router's (an instance host, or /instance/… on any host). */
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Last activity (ms since epoch) recorded for an instance, if any. */
  lastActivity(instance: string): number | undefined;
  /** Flushes activity, closes proxied websockets and upstream connections. */
  close(): Promise<void>;
}

/** How long the router trusts an authentication result for the same credentials (sign-out and role changes apply after at most this). */
export const VIEWER_CACHE_MS = 5000;
const VIEWER_CACHE_MAX = 10_000;

/** Metric label for requests that name no existing instance (keeps label cardinality bounded). */
const NO_INSTANCE = '';

type Viewed = { viewer: Viewer } | { page: Page };

/** A front-door claim: reports to the router's metrics and activity when its exchange (or websocket) ends. */
class InstanceClaim implements FrontClaim {
  constructor(
    readonly instance: string,
    readonly upstream: { host: string; port: number },
    readonly headers: string[],
    readonly platformCookie: string,
    private readonly websocket: boolean,
    private readonly started: number,
    private readonly metrics: RouterMetrics,
    private readonly activity: ActivityTracker,
  ) {}

  done(status: number): void {
    if (!status) return;
    if (!this.websocket) return this.metrics.request(this.instance, status, (performance.now() - this.started) / 1000);
    this.metrics.upgrade(this.instance, status);
    if (status === 101) this.metrics.websocketOpened(this.instance);
  }

  closed(): void {
    this.metrics.websocketClosed(this.instance);
    this.activity.touch(this.instance);
  }
}

export function createRouter(deps: RouterDeps): Router {
  const { config, logger } = deps;
  const table: HostTable = hostTable(config);
  const routes = new RouteTable(deps.instances);
  const metrics = new RouterMetrics(deps.metrics);
  const policy: PolicyOptions = { publicAccess: config.auth.publicAccess };
  const mode = config.router.routingMode;
  const forward: ForwardOptions = { platformCookie: config.auth.cookieName, trustForwarded: config.router.trustForwardedHeaders, scheme: publicScheme(config) };
  const proxy = new UpstreamProxy({
    connectTimeoutMs: config.router.upstreamConnectTimeout * 1000,
    responseTimeoutMs: config.router.upstreamTimeout * 1000,
    maxBodyBytes: config.router.maxBodySize,
    platformCookie: config.auth.cookieName,
    ...(deps.proxyEngine ? { engine: deps.proxyEngine } : {}),
  });
  const activity = new ActivityTracker(deps.recordActivity ?? (async () => undefined), config.router.activityFlushInterval * 1000, logger);
  const sockets = new Set<Duplex>();
  const handoff =
    // Only DOMAIN mode has instance hosts to hand sessions to (in BASE_URL mode the session cookie already reaches the router).
    deps.sessionKey && config.auth.mode === 'oidc' && mode === 'DOMAIN'
      ? new SessionHandoff({ key: deps.sessionKey, cookieName: config.auth.cookieName, secure: publicScheme(config) === 'https', sessionTTL: config.auth.sessionTTL })
      : undefined;
  const main = `${publicScheme(config)}://${mainHost(config)}`;
  const targets = new WeakMap<IncomingMessage, RouteTarget>();

  function target(req: IncomingMessage): RouteTarget {
    let t = targets.get(req);
    if (!t) targets.set(req, (t = routeTarget(table, req)));
    return t;
  }

  // Who a credential belongs to, for a few seconds: a session cookie costs a database read, far more than proxying.
  const viewers = new Map<string, { viewer: Viewer; until: number }>();
  const localMode = config.auth.mode === 'local';
  const scheme = publicScheme(config);

  /**
   * Who makes a request. On a DOMAIN instance host (`instance` set) with the hand-off on, a browser is
   * known only by its instance cookie: the app can set any other cookie on its own host.
   */
  function view(req: { headers: Pick<IncomingHttpHeaders, 'cookie' | 'authorization' | 'host'> }, instance?: string): Viewed | Promise<Viewed> {
    const cookie = req.headers.cookie;
    const authorization = req.headers.authorization;
    let creds: { headers: Pick<IncomingHttpHeaders, 'cookie' | 'authorization' | 'host'> };
    let key: string;
    if (handoff && instance !== undefined && !authorization) {
      const raw = handoff.rawInstanceCookie(cookie);
      key = `\n${instance}\n${raw ?? ''}`;
      const hit = viewers.get(key);
      if (hit && hit.until > Date.now()) return { viewer: hit.viewer };
      const token = raw ? handoff.sessionOf(raw, instance) : undefined;
      creds = { headers: token ? { cookie: `${config.auth.cookieName}=${token}` } : {} };
    } else {
      // The credential is read once, by the authenticator's own cookie parser, and exactly it is both
      // authenticated and the cache key (a second parser once keyed "name =token" as anonymous).
      const token = cookie ? readCookies(cookie).get(config.auth.cookieName) : undefined;
      // Local mode makes an anonymous request the admin only on a loopback Host (authenticate checks it): the Host is part of what authenticates.
      key = `${authorization ?? ''}\n${token ?? ''}${localMode ? `\n${isLoopbackHostHeader(req.headers.host)}` : ''}`;
      creds = { headers: { ...(authorization !== undefined ? { authorization } : {}), ...(token !== undefined ? { cookie: `${config.auth.cookieName}=${token}` } : {}), ...(req.headers.host !== undefined ? { host: req.headers.host } : {}) } };
    }
    const now = Date.now();
    const hit = viewers.get(key);
    // Answered without a promise when cached: the front door's fast path stays synchronous.
    if (hit && hit.until > now) return { viewer: hit.viewer };
    return deps.authenticate(creds).then(
      (viewer): Viewed => {
        if (viewers.size >= VIEWER_CACHE_MAX) viewers.clear();
        viewers.set(key, { viewer, until: now + VIEWER_CACHE_MS });
        return { viewer };
      },
      (err: unknown): Viewed => {
        if (err instanceof AppError && err.status === 401) return { page: { status: 401, title: 'Sign-in failed', message: err.message } };
        if (err instanceof AppError && err.status === 403) return { page: { status: 403, title: 'Not allowed', message: err.message } };
        logger?.error({ err }, 'router: authentication failed');
        return { page: { status: 503, title: 'Sign-in is unavailable', message: 'The app store could not check who you are. Try again in a moment.', headers: { 'retry-after': '5' } } };
      },
    );
  }

  /**
   * The front door's fast path (./front-door.ts): an authorized request for a Ready instance is
   * proxied there; anything else (pages, redirects, sign-in) is left to serve() through node:http.
   */
  function claim(r: FrontRequest): FrontClaim | undefined | Promise<FrontClaim | undefined> {
    const started = performance.now();
    const t = routeTarget(table, r);
    if (t.kind !== 'instance' || t.mode !== mode || (t.mode === 'DOMAIN' && t.path.startsWith(RESERVED_PREFIX))) return undefined;
    const s = routes.lookup(t.name);
    if (s.state !== 'ready') return undefined;
    // A cross-origin handshake is refused by serveUpgrade (node:http path).
    if (r.upgrade && foreignOrigin(r)) return undefined;
    const v = view(r, t.mode === 'DOMAIN' ? t.name : undefined);
    return v instanceof Promise ? v.then((x) => allowedClaim(x, r, t.name, s, started)) : allowedClaim(v, r, t.name, s, started);
  }

  /** The claim for an allowed viewer (a plain function and class: no closures per request). */
  function allowedClaim(v: Viewed, r: FrontRequest, name: string, s: RouteState & { state: 'ready' }, started: number): FrontClaim | undefined {
    if ('page' in v || decide(v.viewer, s.facts, policy).kind !== 'allow') return undefined;
    activity.touch(name);
    return new InstanceClaim(name, s.upstream, forwardHeaderList(r.rawHeaders, r.remoteAddress, forward, r.upgrade), config.auth.cookieName, r.upgrade, started, metrics, activity);
  }

  /** The page for an instance that is not ready (or undefined when it is). */
  function statePage(name: string, s: RouteState, viewer: Viewer, t: { mode: string }): Page | undefined {
    switch (s.state) {
      case 'ready':
        return undefined;
      case 'not-found':
        return pages.notFound(name);
      case 'starting':
        return pages.starting(name, s.detail);
      case 'stopping':
        return pages.stopping(name);
      case 'failed':
        return pages.failed(name, s.reason);
      case 'suspended': {
        if (!canManageInstance(viewer, s.facts)) return pages.suspended(name);
        const id = encodeURIComponent(name);
        // A DOMAIN instance host is another origin: the API would refuse its POST (src/auth/csrf.ts), so it links to the store's page.
        return pages.suspended(name, t.mode === 'BASE_URL' ? { postURL: `/api/v1/instances/${id}/resume` } : { pageURL: `${publicScheme(config)}://${mainHost(config)}/instances/${id}` });
      }
    }
  }

  function answer(res: ServerResponse, instance: string, started: number, p: Page): void {
    sendPage(res, p);
    metrics.request(instance, p.status, (performance.now() - started) / 1000);
  }

  /** An anonymous request that needs a signed-in user: sign-in as the mode has it, or a page saying how. */
  function signIn(res: ServerResponse, t: { name: string; mode: 'DOMAIN' | 'BASE_URL'; path: string }, started: number): void {
    if (config.auth.mode !== 'oidc') return answer(res, t.name, started, pages.signInNeeded(t.name, config.auth.mode));
    if (t.mode === 'DOMAIN' && handoff) {
      const b = handoff.begin(t.name, t.path);
      res.setHeader('set-cookie', b.setCookie);
      redirect(res, `${main}${b.handoffPath}`);
    } else redirect(res, signInURL(config, t.name, t.path, t.mode));
    metrics.request(t.name, 302, (performance.now() - started) / 1000);
  }

  /** Hand-off step 2, on the main host: a signed-in browser gets a one-time code for the instance host. */
  async function startHandoff(req: IncomingMessage, res: ServerResponse, started: number): Promise<void> {
    if (!handoff) return answer(res, NO_INSTANCE, started, { status: 404, title: 'Not found', message: 'Browser sessions are handed to instance hosts only with Auth.Mode = oidc and Router.RoutingMode = DOMAIN.' });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const p = handoff.parseStart(new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
    if ('error' in p) return answer(res, NO_INSTANCE, started, pages.badRequest(p.error));
    const token = readCookies(req.headers.cookie).get(config.auth.cookieName);
    const v = token ? await view({ headers: { cookie: `${config.auth.cookieName}=${token}` } }) : { viewer: null };
    if ('page' in v) return answer(res, NO_INSTANCE, started, v.page);
    res.setHeader('referrer-policy', 'no-referrer');
    // Not signed in: sign in first, then come back here (a local path, so the sign-in accepts it).
    if (!token || v.viewer === null) return redirect(res, `${main}/auth/login?return=${encodeURIComponent(url)}`);
    redirect(res, `${publicScheme(config)}://${p.name}.${appsDomain(config)}${SESSION_PATH}?code=${handoff.issue(token, p.name, p.state, p.returnPath)}`);
  }

  /** Hand-off step 3 and the other reserved paths of an instance host (never proxied). */
  function reserved(req: IncomingMessage, res: ServerResponse, name: string, path: string, started: number): void {
    const q = path.indexOf('?');
    if (!handoff || (q < 0 ? path : path.slice(0, q)) !== SESSION_PATH) return answer(res, NO_INSTANCE, started, { status: 404, title: 'Not found', message: `Paths under ${RESERVED_PREFIX} belong to the app store.` });
    const r = handoff.redeem(new URLSearchParams(q < 0 ? '' : path.slice(q + 1)).get('code') ?? '', name, req.headers.cookie);
    if (!r.ok) return answer(res, NO_INSTANCE, started, { status: 400, title: 'Sign-in did not complete', message: `${r.reason} Open the app again to sign in: ${instanceURL(config, name)}` });
    res.setHeader('set-cookie', r.setCookie);
    res.setHeader('referrer-policy', 'no-referrer');
    redirect(res, r.returnPath);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const t = target(req);
    if (t.kind === 'handoff') return startHandoff(req, res, started);
    if (t.kind === 'absolute-form') return answer(res, NO_INSTANCE, started, pages.badRequest('The request target must be a path (absolute-form request targets are not served).'));
    if (t.kind === 'main') return answer(res, NO_INSTANCE, started, pages.badRequest('Not an app instance URL.'));
    if (t.kind === 'unknown-host') return answer(res, NO_INSTANCE, started, pages.unknownHost());
    if (t.kind === 'add-slash') {
      const q = (req.url ?? '').indexOf('?');
      return redirect(res, `${BASE_PATH_PREFIX}${t.name}/${q < 0 ? '' : (req.url ?? '').slice(q)}`, 301);
    }
    if (t.mode !== mode) {
      // The same instance and path in the configured mode; built from the validated name, so it cannot point elsewhere.
      return redirect(res, instanceURL(config, t.name, mode).replace(/\/$/, '') + appPath(t), 302);
    }
    if (t.mode === 'DOMAIN' && t.path.startsWith(RESERVED_PREFIX)) return reserved(req, res, t.name, t.path, started);
    const s = routes.lookup(t.name);
    if (s.state === 'not-found') return answer(res, NO_INSTANCE, started, pages.notFound(t.name));
    const v = await view(req, t.mode === 'DOMAIN' ? t.name : undefined);
    if ('page' in v) return answer(res, t.name, started, v.page);
    const d = decide(v.viewer, s.facts, policy);
    if (d.kind === 'sign-in') return signIn(res, t, started);
    if (d.kind === 'forbidden') return answer(res, t.name, started, pages.forbidden(t.name));
    const page = statePage(t.name, s, v.viewer, t);
    if (page || s.state !== 'ready') return answer(res, t.name, started, page ?? pages.starting(t.name));
    if (proxy.bodyTooLarge(req)) return answer(res, t.name, started, pages.tooLarge(config.router.maxBodySize));
    prepareForwardHeaders(req, forward);
    activity.touch(t.name);
    res.once('finish', () => metrics.request(t.name, res.statusCode, (performance.now() - started) / 1000));
    proxy.web(req, res, s.upstream, (f, tooLarge) => {
      if (tooLarge) return sendPage(res, pages.tooLarge(config.router.maxBodySize));
      logger?.warn({ instance: t.name, code: f.code, status: f.status }, 'router: upstream error');
      sendPage(res, pages.upstream(f.status, t.name, f.what));
    });
  }

  /** A cross-origin handshake would carry the user's cookie to the app (cross-site websocket hijacking). */
  function foreignOrigin(req: { headers: { origin?: string | undefined; host?: string | undefined } }): boolean {
    const origin = req.headers.origin;
    if (!origin) return false;
    try {
      // The whole origin: a page on https://x is not http://x (and the reverse), whatever the host says.
      const u = new URL(origin);
      return u.protocol !== `${scheme}:` || u.host.toLowerCase() !== requestHost(req);
    } catch {
      return true;
    }
  }

  async function serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const t = target(req);
    const refuse = (instance: string, status: number, reason: string, headers?: Record<string, string>) => {
      metrics.upgrade(instance, status);
      refuseUpgrade(socket, status, reason, headers);
    };
    if (t.kind === 'absolute-form') return refuse(NO_INSTANCE, 400, 'Bad Request');
    if (t.kind !== 'instance') return refuse(NO_INSTANCE, t.kind === 'unknown-host' ? 421 : 404, t.kind === 'unknown-host' ? 'Misdirected Request' : 'Not Found');
    // Browsers do not follow redirects on websocket handshakes: the wrong mode is simply not found.
    if (t.mode !== mode) return refuse(NO_INSTANCE, 404, 'Not Found');
    if (foreignOrigin(req)) return refuse(NO_INSTANCE, 403, 'Forbidden');
    if (t.mode === 'DOMAIN' && t.path.startsWith(RESERVED_PREFIX)) return refuse(NO_INSTANCE, 404, 'Not Found');
    const s = routes.lookup(t.name);
    if (s.state === 'not-found') return refuse(NO_INSTANCE, 404, 'Not Found');
    const v = await view(req, t.mode === 'DOMAIN' ? t.name : undefined);
    if ('page' in v) return refuse(t.name, v.page.status, v.page.status === 401 ? 'Unauthorized' : 'Service Unavailable');
    const d = decide(v.viewer, s.facts, policy);
    if (d.kind === 'sign-in') return refuse(t.name, 401, 'Unauthorized');
    if (d.kind === 'forbidden') return refuse(t.name, 403, 'Forbidden');
    if (s.state !== 'ready') return refuse(t.name, 503, 'Service Unavailable', { 'retry-after': '3' });
    prepareForwardHeaders(req, forward);
    activity.touch(t.name);
    metrics.upgrade(t.name, 101);
    metrics.websocketOpened(t.name);
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      metrics.websocketClosed(t.name);
      activity.touch(t.name);
    });
    proxy.ws(req, socket, head, s.upstream, (f) => {
      logger?.warn({ instance: t.name, code: f.code, status: f.status }, 'router: upstream websocket error');
      refuseUpgrade(socket, f.status, f.status === 504 ? 'Gateway Timeout' : f.status === 503 ? 'Service Unavailable' : 'Bad Gateway');
    });
  }

  let door: FrontDoor | undefined;
  return {
    attach(server) {
      door = FrontDoor.attach(server, {
        claim,
        maxHeaderSize: config.router.maxHeaderSize,
        maxBodyBytes: config.router.maxBodySize,
        connectTimeoutMs: config.router.upstreamConnectTimeout * 1000,
        responseTimeoutMs: config.router.upstreamTimeout * 1000,
        keepAliveTimeoutMs: () => server.keepAliveTimeout || 5000,
        headersTimeoutMs: () => server.headersTimeout || 60_000,
        onError: (err, what) => logger?.warn({ err: (err as Error).message, what }, 'router: front door'),
      });
      return door !== undefined;
    },
    matches: (req) => target(req).kind !== 'main',
    handle(req, res) {
      serve(req, res).catch((err: unknown) => {
        logger?.error({ err }, 'router: request failed');
        sendPage(res, { status: 500, title: 'Internal error', message: 'The app store could not route this request.' });
      });
    },
    upgrade(req, socket, head) {
      serveUpgrade(req, socket, head).catch((err: unknown) => {
        logger?.error({ err }, 'router: upgrade failed');
        refuseUpgrade(socket, 500, 'Internal Server Error');
      });
    },
    lastActivity: (instance) => activity.lastActivity(instance),
    async close() {
      door?.close();
      routes.close();
      for (const s of sockets) s.destroy();
      proxy.close();
      await activity.close();
    },
  };
}
