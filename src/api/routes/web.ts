/**
 * The web UI: web/dist (built by `make web`) served under `/`. Hashed
 * assets are cached for good, index.html is revalidated on every load, and
 * any other GET for a page path (not the API, sign-in, metrics or instance
 * paths) answers index.html so the UI's own router shows it. The page runs
 * under a strict Content-Security-Policy: scripts, styles and requests from
 * this origin only, no inline script, no framing.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../../lib/errors.ts';

/** web/dist of this checkout. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/** Paths the UI never answers, even when nothing else does: a missing API route must stay a JSON 404. */
const NOT_UI = /^\/(api|auth|instance)(\/|$)|^\/(openapi\.json|metrics|healthz|readyz)$/;

export interface WebOptions {
  /** Folder holding index.html and assets/ (web/dist). */
  root: string;
  /** Origins the sign-out form may go on to (the identity provider's logout page). */
  formOrigins?: string[];
}

/** The policy of the UI's page; `formOrigins` lets sign-out continue at the identity provider. */
export function contentSecurityPolicy(formOrigins: string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    `form-action 'self'${formOrigins.map((o) => ` ${o}`).join('')}`,
  ].join('; ');
}

/** Serves the UI; registered on the root instance so its not-found handler covers every path. */
export function webRoutes(opts: WebOptions): FastifyPluginAsync {
  const csp = contentSecurityPolicy(opts.formOrigins);
  const pageHeaders = (reply: FastifyReply) =>
    reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY');
  const plugin: FastifyPluginAsync = async (app) => {
    const built = existsSync(join(opts.root, 'index.html'));
    if (!built) {
      app.log.warn({ root: opts.root }, 'web UI not built (run `make web`); serving the API only');
    } else {
      await app.register(fastifyStatic, {
        root: opts.root,
        prefix: '/',
        // Only files present at start get routes; everything else falls to the handler below.
        wildcard: false,
        index: false,
        cacheControl: false,
        redirect: false,
        setHeaders(reply, path) {
          // Vite names assets by content hash: a changed file is a new name, so the old one may be kept for good.
          if (path.startsWith(join(opts.root, 'assets'))) void reply.header('cache-control', 'public, max-age=31536000, immutable');
          else void pageHeaders(reply);
          void reply.header('x-content-type-options', 'nosniff');
        },
      });
    }
    app.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      const wantsPage = (request.method === 'GET' || request.method === 'HEAD') && !NOT_UI.test(path) && !/\.[a-z0-9]+$/i.test(path);
      if (!wantsPage) throw new NotFoundError(`no route ${request.method} ${path}; the API is described at /openapi.json`);
      if (!built) {
        return reply.status(503).type('text/plain').send('The web UI is not built: run `make web` (or `node web/build-if-needed.mjs`) and restart the server.\n');
      }
      return pageHeaders(reply).sendFile('index.html');
    });
  };
  // Not encapsulated: the not-found handler must apply to the root prefix.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
